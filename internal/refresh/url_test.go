package refresh_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

func TestCanonical(t *testing.T) {
	tests := []struct {
		name, in, want, err string
	}{
		{"already canonical", "https://www.example.com/a/b.html", "https://www.example.com/a/b.html", ""},
		{"dot segment", "https://d.example/a/./b", "https://d.example/a/b", ""},
		{"dot-dot segment", "https://d.example/a/../b.html", "https://d.example/b.html", ""},
		{"trailing dot-dot", "https://d.example/a/b/..", "https://d.example/a/", ""},
		{"trailing dot", "https://d.example/a/.", "https://d.example/a/", ""},
		{"dot-dot after an empty segment", "https://d.example/a//../b", "https://d.example/a/b", ""},
		{"encoded dot-dot", "https://d.example/a/%2e%2E/b", "https://d.example/b", ""},
		{"dots inside a name stay", "https://d.example/a/..b/c../.d", "https://d.example/a/..b/c../.d", ""},
		{"lower-case escapes", "https://d.example/%e4%b8%ad", "https://d.example/%E4%B8%AD", ""},
		{"escaped tilde", "https://d.example/%7euser/b%7E.html", "https://d.example/~user/b~.html", ""},
		{"escaped letter", "https://d.example/%41%62", "https://d.example/Ab", ""},
		{"escaped slash stays", "https://d.example/a%2fb", "https://d.example/a%2Fb", ""},
		{"escaped percent stays", "https://d.example/100%25", "https://d.example/100%25", ""},
		{"raw space", "https://d.example/a b.css", "https://d.example/a%20b.css", ""},
		{"raw UTF-8", "https://d.example/中文/é", "https://d.example/%E4%B8%AD%E6%96%87/%C3%A9", ""},
		{"raw characters a browser encodes", `https://d.example/"<x>"\^` + "`{|}[]", "https://d.example/%22%3Cx%3E%22%5C%5E%60%7B%7C%7D%5B%5D", ""},
		{"sub-delims stay", "https://d.example/!$&'()*+,;=:@", "https://d.example/!$&'()*+,;=:@", ""},
		{"lone percent", "https://d.example/100%", "https://d.example/100%25", ""},
		{"percent before one hex digit", "https://d.example/a%4", "https://d.example/a%254", ""},
		{"percent before non-hex", "https://d.example/a%zz", "https://d.example/a%25zz", ""},
		{"default https port", "https://d.example:443/a", "https://d.example/a", ""},
		{"default http port", "http://d.example:80/a", "http://d.example/a", ""},
		{"other port kept", "https://d.example:8080/a", "https://d.example:8080/a", ""},
		{"http port on https kept", "https://d.example:80/a", "https://d.example:80/a", ""},
		{"port leading zeros", "https://d.example:08080/a", "https://d.example:8080/a", ""},
		{"empty port", "https://d.example:/a", "https://d.example/a", ""},
		{"upper-case scheme and host", "HTTPS://WWW.Example.COM/A.html", "https://www.example.com/A.html", ""},
		{"IDNA host", "https://例子.测试/", "https://xn--fsqu00a.xn--0zwm56d/", ""},
		{"IDNA host upper case", "https://BÜCHER.example/", "https://xn--bcher-kva.example/", ""},
		{"IPv4 host", "http://192.0.2.1:8080/x", "http://192.0.2.1:8080/x", ""},
		{"IPv6 host", "https://[2001:DB8::1]:443/x", "https://[2001:db8::1]/x", ""},
		{"empty path", "https://d.example", "https://d.example/", ""},
		{"empty path with query", "https://d.example?a=1", "https://d.example/?a=1", ""},
		{"query kept and normalised", "https://d.example/a?q=a b&x=%7e%2f&y=/?z", "https://d.example/a?q=a%20b&x=~%2F&y=/?z", ""},
		{"query dots stay", "https://d.example/a?p=/../x", "https://d.example/a?p=/../x", ""},
		{"empty query kept", "https://d.example/a?", "https://d.example/a?", ""},
		{"fragment dropped", "https://d.example/a#top", "https://d.example/a", ""},
		{"fragment after query dropped", "https://d.example/a?x=1#top", "https://d.example/a?x=1", ""},
		{"trailing slash and empty segments kept", "https://d.example/a//b/", "https://d.example/a//b/", ""},
		{"the spilled example", "https://WWW.Example.com:443/a/./b%7e.html", "https://www.example.com/a/b~.html", ""},

		{"empty", "", "", "empty URL"},
		{"user info", "https://user:pw@d.example/", "", "a URL with user information is not refreshed"},
		{"user info hiding the host", "https://d.example@evil.example/", "", "a URL with user information is not refreshed"},
		{"control character", "https://d.example/a\nb", "", "contains a control character"},
		{"tab", "https://d.example/a\tb", "", "contains a control character"},
		{"DEL", "https://d.example/a\x7f", "", "contains a control character"},
		{"C1 control", "https://d.example/a\u0085", "", "contains a control character"},
		{"invalid UTF-8", "https://d.example/\xff", "", "not valid UTF-8"},
		{"javascript", "javascript:alert(1)", "", "not an http(s) URL"},
		{"ftp", "ftp://d.example/a", "", "not an http(s) URL"},
		{"no scheme", "d.example/a", "", "not an http(s) URL"},
		{"host and port, no scheme", "d.example:80/a", "", "not an http(s) URL"},
		{"one slash", "https:/d.example/a", "", "not an http(s) URL"},
		{"escapes the root", "https://d.example/../x", "", "a .. segment climbs above the root"},
		{"escapes the root later", "https://d.example/a/../../x", "", "a .. segment climbs above the root"},
		{"dot-dot alone", "https://d.example/..", "", "a .. segment climbs above the root"},
		{"encoded escape of the root", "https://d.example/%2E%2E/x", "", "a .. segment climbs above the root"},
		{"empty host", "https:///a", "", "empty host"},
		{"empty host with port", "https://:8080/a", "", "empty host"},
		{"host with a space", "https://exa mple.com/a", "", "host is not a host name"},
		{"host with a bang", "https://exa!mple.com/a", "", "host is not a host name"},
		{"escaped host", "https://www.exa%41mple.com/", "", "host is not a host name"},
		{"host with a trailing dot", "https://d.example./", "", "host is not a host name"},
		{"wildcard host", "https://*.example.com/", "", "host is a wildcard: list the host names readers use"},
		{"bad port", "https://d.example:99999/", "", "host has a bad port (1 to 65535)"},
		{"port zero", "https://d.example:0/", "", "host has a bad port (1 to 65535)"},
		{"port not a number", "https://d.example:https/", "", "host has a bad port (1 to 65535)"},
		{"bare IPv6", "https://2001:db8::1/", "", "host has more than one colon: write an IPv6 address in brackets"},
		{"bracketed non-IPv6", "https://[d.example]/", "", "host is not an IPv6 address in brackets"},
		{"invalid IDNA", "https://a\u200d.example/", "", "host is not a valid internationalised domain name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := refresh.Canonical(tt.in)
			errText := errString(err)
			if got != tt.want || errText != tt.err {
				t.Errorf("Canonical(%q) = %q, %q; want %q, %q", tt.in, got, errText, tt.want, tt.err)
			}
			if err != nil {
				return
			}
			if again, err := refresh.Canonical(got); again != got || err != nil {
				t.Errorf("Canonical(%q) = %q, %v; want it unchanged (idempotence)", got, again, err)
			}
		})
	}
}

