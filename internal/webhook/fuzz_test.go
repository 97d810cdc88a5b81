package webhook

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// The fuzz targets feed arbitrary bodies (and header values) to each
// decoder, directly and through the handler, and check that nothing
// panics, that no bad input is answered 500, and that every change the
// decoder keeps is well formed. Run one for a while with, for example:
//
//	go test -run '^$' -fuzz '^FuzzStrapi$' -fuzztime 10s ./internal/webhook/

// fuzzOptions exercise every decoder feature: templates with every
// placeholder, a domain check, a GitHub mapping, a small item cap.
func fuzzOptions(o *Options) {
	o.AuthNone = true
	o.MaxURLs = 50
	o.Domain = "www.example.com"
	o.AllowedDomain = func(h string) bool { return strings.HasSuffix(h, "example.com") }
	o.GitHub = GitHub{Bucket: "site", StripPrefix: "public/", Prefix: "www/"}
	o.Templates = map[string]Template{
		"article": {URLs: []string{"/{locale}/blog/{slug}/", "/blog/"}, DefaultLocale: "en", HideDefaultLocale: true},
		"post":    {URLs: []string{"https://{locale}.example.com/{type}/{id}/{slug}"}, Locales: map[string]string{"en-US": "en"}},
		"*":       {URLs: []string{"/{type}/{slug}/"}},
	}
}

// allowedStatus are the answers the handler may give to any body.
var allowedStatus = []int{202, 400, 403, 413}

// fuzzHandler is built once: building it per input would spend the fuzz
// time compiling templates.
var fuzzHandler = sync.OnceValues(func() (*handler, error) {
	var o Options
	fuzzOptions(&o)
	h, err := New(o, runnerFunc(func(_ context.Context, ev refresh.Event) (refresh.Report, error) {
		return refresh.Report{Changes: len(ev.Changes), Tasks: []string{}}, nil
	}))
	if err != nil {
		return nil, err
	}
	return h.(*handler), nil
})

func fuzzRoute(t *testing.T, path string, body []byte, header http.Header, query string) {
	t.Helper()
	hh, err := fuzzHandler()
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = hh
	rt := routes[path]
	q, _ := url.ParseQuery(query)
	out, err := rt.decode(hh.dec, body, meta{header: header, query: q})
	if err == nil {
		checkDecoded(t, out)
	} else if re, ok := err.(*requestError); !ok || re.status == 0 || re.msg == "" {
		t.Fatalf("decode error %#v: want a *requestError with a status and a message", err)
	}

	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.URL.Path, r.URL.RawQuery = path, query
	for k, vs := range header {
		r.Header[k] = vs
	}
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if !slices.Contains(allowedStatus, w.Code) {
		t.Fatalf("POST %s: status %d; body %s", path, w.Code, w.Body)
	}
}

// checkDecoded checks the invariants of a decoder's output.
func checkDecoded(t *testing.T, out decoded) {
	t.Helper()
	for _, c := range out.changes {
		if c.Source != "webhook" {
			t.Fatalf("change %+v: source %q, want webhook", c, c.Source)
		}
		if c.Op != refresh.OpCreate && c.Op != refresh.OpDelete {
			t.Fatalf("change %+v: op %q", c, c.Op)
		}
		if c.Op == refresh.OpDelete && c.Action == refresh.ActionPrefetch {
			t.Fatalf("change %+v: a deletion is prefetched", c)
		}
		switch {
		case c.URL != "":
			if _, err := refresh.CanonicalFor(c.ObjectType, c.URL); err != nil {
				t.Fatalf("change URL %q kept although %v", c.URL, err)
			}
		case c.Bucket == "" || c.Key == "" || !utf8.ValidString(c.Key):
			t.Fatalf("change %+v: neither a URL nor a bucket and a key", c)
		}
	}
	for _, r := range out.rejected {
		if r.Reason == "" {
			t.Fatalf("rejection %+v without a reason", r)
		}
	}
	for _, i := range out.ignored {
		if i.Reason == "" {
			t.Fatalf("ignored %+v without a reason", i)
		}
	}
}

