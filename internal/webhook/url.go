package webhook

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Reasons an item of a request is rejected before it reaches the pipeline.
const (
	reasonDomain   = "domain not allowed"
	reasonNotHTTP  = "not an http(s) URL"
	reasonNoString = "not a string"
)

// checkURL validates a URL a caller or a payload named, and returns its
// host in lower case, or the reason it is unusable. The path may hold
// characters a browser would encode, such as spaces: the rules encode
// them.
func checkURL(raw string) (host, reason string) {
	if raw == "" {
		return "", "empty URL"
	}
	if !utf8.ValidString(raw) {
		return "", "not valid UTF-8"
	}
	for _, r := range raw {
		if r < ' ' || r == 0x7f {
			return "", "contains a control character"
		}
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "", reasonNotHTTP
	}
	if s := strings.ToLower(scheme); s != "http" && s != "https" {
		return "", reasonNotHTTP
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "malformed URL"
	}
	if u.User != nil || strings.Contains(authority(rest), "@") {
		return "", "a URL with user information is not refreshed"
	}
	if err := checkHost(u.Host); err != nil {
		return "", "host: " + err.Error()
	}
	host = strings.ToLower(u.Hostname())
	if port := u.Port(); port != "" && !(port == "443" && strings.EqualFold(u.Scheme, "https") || port == "80" && strings.EqualFold(u.Scheme, "http")) {
		host = net.JoinHostPort(host, port) // a rule may name the domain with its port
	}
	return host, ""
}

// authority returns the host[:port] part of what follows scheme://.
func authority(rest string) string {
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		return rest[:i]
	}
	return rest
}

// checkHost validates host[:port]: a DNS name or an IP address.
func checkHost(hostport string) error {
	host := hostport
	if h, port, err := net.SplitHostPort(hostport); err == nil {
		host = h
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strings.Trim(port, "0123456789") != "" {
			return errors.New("bad port")
		}
	}
	if host == "" {
		return errors.New("empty")
	}
	if net.ParseIP(strings.Trim(host, "[]")) != nil {
		return nil
	}
	if len(host) > 253 {
		return errors.New("longer than 253 characters")
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		if label == "" || len(label) > 63 {
			return errors.New("not a DNS name")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
			if !ok {
				return errors.New("not a DNS name")
			}
		}
	}
	return nil
}

// escapePath percent-encodes a raw object path for a URL, segment by
// segment, keeping the slashes.
func escapePath(p string) string { return escapeValue(p, true) }