func TestCanonicalPattern(t *testing.T) {
	tests := []struct {
		name, in, want, err string
	}{
		{"pattern kept", `https://d.example/img/.*\.png$`, `https://d.example/img/.*\.png$`, ""},
		{"origin canonical, pattern kept", `HTTPS://D.Example:443/a/./[0-9]+%7e.html`, `https://d.example/a/./[0-9]+%7e.html`, ""},
		{"IDNA host", "https://例子.测试/.*", "https://xn--fsqu00a.xn--0zwm56d/.*", ""},
		{"user info", "https://u@d.example/.*", "", "a URL with user information is not refreshed"},
		{"control character", "https://d.example/.*\n", "", "contains a control character"},
		{"not http", "ftp://d.example/.*", "", "not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := refresh.CanonicalPattern(tt.in)
			errText := errString(err)
			if got != tt.want || errText != tt.err {
				t.Errorf("CanonicalPattern(%q) = %q, %q; want %q, %q", tt.in, got, errText, tt.want, tt.err)
			}
		})
	}
}

// TestCanonicalNoCopy checks that a URL already in canonical spelling is
// returned without building a new string: rules map every key through
// Canonical.
func TestCanonicalNoCopy(t *testing.T) {
	for _, u := range []string{"https://www.example.com/blog/2024/index.html", "http://d.example:8080/a%20b/?x=1"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = refresh.Canonical(u) }); n != 0 {
			t.Errorf("Canonical(%q) allocates %v times, want 0", u, n)
		}
	}
}

