package webhook

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

func TestTemplateExpand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		t      Template
		v      values
		want   []string
		reason string
	}{
		{"path on the default domain", Template{URLs: []string{"/blog/{slug}/"}}, values{slug: "hello"},
			[]string{"https://www.example.com/blog/hello/"}, ""},
		{"several URLs, one without placeholders", Template{URLs: []string{"/blog/{slug}/", "/blog/", "/"}}, values{slug: "a"},
			[]string{"https://www.example.com/blog/a/", "https://www.example.com/blog/", "https://www.example.com/"}, ""},
		{"own domain", Template{URLs: []string{"/{slug}"}, Domain: "Docs.Example.com"}, values{slug: "x"},
			[]string{"https://docs.example.com/x"}, ""},
		{"full URL template", Template{URLs: []string{"http://shop.example.com/p/{id}?v=1"}}, values{id: "42"},
			[]string{"http://shop.example.com/p/42?v=1"}, ""},
		{"slug encoded once, slashes kept", Template{URLs: []string{"/{slug}/"}}, values{slug: "/guides/café au lait?/"},
			[]string{"https://www.example.com/guides/caf%C3%A9%20au%20lait%3F/"}, ""},
		{"id and type encoded, slashes too", Template{URLs: []string{"/{type}/{id}"}}, values{id: "a/b", typ: "news item"},
			[]string{"https://www.example.com/news%20item/a%2Fb"}, ""},
		{"locale", Template{URLs: []string{"/{locale}/blog/{slug}/"}}, values{slug: "a", locale: "fr"},
			[]string{"https://www.example.com/fr/blog/a/"}, ""},
		{"default locale filled in", Template{URLs: []string{"/{locale}/blog/{slug}/"}, DefaultLocale: "en"}, values{slug: "a"},
			[]string{"https://www.example.com/en/blog/a/"}, ""},
		{"default locale hidden", Template{URLs: []string{"/{locale}/blog/{slug}/"}, DefaultLocale: "en", HideDefaultLocale: true},
			values{slug: "a", locale: "en"}, []string{"https://www.example.com/blog/a/"}, ""},
		{"default locale hidden in the host", Template{URLs: []string{"https://{locale}.example.com/{slug}"}, DefaultLocale: "en", HideDefaultLocale: true},
			values{slug: "a"}, []string{"https://example.com/a"}, ""},
		{"other locale not hidden, renamed", Template{URLs: []string{"/{locale}/{slug}"}, DefaultLocale: "en-US", HideDefaultLocale: true,
			Locales: map[string]string{"de-DE": "de", "en-US": "en"}}, values{slug: "a", locale: "de-DE"}, []string{"https://www.example.com/de/a"}, ""},
		{"renamed default locale still hidden", Template{URLs: []string{"/{locale}/{slug}"}, DefaultLocale: "en-US", HideDefaultLocale: true,
			Locales: map[string]string{"en-US": "en"}}, values{slug: "a", locale: "en-US"}, []string{"https://www.example.com/a"}, ""},
		{"missing slug", Template{URLs: []string{"/blog/{slug}/"}}, values{id: "1"},
			nil, `template "https://www.example.com/blog/{slug}/" needs {slug}, which the entry lacks`},
		{"slug of slashes only", Template{URLs: []string{"/blog/{slug}/"}}, values{slug: "//"},
			nil, `template "https://www.example.com/blog/{slug}/" needs {slug}, which the entry lacks`},
		{"missing locale without a default", Template{URLs: []string{"/{locale}/{slug}"}}, values{slug: "a"},
			nil, `template "https://www.example.com/{locale}/{slug}" needs {locale}, which the entry lacks`},
		{"missing id", Template{URLs: []string{"/p/{id}"}}, values{slug: "a"},
			nil, `template "https://www.example.com/p/{id}" needs {id}, which the entry lacks`},
		{"dot-dot slug", Template{URLs: []string{"/blog/{slug}/"}}, values{slug: "../admin"},
			nil, `slug "../admin" has a . or .. segment`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := compileTemplate(tt.t, "www.example.com")
			if err != nil {
				t.Fatalf("compileTemplate(%+v): %v", tt.t, err)
			}
			got, reason := c.expand(tt.v)
			if diff := cmp.Diff(tt.want, got); diff != "" || reason != tt.reason {
				t.Errorf("expand(%+v) = %q, %q; want %q, %q", tt.v, got, reason, tt.want, tt.reason)
			}
		})
	}
}

func TestCompileTemplateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, domain string
		t            Template
		want         string
	}{
		{"no URLs", "d.example", Template{}, "no URLs"},
		{"unknown placeholder", "d.example", Template{URLs: []string{"/{title}"}}, `"/{title}": unknown placeholder {title} (known: {slug}, {locale}, {id}, {type})`},
		{"unclosed", "d.example", Template{URLs: []string{"/{slug"}}, `"/{slug": { without }`},
		{"stray brace", "d.example", Template{URLs: []string{"/slug}"}}, `"/slug}": } without {`},
		{"relative", "d.example", Template{URLs: []string{"blog/{slug}"}}, `"blog/{slug}" is neither a path starting with / nor an http(s) URL`},
		{"no domain", "", Template{URLs: []string{"/{slug}"}}, `"/{slug}" is a path, and no domain is set to put it on`},
		{"bad domain", "", Template{URLs: []string{"/{slug}"}, Domain: "a b"}, `domain: "a b" is not a host name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := compileTemplate(tt.t, tt.domain)
			if err == nil || err.Error() != tt.want {
				t.Errorf("compileTemplate(%+v, %q) error = %v, want %q", tt.t, tt.domain, err, tt.want)
			}
		})
	}
}

// TestAddURL checks URLs as the decoders hand them on: checked as
// refresh.Canonical checks them, allowed by the host refresh.Host gives.
func TestAddURL(t *testing.T) {
	t.Parallel()
	var asked []string
	d := &decoder{allowed: func(host string) bool {
		asked = append(asked, host)
		return host == "www.example.com" || host == "origin.example.com:8080" || host == "xn--fsqu00a.xn--0zwm56d"
	}}
	tests := []struct {
		name, in string
		typ      refresh.ObjectType
		host     string // asked of allowed; "" when not asked
		reason   string // rejected with; "" when kept
	}{
		{"plain", "https://www.example.com/a.html", "", "www.example.com", ""},
		{"case and default port", "HTTPS://WWW.Example.COM:443/a?b=c#d", "", "www.example.com", ""},
		{"port kept", "http://origin.example.com:8080/a", "", "origin.example.com:8080", ""},
		{"port must match", "https://origin.example.com/a", "", "origin.example.com", reasonDomain},
		{"raw space", "https://www.example.com/a b.html", "", "www.example.com", ""},
		{"IDNA host", "https://例子.测试/a", "", "xn--fsqu00a.xn--0zwm56d", ""},
		{"underscore host", "https://exa_mple.com/a", "", "exa_mple.com", reasonDomain},
		{"regex pattern", `https://www.example.com/img/.*\.png$`, refresh.Regex, "www.example.com", ""},
		{"empty", "", "", "", "empty URL"},
		{"no scheme", "www.example.com/a", "", "", "not an http(s) URL"},
		{"ftp", "ftp://www.example.com/a", "", "", "not an http(s) URL"},
		{"empty host", "https:///a", "", "", "empty host"},
		{"bad host", "https://exa!mple.com/a", "", "", "host is not a host name"},
		{"bad port", "https://www.example.com:99999/", "", "", "host has a bad port (1 to 65535)"},
		{"user info", "https://user:pw@www.example.com/", "", "", "a URL with user information is not refreshed"},
		{"control character", "https://www.example.com/\n", "", "", "contains a control character"},
		{"invalid UTF-8", "https://www.example.com/\xff", "", "", "not valid UTF-8"},
		{"above the root", "https://www.example.com/../a", "", "", "a .. segment climbs above the root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked = nil
			var out decoded
			d.addURL(&out, tt.in, refresh.OpCreate, params{objectType: tt.typ}, Rejection{Field: "urls[0]"})
			var want decoded
			if tt.reason == "" {
				want.changes = []refresh.Change{{Source: "webhook", URL: tt.in, Op: refresh.OpCreate, ObjectType: tt.typ}}
			} else {
				want.rejected = []Rejection{{Field: "urls[0]", URL: tt.in, Reason: tt.reason}}
			}
			if diff := cmp.Diff(want, out, cmp.AllowUnexported(decoded{})); diff != "" {
				t.Errorf("addURL(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			var wantAsked []string
			if tt.host != "" {
				wantAsked = []string{tt.host}
			}
			if diff := cmp.Diff(wantAsked, asked); diff != "" {
				t.Errorf("addURL(%q) asked allowed (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}
