package refresh

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// One spelling per URL.
//
// The CDN caches differently spelled URLs under different keys, and the
// dedupe window and the quota count what they are given, so every URL the
// project handles, from any source (a rule, a webhook, a template, the CLI,
// the spill), is put in one spelling here: Canonical. It normalises as
// RFC 3986 §6.2.2 says (case, percent-encoding, dot segments) and §6.2.3
// for http(s) (default port, empty path), then writes the path and query
// as EscapePath writes an object key: the characters a path segment may
// carry raw stay, every other byte is %XX in upper-case hex, exactly once.
// RefreshObjectCaches takes such URLs in ObjectPath:
// https://help.aliyun.com/zh/cdn/developer-reference/api-cdn-2018-05-10-refreshobjectcaches

// keep marks the bytes a URL path segment carries as they are: RFC 3986's
// pchar without pct-encoded, that is the unreserved characters
// A-Z a-z 0-9 - . _ ~, the sub-delims ! $ & ' ( ) * + , ; = and : @.
var keep = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c], t[c+'a'-'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range []byte("-._~!$&'()*+,;=:@") {
		t[c] = true
	}
	return t
}()

// unreserved reports whether c is an RFC 3986 unreserved character, whose
// percent-encoding is decoded (§6.2.2.2).
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

const upperHex = "0123456789ABCDEF"

// escapedLen returns the length of p with every byte that keep does not
// mark, except the separator /, written as %XX.
func escapedLen(p string) int {
	n := len(p)
	for i := 0; i < len(p); i++ {
		if c := p[i]; !keep[c] && c != '/' {
			n += 2
		}
	}
	return n
}

// EscapePath percent-encodes an object key (raw UTF-8, or any bytes) as
// the path of a URL, exactly once, segment by segment: the bytes keep
// marks stay, / stays the separator (so empty segments and a trailing /
// stay as they are), and every other byte is written %XX in upper-case hex
// (a space is %20, % is %25, 中 is %E4%B8%AD). A key that needs no escape
// is returned as it is, without a copy.
func EscapePath(key string) string {
	n := escapedLen(key)
	if n == len(key) {
		return key
	}
	var b strings.Builder
	b.Grow(n)
	writeEscaped(&b, key)
	return b.String()
}

// writeEscaped writes p to b as EscapePath encodes it.
func writeEscaped(b *strings.Builder, p string) {
	start := 0 // first byte not written yet
	for i := 0; i < len(p); i++ {
		c := p[i]
		if keep[c] || c == '/' {
			continue
		}
		b.WriteString(p[start:i])
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
		start = i + 1
	}
	b.WriteString(p[start:])
}

// KeyURL returns the URL of an object key on origin, a scheme://host in
// canonical spelling (no path): origin/ followed by EscapePath(key), with
// the key's . and .. segments resolved, so that the result is
// Canonical(origin + "/" + EscapePath(key)). A key whose .. segments climb
// above the root has no URL. It builds the URL in one allocation.
func KeyURL(origin, key string) (string, error) {
	if hasDotSegment(key) {
		return Canonical(origin + "/" + EscapePath(key))
	}
	var b strings.Builder
	b.Grow(len(origin) + len("/") + escapedLen(key))
	b.WriteString(origin)
	b.WriteByte('/')
	writeEscaped(&b, key)
	return b.String(), nil
}

// Reasons a URL is refused. An error of Canonical says the reason alone,
// the same text whichever way the URL came; callers show the URL beside it.
var (
	errEmpty     = errors.New("empty URL")
	errUTF8      = errors.New("not valid UTF-8")
	errControl   = errors.New("contains a control character")
	errNotHTTP   = errors.New("not an http(s) URL")
	errUserInfo  = errors.New("a URL with user information is not refreshed")
	errEscape    = errors.New("a .. segment climbs above the root")
	errIDNA      = errors.New("host is not a valid internationalised domain name")
	errEmptyHost = errors.New("empty host")
)