func FuzzCanonical(f *testing.F) {
	for _, s := range []string{
		"https://WWW.Example.com:443/a/./b%7e.html", "https://d.example/a/../b.html?x=%7e#f", "http://例子.测试:80/中 文",
		"https://d.example/%2e%2e/x", "https://[::1]:8080/", "https://d.example/100%", "javascript:alert(1)",
		"https://u@d.example/", "https://d.example/a/b/..", "HTTP://D.EXAMPLE?q", "https://d.example:0443//a/.//../b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		// raw as an object key: KeyURL is Canonical of the escaped key.
		k, kerr := refresh.KeyURL("https://d.example", raw)
		want, werr := refresh.Canonical("https://d.example/" + refresh.EscapePath(raw))
		if k != want || (kerr == nil) != (werr == nil) {
			t.Fatalf("KeyURL(https://d.example, %q) = %q, %v; want %q, %v", raw, k, kerr, want, werr)
		}

		c, err := refresh.Canonical(raw)
		if err != nil {
			if c != "" {
				t.Fatalf("Canonical(%q) = %q with error %v, want \"\"", raw, c, err)
			}
			return
		}
		again, err := refresh.Canonical(c)
		if err != nil || again != c {
			t.Fatalf("Canonical(%q) = %q, but Canonical(%q) = %q, %v: not idempotent", raw, c, c, again, err)
		}
		if !utf8.ValidString(c) || strings.ContainsAny(c, " #\x00\x7f") {
			t.Fatalf("Canonical(%q) = %q: holds a byte that may not stand raw", raw, c)
		}
		if h := refresh.Host(raw); h != refresh.Host(c) {
			t.Fatalf("Host(%q) = %q, but Host(Canonical) = Host(%q) = %q", raw, h, c, refresh.Host(c))
		}
		if err := refresh.CheckHost(refresh.Host(c)); err != nil {
			t.Fatalf("CheckHost(Host(%q)) = %v, want nil", c, err)
		}
	})
}

func TestKeyURL(t *testing.T) {
	tests := []struct {
		name, key, want, err string
	}{
		{"plain", "img/logo.png", "https://d.example/img/logo.png", ""},
		{"escaped", "a b/中.png", "https://d.example/a%20b/%E4%B8%AD.png", ""},
		{"root", "", "https://d.example/", ""},
		{"directory", "a/b/", "https://d.example/a/b/", ""},
		{"dot segments resolved", "a/./b/../c~.html", "https://d.example/a/c~.html", ""},
		{"trailing dot-dot", "a/b/..", "https://d.example/a/", ""},
		{"escapes are not decoded", "a/%2e%2e/b", "https://d.example/a/%252e%252e/b", ""},
		{"above the root", "../x", "", "a .. segment climbs above the root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := refresh.KeyURL("https://d.example", tt.key)
			errText := errString(err)
			if got != tt.want || errText != tt.err {
				t.Errorf("KeyURL(https://d.example, %q) = %q, %q; want %q, %q", tt.key, got, errText, tt.want, tt.err)
			}
		})
	}
}