// seed adds the testdata files whose names start with prefix, and a few
// malformed bodies.
func seed(f *testing.F, prefix string, add func(body []byte)) {
	files, err := filepath.Glob(filepath.Join("testdata", prefix+"*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
	for _, s := range []string{``, `null`, `[]`, `{}`, `{"a":`, `"x"`, `1e999`, `{"entry":null,"post":[],"commits":{}}`} {
		add([]byte(s))
	}
}

func FuzzGeneric(f *testing.F) {
	for _, s := range []string{
		`{"urls":["https://www.example.com/a","ftp://x",1,null,"https://evil.net/"]}`,
		`{"paths":["/a b","x","https://www.example.com/"],"domain":"static.example.com","action":"both","type":"directory","force":true}`,
		`{"bucket":"b","keys":["a","",7],"op":"delete","action":"refresh"}`,
		`{"urls":["https://www.example.com/a"]} trailing`,
		`{"urls":["https://[::1]:0/"],"paths":["/../x"]}`,
		`{"tags":["a","",",",7],"domain":"www.example.com","edge_routine":{"id":"a.b","merge_domains":["x.example.com"]},"query_hashkey":true}`,
	} {
		f.Add([]byte(s))
	}
	seed(f, "generic", func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzRoute(t, "/refresh", body, http.Header{}, "")
	})
}

func FuzzGitHub(f *testing.F) {
	seed(f, "github", func(b []byte) { f.Add(b, "push") })
	f.Add([]byte(`{"ref":"refs/heads/main","commits":[{"added":["public/\u0000","public/../x",""],"removed":["public/a"]}]}`), "push")
	f.Add([]byte(`{"ref":"refs/heads/main"}`), "ping")
	f.Fuzz(func(t *testing.T, body []byte, event string) {
		if !validHeader(event) {
			return
		}
		fuzzRoute(t, "/hooks/github", body, http.Header{"X-Github-Event": {event}}, "action=both")
	})
}

func FuzzStrapi(f *testing.F) {
	seed(f, "strapi", func(b []byte) { f.Add(b) })
	f.Add([]byte(`{"event":"entry.publish","model":"article","entry":{"id":1,"slug":"../x","locale":"{slug}"}}`))
	f.Add([]byte(`{"event":"media.delete","media":{"url":"//cdn.example.com/x","formats":{"a":{"url":7},"b":null}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzRoute(t, "/hooks/strapi", body, http.Header{}, "")
	})
}

func FuzzContentful(f *testing.F) {
	seed(f, "contentful", func(b []byte) {
		f.Add(b, "ContentManagement.Entry.publish")
		f.Add(b, "ContentManagement.Asset.unpublish")
	})
	f.Add([]byte(`{"sys":{"id":"x","contentType":{"sys":{"id":"post"}}},"fields":{"slug":{"en-US":["a"],"fr":"b"}}}`), "ContentManagement.Entry.delete")
	f.Fuzz(func(t *testing.T, body []byte, topic string) {
		if !validHeader(topic) {
			return
		}
		fuzzRoute(t, "/hooks/contentful", body, http.Header{"X-Contentful-Topic": {topic}}, "")
	})
}

func FuzzSanity(f *testing.F) {
	seed(f, "sanity", func(b []byte) { f.Add(b, "update") })
	f.Add([]byte(`{"_type":"article","slug":"x","language":"fr","url":"/x"}`), "delete")
	f.Fuzz(func(t *testing.T, body []byte, op string) {
		if !validHeader(op) {
			return
		}
		fuzzRoute(t, "/hooks/sanity", body, http.Header{"Sanity-Operation": {op}}, "")
	})
}

func FuzzGhost(f *testing.F) {
	seed(f, "ghost", func(b []byte) { f.Add(b, "") })
	f.Add([]byte(`{"page":{"current":{"status":"published","slug":"a"},"previous":{"url":"x"}}}`), "page.deleted")
	f.Fuzz(func(t *testing.T, body []byte, event string) {
		fuzzRoute(t, "/hooks/ghost", body, http.Header{}, "event="+url.QueryEscape(event))
	})
}

func FuzzWordPress(f *testing.F) {
	seed(f, "wordpress", func(b []byte) { f.Add(b) })
	f.Add([]byte(`{"ID":"7","post_name":"a__trashed","post_status":"trash","post_type":"article","lang":"fr"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzRoute(t, "/hooks/wordpress", body, http.Header{}, "type=regex&force=1")
	})
}

// validHeader reports whether s can be sent as a header value.
func validHeader(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' && s[i] != '\t' || s[i] == 0x7f {
			return false
		}
	}
	return true
}