// Canonical returns raw, an absolute http(s) URL, in the project's one
// spelling, or the reason it cannot be refreshed:
//
//   - the scheme and host are lower case, an internationalised host is in
//     its ASCII (punycode) form, and the scheme's default port (80 for
//     http, 443 for https) is dropped; an empty path is /;
//   - in the path and the query, a percent-encoded unreserved character is
//     decoded (%7e is ~, %41 is A), other escapes stay escapes in upper
//     case (%e4 is %E4), a % not followed by two hex digits is %25, and
//     every other byte that may not stand raw (space, non-ASCII, " < > \
//     ^ ` { | } [ ]) is encoded once, as EscapePath encodes;
//   - . and .. segments of the path are resolved (RFC 3986 §5.2.4), also
//     those spelled %2e;
//   - the query is kept; the fragment, which is never sent, is dropped.
//
// A URL with another scheme, user information, a control character,
// invalid UTF-8, an empty or invalid host, a bad port, or a path that
// climbs above the root with .. is refused. Canonical(Canonical(u)) is
// Canonical(u).
func Canonical(raw string) (string, error) {
	o, err := parseOrigin(raw)
	if err != nil {
		return "", err
	}
	tail := o.tail
	if i := strings.IndexByte(tail, '#'); i >= 0 {
		tail = tail[:i]
	}
	pathEnd := strings.IndexByte(tail, '?')
	if pathEnd < 0 {
		pathEnd = len(tail)
	}
	if o.same && pathEnd > 0 && isCanonical(tail[:pathEnd], false) && isCanonical(tail[pathEnd:], true) {
		return raw[:len(raw)-len(o.tail)+len(tail)], nil
	}
	b := make([]byte, 0, len(o.scheme)+len("://")+len(o.host)+len("/")+len(tail)+8)
	b = append(b, o.scheme...)
	b = append(b, "://"...)
	b = append(b, o.host...)
	start := len(b)
	if pathEnd == 0 {
		b = append(b, '/') // RFC 3986 §6.2.3: an empty path is /
	}
	b = appendNormalized(b, tail[:pathEnd], false)
	if p := string(b[start:]); hasDotSegment(p) {
		p, err := removeDotSegments(p)
		if err != nil {
			return "", err
		}
		b = append(b[:start], p...)
	}
	b = appendNormalized(b, tail[pathEnd:], true)
	return string(b), nil
}

// CanonicalPattern is Canonical for a regex refresh (object type Regex),
// whose path is a pattern and not a URL path: it checks raw as Canonical
// does and puts its scheme and host in canonical form, but leaves
// everything after the host as given, since re-encoding it would change
// what the pattern matches.
func CanonicalPattern(raw string) (string, error) {
	o, err := parseOrigin(raw)
	if err != nil {
		return "", err
	}
	if o.same {
		return raw, nil
	}
	return o.scheme + "://" + o.host + o.tail, nil
}

// CanonicalFor is the spelling of a URL refreshed as object type t:
// CanonicalPattern for a Regex, Canonical for every other type.
func CanonicalFor(t ObjectType, raw string) (string, error) {
	if t == Regex {
		return CanonicalPattern(raw)
	}
	return Canonical(raw)
}

// origin is an http(s) URL split after its authority, with its scheme and
// host in canonical form.
type origin struct {
	scheme string // http or https
	host   string // lower case, ASCII, default port dropped
	tail   string // the rest of the URL as given: path, query, fragment
	same   bool   // scheme://host is spelled in raw exactly so
}

// parseOrigin checks raw as Canonical describes, except its path, and
// splits it.
func parseOrigin(raw string) (origin, error) {
	var o origin
	if raw == "" {
		return o, errEmpty
	}
	if err := checkRunes(raw); err != nil {
		return o, err
	}
	colon := strings.IndexByte(raw, ':')
	if colon < 0 || !strings.HasPrefix(raw[colon+1:], "//") {
		return o, errNotHTTP
	}
	switch scheme := raw[:colon]; {
	case scheme == "https" || scheme == "http":
		o.scheme = scheme
	case strings.EqualFold(scheme, "https"):
		o.scheme = "https"
	case strings.EqualFold(scheme, "http"):
		o.scheme = "http"
	default:
		return o, errNotHTTP
	}
	rest := raw[colon+len("://"):]
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority, o.tail = rest[:i], rest[i:]
	}
	if strings.IndexByte(authority, '@') >= 0 {
		return o, errUserInfo
	}
	host, port, p := splitHostPort(authority)
	if p != "" {
		return o, errors.New("host " + p)
	}
	if host == "" {
		return o, errEmptyHost
	}
	if !isASCII(host) {
		a, err := idna.Lookup.ToASCII(host)
		if err != nil {
			return o, errIDNA
		}
		host = a
	}
	host = strings.ToLower(host) // no copy when already lower case
	if p := hostProblem(host); p != "" {
		return o, errors.New("host " + p)
	}
	port, ok := normalPort(o.scheme, port)
	if !ok {
		return o, errors.New("host " + badPort)
	}
	o.host = joinHostPort(host, port, authority)
	o.same = o.scheme == raw[:colon] && o.host == authority
	return o, nil
}