func TestHost(t *testing.T) {
	tests := []struct{ in, host, hostname string }{
		{"https://Img.Example.com/a/b.png", "img.example.com", "img.example.com"},
		{"https://d.example:443/a", "d.example", "d.example"},
		{"HTTPS://d.example:443/a", "d.example", "d.example"},
		{"http://d.example:80/a", "d.example", "d.example"},
		{"https://d.example:80/a", "d.example:80", "d.example"},
		{"https://d.example:8443/a", "d.example:8443", "d.example"},
		{"https://d.example:08443/a", "d.example:8443", "d.example"},
		{"https://d.example:/a", "d.example", "d.example"},
		{"http://user:pw@d.example:8080/x", "d.example:8080", "d.example"},
		{"https://[::1]:8443/x", "[::1]:8443", "[::1]"},
		{"https://[::1]/x", "[::1]", "[::1]"},
		{"https://d.example?x=1", "d.example", "d.example"},
		{"https://例子.测试/", "xn--fsqu00a.xn--0zwm56d", "xn--fsqu00a.xn--0zwm56d"},
		{"img.example.com/a.png", "img.example.com", "img.example.com"},
		{"img.example.com:443/a.png", "img.example.com:443", "img.example.com"},
		{"d.example/a?u=http://e.example/", "d.example", "d.example"},
		{"/only/a/path", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := refresh.Host(tt.in); got != tt.host {
			t.Errorf("Host(%q) = %q, want %q", tt.in, got, tt.host)
		}
		if got := refresh.Hostname(tt.in); got != tt.hostname {
			t.Errorf("Hostname(%q) = %q, want %q", tt.in, got, tt.hostname)
		}
	}
}

func TestCheckHost(t *testing.T) {
	tests := []struct{ in, err string }{
		{"www.example.com", ""},
		{"WWW.Example.com", ""},
		{"d.example:8443", ""},
		{"exa_mple.com", ""},
		{"192.0.2.1", ""},
		{"192.0.2.1:8080", ""},
		{"[2001:db8::1]", ""},
		{"[2001:db8::1]:443", ""},
		{"localhost", ""},
		{"", "empty host"},
		{"https://d.example", `"https://d.example" has a scheme: give the host name only`},
		{"d.example/img", `"d.example/img" has a path: give the host name only`},
		{"*.example.com", `"*.example.com" is a wildcard: list the host names readers use`},
		{"u@d.example", `"u@d.example" has user information`},
		{"d.example:99999", `"d.example:99999" has a bad port (1 to 65535)`},
		{"d.example:", `"d.example:" has a bad port (1 to 65535)`},
		{"d.example:x", `"d.example:x" has a bad port (1 to 65535)`},
		{":8080", `":8080" is empty`},
		{"a b", `"a b" is not a host name`},
		{"-a.example", `"-a.example" is not a host name`},
		{"a..example", `"a..example" is not a host name`},
		{"d.example.", `"d.example." is not a host name`},
		{strings.Repeat("a", 64) + ".example", `"` + strings.Repeat("a", 64) + `.example" is not a host name`},
		{strings.Repeat("a.", 127) + "ab", `"` + strings.Repeat("a.", 127) + `ab" is longer than 253 characters`},
		{"例子.测试", `"例子.测试" is not ASCII: give the punycode (xn--) form`},
		{"2001:db8::1", `"2001:db8::1" has more than one colon: write an IPv6 address in brackets`},
		{"[d.example]", `"[d.example]" is not an IPv6 address in brackets`},
		{"[::1", `"[::1" is not an IPv6 address in brackets`},
	}
	for _, tt := range tests {
		if got := errString(refresh.CheckHost(tt.in)); got != tt.err {
			t.Errorf("CheckHost(%q) = %q, want %q", tt.in, got, tt.err)
		}
	}
}

func TestEscapePath(t *testing.T) {
	tests := []struct {
		name, key, want string
	}{
		{"plain", "img/logo.png", "img/logo.png"},
		{"space", "a b.txt", "a%20b.txt"},
		{"plus stays", "c++/a+b.txt", "c++/a+b.txt"},
		{"percent", "100%.html", "100%25.html"},
		{"already encoded looking", "a%20b", "a%2520b"},
		{"non-ASCII", "中文/é.png", "%E4%B8%AD%E6%96%87/%C3%A9.png"},
		{"star", "a*b", "a*b"},
		{"tilde", "~user/x", "~user/x"},
		{"sub-delims", "!$&'()*,;=:@", "!$&'()*,;=:@"},
		{"question mark", "a?b", "a%3Fb"},
		{"hash", "a#b", "a%23b"},
		{"quote and angle brackets", `"<x>"`, "%22%3Cx%3E%22"},
		{"backslash caret backtick", "a\\b^c`d", "a%5Cb%5Ec%60d"},
		{"braces and bar", "{a|b}", "%7Ba%7Cb%7D"},
		{"square brackets", "[a]", "%5Ba%5D"},
		{"control characters", "a\tb\nc\x7f", "a%09b%0Ac%7F"},
		{"trailing slash", "a/b/", "a/b/"},
		{"empty segments", "a//b", "a//b"},
		{"leading slash", "/a", "/a"},
		{"invalid UTF-8 bytes", "a\xffb", "a%FFb"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := refresh.EscapePath(tt.key); got != tt.want {
				t.Errorf("EscapePath(%q) = %q, want %q", tt.key, got, tt.want)
			}
			// No key here has a . or .. segment: its URL is canonical as escaped.
			u := "https://d.example/" + refresh.EscapePath(tt.key)
			if c, err := refresh.Canonical(u); c != u || err != nil {
				t.Errorf("Canonical(%q) = %q, %v; want it unchanged", u, c, err)
			}
		})
	}
}

// errString is err's text, "" for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestPrefixForm(t *testing.T) {
	tests := []struct {
		in        string
		self      bool
		wantCanon string
		wantDirs  []string
	}{
		{"https://d/a/b/c.png?v=1#top", true, "https://d/a/b/c.png", []string{"https://d/", "https://d/a/", "https://d/a/b/"}},
		{"HTTPS://D/A/", true, "https://d/A/", []string{"https://d/", "https://d/A/"}},
		{"HTTPS://D/A/", false, "https://d/A/", []string{"https://d/"}},
		{"d/x%2Fy/z", true, "d/x%2Fy/z", []string{"d/", "d/x%2Fy/"}},
		{"https://d", true, "https://d", nil},
		{"https://d?q=/a/", true, "https://d", nil},
	}
	for _, tt := range tests {
		c, n := refresh.PrefixForm(tt.in)
		if c != tt.wantCanon {
			t.Errorf("PrefixForm(%q) = %q, want %q", tt.in, c, tt.wantCanon)
		}
		var got []string
		refresh.EachDir(c, n, tt.self, func(d string) bool { got = append(got, d); return true })
		if diff := cmp.Diff(tt.wantDirs, got); diff != "" {
			t.Errorf("EachDir(%q, self=%v) mismatch (-want +got):\n%s", c, tt.self, diff)
		}
	}
}