// checkRunes refuses invalid UTF-8 and control characters (C0, DEL, C1).
func checkRunes(s string) error {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < ' ' || c == 0x7f {
				return errControl
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return errUTF8
		}
		if r <= 0x9f {
			return errControl
		}
		i += size
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// isCanonical reports whether s, a path (or a query, starting with ?) of a
// URL, is already spelled as appendNormalized writes it, and has no dot
// segment to resolve.
func isCanonical(s string, query bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) || !isUpperHex(s[i+1]) || !isUpperHex(s[i+2]) || unreserved(unhex(s[i+1])<<4|unhex(s[i+2])) {
				return false
			}
			i += 2
		case keep[c] || c == '/' || query && c == '?':
		default:
			return false
		}
	}
	return query || !hasDotSegment(s)
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

// appendNormalized appends s, a path (or a query, starting with ?), to b
// percent-encoded as Canonical describes.
func appendNormalized(b []byte, s string, query bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			v := unhex(s[i+1])<<4 | unhex(s[i+2])
			if unreserved(v) {
				b = append(b, v)
			} else {
				b = append(b, '%', upperHex[v>>4], upperHex[v&15])
			}
			i += 2
		case keep[c] || c == '/' || query && c == '?':
			b = append(b, c)
		default:
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b
}

// hasDotSegment reports whether the path p has a segment . or ..
func hasDotSegment(p string) bool {
	start := 0 // first byte of the current segment
	for i := 0; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		if seg := p[start:i]; seg == "." || seg == ".." {
			return true
		}
		start = i + 1
	}
	return false
}

// removeDotSegments resolves the . and .. segments of the absolute path p
// (RFC 3986 §5.2.4); a .. above the root is an error, not dropped, since
// the URL then names something its writer did not mean.
func removeDotSegments(p string) (string, error) {
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
		case "..":
			if len(out) == 0 {
				return "", errEscape
			}
			out = out[:len(out)-1]
		default:
			out = append(out, s)
			continue
		}
		if last {
			out = append(out, "") // a/b/.. is the directory a/
		}
	}
	return "/" + strings.Join(out, "/"), nil
}

// splitHostPort splits an authority (without user information) into host
// and port, or returns what is wrong with it. An IPv6 host keeps its
// brackets; the port is "" when absent or empty.
func splitHostPort(a string) (host, port, problem string) {
	if strings.HasPrefix(a, "[") {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return "", "", notIP
		}
		host, rest := a[:end+1], a[end+1:]
		if rest == "" {
			return host, "", ""
		}
		if rest[0] != ':' {
			return "", "", notHost
		}
		return host, rest[1:], ""
	}
	i := strings.LastIndexByte(a, ':')
	if i < 0 {
		return a, "", ""
	}
	if strings.IndexByte(a[:i], ':') >= 0 {
		return "", "", "has more than one colon: write an IPv6 address in brackets"
	}
	return a[:i], a[i+1:], ""
}

// Host problems, worded to follow "host" or the quoted host.
const (
	badPort = "has a bad port (1 to 65535)"
	notHost = "is not a host name"
	notIP   = "is not an IPv6 address in brackets"
)

// shapeProblem returns what s, given as a host, holds besides a host: a
// scheme, a path, a wildcard, user information; "" if nothing.
func shapeProblem(s string) string {
	switch {
	case strings.Contains(s, "://"):
		return "has a scheme: give the host name only"
	case strings.ContainsAny(s, "/?#"):
		return "has a path: give the host name only"
	case strings.Contains(s, "*"):
		return "is a wildcard: list the host names readers use"
	case strings.Contains(s, "@"):
		return "has user information"
	}
	return ""
}

// hostProblem returns what is wrong with host (no port; an IPv6 address in
// brackets), or "" for a DNS name or an IP address.
func hostProblem(host string) string {
	if p := shapeProblem(host); p != "" {
		return p
	}
	switch {
	case host == "":
		return "is empty"
	case strings.HasPrefix(host, "["):
		a, err := netip.ParseAddr(strings.TrimSuffix(host[1:], "]"))
		if err != nil || !strings.HasSuffix(host, "]") || !a.Is6() || a.Zone() != "" {
			return notIP
		}
		return ""
	case len(host) > 253:
		return "is longer than 253 characters"
	}
	for label := range strings.SplitSeq(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return notHost
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if c >= utf8.RuneSelf {
				return "is not ASCII: give the punycode (xn--) form"
			}
			if !(c == '-' || c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
				return notHost
			}
		}
	}
	return ""
}

// normalPort returns port without leading zeros, or "" when it is absent
// or the default of scheme (80 for http, 443 for https). ok is false when
// port is not a number from 1 to 65535.
func normalPort(scheme, port string) (p string, ok bool) {
	if port == "" {
		return "", true // RFC 3986 §6.2.3: an empty port is omitted
	}
	n := 0
	for i := 0; i < len(port); i++ {
		c := port[i]
		if c < '0' || c > '9' || n > 65535 {
			return "", false
		}
		n = n*10 + int(c-'0')
	}
	switch {
	case n < 1 || n > 65535:
		return "", false
	case n == 443 && strings.EqualFold(scheme, "https"), n == 80 && strings.EqualFold(scheme, "http"):
		return "", true
	case port[0] == '0':
		return strconv.Itoa(n), true
	}
	return port, true
}

// CheckHost reports what is wrong with hostport, a host name or an IP
// address (IPv6 in brackets) with an optional port, as a CDN domain, a
// rule's domain or an endpoint is given: nil when it is usable. The host
// must be ASCII (an internationalised name in its punycode form); upper
// case is allowed. Canonical checks the host of a URL by the same rules.
func CheckHost(hostport string) error {
	if hostport == "" {
		return errEmptyHost
	}
	bad := func(problem string) error { return fmt.Errorf("%q %s", hostport, problem) }
	if p := shapeProblem(hostport); p != "" {
		return bad(p) // before the port: d.example/x:80 has a path
	}
	host, port, p := splitHostPort(hostport)
	if p == "" {
		p = hostProblem(host)
	}
	if p != "" {
		return bad(p)
	}
	if _, ok := normalPort("", port); !ok || strings.HasSuffix(hostport, ":") {
		return bad(badPort)
	}
	return nil
}

// Host returns the host of the URL u as the rules name domains: lower
// case, an internationalised name in punycode, with its port unless that
// is the default of u's scheme (https://D.example:443/a is d.example,
// http://d.example:8080/ is d.example:8080), since a rule may name a
// domain with its port. User information is skipped. u may lack a
// scheme (d.example/a, as ObjectPath allows; its port is then kept);
// Host returns "" when u names no host. Host(u) is Host(Canonical(u)).
func Host(u string) string {
	scheme, authority := authorityOf(u)
	host, port, p := splitHostPort(authority)
	if p != "" {
		return strings.ToLower(authority)
	}
	if !isASCII(host) {
		if a, err := idna.Lookup.ToASCII(host); err == nil {
			host = a
		}
	}
	host = strings.ToLower(host)
	if p, ok := normalPort(scheme, port); ok {
		port = p
	}
	return joinHostPort(host, port, authority)
}

// joinHostPort returns host:port, or host when port is "", reusing
// authority when it is spelled so.
func joinHostPort(host, port, authority string) string {
	switch {
	case port == "":
		return host
	case len(host)+1+len(port) == len(authority) && authority[:len(host)] == host && authority[len(host)+1:] == port:
		return authority
	}
	return host + ":" + port
}

// Hostname returns the host of u without any port: the domain as the CDN
// API counts it (per-domain rate limits, domains per call, a refused
// domain), for which d.example:8443 and d.example are one domain.
// Otherwise it is Host.
func Hostname(u string) string {
	h := Host(u)
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		return h[:i]
	}
	return h
}

// authorityOf returns the scheme of u ("" when it has none) and its
// authority, without user information.
func authorityOf(u string) (scheme, authority string) {
	rest := u
	if i := strings.Index(u, "://"); i >= 0 && !strings.ContainsAny(u[:i], "/?#") {
		scheme, rest = u[:i], u[i+len("://"):]
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	return scheme, rest
}

// PrefixForm returns u with its scheme and host in lower case and without
// its query or fragment, and the length of that origin part: the form in
// which directory prefixes are compared (the planner's collapse and
// directory cover, the window's covers, Outcome.Via). u may lack a scheme
// ("d.example/a", as ObjectPath allows). It does not copy u when u is
// already in that form.
func PrefixForm(u string) (form string, originLen int) {
	hostStart := 0
	if i := strings.Index(u, "://"); i >= 0 && !strings.ContainsAny(u[:i], "/?#") {
		hostStart = i + len("://")
	}
	pathStart := len(u)
	if i := strings.IndexAny(u[hostStart:], "/?#"); i >= 0 {
		pathStart = hostStart + i
	}
	pathEnd := len(u)
	if i := strings.IndexAny(u[pathStart:], "?#"); i >= 0 {
		pathEnd = pathStart + i
	}
	origin := strings.ToLower(u[:pathStart]) // no copy when already lower case
	if origin == u[:pathStart] {
		return u[:pathEnd], pathStart
	}
	return origin + u[pathStart:pathEnd], len(origin)
}

// EachDir calls f with every directory prefix of form (a PrefixForm whose
// origin is originLen bytes long), shallowest first: "https://d/",
// "https://d/a/", ... A prefix equal to form itself (form ends in "/") is
// passed only if self is true. f returns false to stop.
func EachDir(form string, originLen int, self bool, f func(dir string) bool) {
	for i := originLen; i < len(form); i++ {
		if form[i] != '/' {
			continue
		}
		if i == len(form)-1 && !self {
			return
		}
		if !f(form[:i+1]) {
			return
		}
	}
}
