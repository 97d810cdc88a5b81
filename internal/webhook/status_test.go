package webhook

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

func TestStatusCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		headers map[string]string
		edit    func(*Options)
		status  int
		field   string
		allow   string
	}{
		{name: "GET /refresh", method: "GET", path: "/refresh", status: 405, allow: "POST"},
		{name: "PUT /hooks/github", method: "PUT", path: "/hooks/github", body: "{}", status: 405, allow: "POST"},
		{name: "POST /healthz", method: "POST", path: "/healthz", status: 405, allow: "GET, HEAD"},
		{name: "GET /healthz", method: "GET", path: "/healthz", status: 200},
		{name: "unknown route", path: "/purge", body: "{}", status: 404, field: "path"},
		{name: "text/plain", path: "/refresh", body: `{"paths":["/a"]}`, headers: map[string]string{"Content-Type": "text/plain"}, status: 415, field: "Content-Type"},
		{name: "form-encoded (GitHub's default content type): the payload is decoded", path: "/hooks/github", body: "payload=%7B%7D",
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, status: 400, field: "ref"},
		{name: "form-encoded elsewhere", path: "/refresh", body: "payload=%7B%7D",
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, status: 415, field: "Content-Type"},
		{name: "no Content-Type", path: "/refresh", body: `{"paths":["/a"]}`, headers: map[string]string{"Content-Type": ""}, status: 415, field: "Content-Type"},
		{name: "JSON with charset", path: "/refresh", body: `{"paths":["/a"]}`, headers: map[string]string{"Content-Type": "application/json; charset=utf-8"}, status: 202},
		{name: "body over the cap", path: "/refresh", body: `{"paths":["/` + strings.Repeat("a", 100) + `"]}`,
			edit: func(o *Options) { o.MaxBodyBytes = 64 }, status: 413, field: "body"},
		{name: "too many URLs", path: "/refresh", body: `{"urls":["https://www.example.com/1","https://www.example.com/2","https://www.example.com/3"]}`,
			edit: func(o *Options) { o.MaxURLs = 2 }, status: 413, field: "urls"},
		{name: "too many paths", path: "/refresh", body: `{"paths":["/1","/2","/3"]}`,
			edit: func(o *Options) { o.MaxURLs = 2 }, status: 413, field: "paths"},
		{name: "malformed JSON", path: "/refresh", body: `{"urls":[`, status: 400},
		{name: "empty body", path: "/refresh", body: ``, status: 400},
		{name: "array body", path: "/refresh", body: `["https://www.example.com/"]`, status: 400},
		{name: "two JSON values", path: "/refresh", body: `{"paths":["/a"]} {}`, status: 400},
		{name: "urls not a list", path: "/refresh", body: `{"urls":"https://www.example.com/"}`, status: 400, field: "urls"},
		{name: "unknown field", path: "/refresh", body: `{"url":["https://www.example.com/"]}`, status: 400, field: "url"},
		{name: "nothing to refresh", path: "/refresh", body: `{"urls":[]}`, status: 400, field: "urls"},
		{name: "bad action", path: "/refresh", body: `{"paths":["/a"],"action":"purge"}`, status: 400, field: "action"},
		{name: "bad type", path: "/refresh", body: `{"paths":["/a"],"type":"folder"}`, status: 400, field: "type"},
		{name: "bad op", path: "/refresh", body: `{"bucket":"b","keys":["a"],"op":"move"}`, status: 400, field: "op"},
		{name: "force not a boolean", path: "/refresh", body: `{"paths":["/a"],"force":"yes"}`, status: 400, field: "force"},
		{name: "prefetch a deletion", path: "/refresh", body: `{"bucket":"b","keys":["a"],"op":"delete","action":"prefetch"}`, status: 400, field: "action"},
		{name: "paths without a domain", path: "/refresh", body: `{"paths":["/a"]}`, edit: func(o *Options) { o.Domain = "" }, status: 400, field: "domain"},
		{name: "bad domain", path: "/refresh", body: `{"paths":["/a"],"domain":"https://x/"}`, status: 400, field: "domain"},
		{name: "keys without a bucket", path: "/refresh", body: `{"keys":["a.html"]}`, status: 400, field: "bucket"},
		{name: "every URL invalid", path: "/refresh", body: `{"urls":["ftp://www.example.com/a", 7]}`, status: 400, field: "urls[0]"},
		{name: "every URL on a disallowed domain", path: "/refresh", body: `{"urls":["https://evil.example.net/a"]}`,
			edit: func(o *Options) { o.AllowedDomain = func(h string) bool { return h == "www.example.com" } }, status: 403, field: "urls[0]"},
		{name: "bad query action on a hook", path: "/hooks/strapi?action=sometimes", body: `{"event":"entry.publish"}`, status: 400, field: "action"},
		{name: "strapi without event", path: "/hooks/strapi", body: `{"model":"article","entry":{}}`, status: 400, field: "event"},
		{name: "strapi entry not an object", path: "/hooks/strapi", body: `{"event":"entry.publish","model":"article","entry":[1]}`, status: 400, field: "entry"},
		{name: "contentful without topic", path: "/hooks/contentful", body: `{"sys":{}}`, status: 400, field: "X-Contentful-Topic"},
		{name: "contentful bad topic", path: "/hooks/contentful", body: `{"sys":{}}`, headers: map[string]string{"X-Contentful-Topic": "publish"}, status: 400, field: "X-Contentful-Topic"},
		{name: "sanity without _type", path: "/hooks/sanity", body: `{"_id":"x"}`, status: 400, field: "_type"},
		{name: "sanity bad operation", path: "/hooks/sanity", body: `{"_type":"post"}`, headers: map[string]string{"Sanity-Operation": "merge"}, status: 400, field: "Sanity-Operation"},
		{name: "ghost without post", path: "/hooks/ghost", body: `{"tag":{}}`, status: 400, field: "post"},
		{name: "github commits of the wrong type", path: "/hooks/github", body: `{"ref":"refs/heads/main","commits":"many"}`, status: 400, field: "commits"},
		{name: "github without ref", path: "/hooks/github", body: `{"commits":[]}`, headers: map[string]string{"X-GitHub-Event": "push"}, status: 400, field: "ref"},
		{name: "wordpress without a post", path: "/hooks/wordpress", body: `{"hello":"world"}`, status: 400, field: "post"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHandler(t, &fakeRunner{}, func(o *Options) {
				o.AuthNone = true
				if tt.edit != nil {
					tt.edit(o)
				}
			})
			method := tt.method
			if method == "" {
				method = "POST"
			}
			r := httptest.NewRequest(method, tt.path, strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/json")
			for k, v := range tt.headers {
				if v == "" {
					r.Header.Del(k)
				} else {
					r.Header.Set(k, v)
				}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("%s %s: status %d, want %d; body %s", method, tt.path, w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("%s %s: Content-Type %q, want application/json", method, tt.path, got)
			}
			if got := w.Header().Get("Allow"); got != tt.allow {
				t.Errorf("%s %s: Allow %q, want %q", method, tt.path, got, tt.allow)
			}
			if tt.status >= 400 {
				if e := decodeError(t, w); e.Field != tt.field || e.Error == "" {
					t.Errorf("%s %s: error body %+v, want field %q and a message", method, tt.path, e, tt.field)
				}
			}
		})
	}
}

// TestBodyCapWithoutLength checks the cap on a body of unknown length.
func TestBodyCapWithoutLength(t *testing.T) {
	t.Parallel()
	h := newHandler(t, &fakeRunner{}, func(o *Options) { o.AuthNone = true; o.MaxBodyBytes = 64 })
	r := httptest.NewRequest("POST", "/refresh", io.MultiReader(strings.NewReader(`{"paths":["/`), strings.NewReader(strings.Repeat("a", 200)+`"]}`)))
	r.ContentLength = -1
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("POST of 200+ bytes of unknown length with a 64-byte cap: status %d, want 413", w.Code)
	}
}

func TestPartialBatch(t *testing.T) {
	t.Parallel()
	run := &fakeRunner{}
	h := newHandler(t, run, func(o *Options) {
		o.AuthNone = true
		o.AllowedDomain = func(h string) bool { return h == "www.example.com" || h == "static.example.com" }
	})
	body := `{"urls":["https://www.example.com/ok.html","ftp://www.example.com/x","https://evil.example.net/a",42,
		"https://WWW.example.com:443/ok2.html","https://user@www.example.com/p"],
		"paths":["/p/a b.css","https://www.example.com/not-a-path"],"domain":"static.example.com",
		"bucket":"site","keys":["img/x.png",""],"action":"both"}`
	w := post(h, "/refresh", []byte(body), nil)
	if w.Code != http.StatusAccepted {
		t.Fatalf("POST partial batch: status %d, want 202; body %s", w.Code, w.Body)
	}
	a := decodeAnswer(t, w)
	wantRejected := []Rejection{
		{Field: "urls[1]", URL: "ftp://www.example.com/x", Reason: "not an http(s) URL"},
		{Field: "urls[2]", URL: "https://evil.example.net/a", Reason: "domain not allowed"},
		{Field: "urls[3]", Reason: "not a string"},
		{Field: "urls[5]", URL: "https://user@www.example.com/p", Reason: "a URL with user information is not refreshed"},
		{Field: "paths[1]", Path: "https://www.example.com/not-a-path", Reason: "a URL, not a path: give it in urls"},
		{Field: "keys[1]", Reason: "empty key"},
	}
	if diff := cmp.Diff(wantRejected, a.Rejected); diff != "" {
		t.Errorf("rejected (-want +got):\n%s", diff)
	}
	var got []chg
	for _, c := range run.calls()[0].Changes {
		got = append(got, chg{c.URL, c.Bucket, c.Key, c.Op, c.Action})
	}
	r, p := refresh.ActionRefresh, refresh.ActionPrefetch
	want := []chg{
		{URL: "https://www.example.com/ok.html", Op: create, Action: r},
		{URL: "https://www.example.com/ok.html", Op: create, Action: p},
		{URL: "https://WWW.example.com:443/ok2.html", Op: create, Action: r},
		{URL: "https://WWW.example.com:443/ok2.html", Op: create, Action: p},
		{URL: "https://static.example.com/p/a b.css", Op: create, Action: r},
		{URL: "https://static.example.com/p/a b.css", Op: create, Action: p},
		{Bucket: "site", Key: "img/x.png", Op: create, Action: r},
		{Bucket: "site", Key: "img/x.png", Op: create, Action: p},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if a.Changes != 8 || a.Accepted != 8 {
		t.Errorf("changes, accepted = %d, %d; want 8, 8", a.Changes, a.Accepted)
	}
}

// TestAnswerFromReport checks that the reply carries the pipeline's
// counts, tasks, ignored keys and rejections next to the decoder's.
func TestAnswerFromReport(t *testing.T) {
	t.Parallel()
	long := "https://www.example.com/" + strings.Repeat("a", 1100)
	run := &fakeRunner{report: func(ev refresh.Event) refresh.Report {
		r := refresh.Report{Changes: len(ev.Changes), Tasks: []string{}}
		r.Add(
			refresh.Outcome{Job: refresh.Job{URL: "https://www.example.com/a"}, Status: refresh.Submitted, TaskID: "17,18"},
			refresh.Outcome{Job: refresh.Job{URL: "https://www.example.com/b"}, Status: refresh.Duplicate},
			refresh.Outcome{Job: refresh.Job{URL: "https://www.example.com/c"}, Status: refresh.Spilled, Reason: "Throttling"},
			refresh.Outcome{Job: refresh.Job{URL: long, Action: refresh.ActionRefresh}, Status: refresh.Rejected, Reason: "URL longer than 1024 characters"},
			refresh.Outcome{Job: refresh.Job{URL: long, Action: refresh.ActionPrefetch}, Status: refresh.Rejected, Reason: "URL longer than 1024 characters"},
		)
		r.Ignored, r.IgnoredKeys = 1, []refresh.Ignored{{Key: "site/x.tmp", Reason: "no rule matches site/x.tmp"}}
		return r
	}}
	h := newHandler(t, run, func(o *Options) { o.AuthNone = true })
	body := `{"urls":["https://www.example.com/a","https://www.example.com/b","https://www.example.com/c","` + long + `","mailto:x@example.com"]}`
	w := post(h, "/refresh", []byte(body), nil)
	if w.Code != http.StatusAccepted {
		t.Fatalf("status %d, want 202; body %s", w.Code, w.Body)
	}
	got := decodeAnswer(t, w)
	want := Answer{
		Changes: 4, Accepted: 2, Submitted: 1, Duplicate: 1, Spilled: 1,
		Rejected: []Rejection{
			{Field: "urls[4]", URL: "mailto:x@example.com", Reason: "not an http(s) URL"},
			{URL: long, Reason: "URL longer than 1024 characters"},
		},
		Ignored: []refresh.Ignored{{Key: "site/x.tmp", Reason: "no rule matches site/x.tmp"}},
		Tasks:   []string{"17", "18"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
}

func TestRunnerFailure(t *testing.T) {
	t.Parallel()
	run := &fakeRunner{err: errors.New("refresh: spill 2 jobs: oss: 503"), report: func(ev refresh.Event) refresh.Report {
		r := refresh.Report{Changes: len(ev.Changes), Tasks: []string{}}
		r.Add(refresh.Outcome{Job: refresh.Job{URL: "https://www.example.com/a"}, Status: refresh.Spilled, Reason: "Throttling"})
		return r
	}}
	h := newHandler(t, run, func(o *Options) { o.AuthNone = true })
	w := post(h, "/refresh", []byte(`{"paths":["/a"]}`), nil)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503; body %s", w.Code, w.Body)
	}
	if got := w.Header().Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After %q, want 5", got)
	}
	a := decodeAnswer(t, w)
	if a.Error == "" || a.Spilled != 1 || a.Changes != 1 {
		t.Errorf("503 body %+v, want an error with changes 1 and spilled 1", a)
	}
	if strings.Contains(w.Body.String(), "oss: 503") {
		t.Errorf("503 body shows the internal error: %s", w.Body)
	}
}

func TestNothingToDo(t *testing.T) {
	t.Parallel()
	// A push that lists no files still reaches the runner, so that its
	// log line counts the ignored push; a decoded payload with neither
	// changes nor ignored records does not.
	run := &fakeRunner{}
	h := newHandler(t, run, func(o *Options) { o.AuthNone = true })
	w := post(h, "/hooks/github", readTestdata(t, "github-push-nofiles.json"), map[string]string{"X-GitHub-Event": "push"})
	if w.Code != http.StatusAccepted || len(run.calls()) != 1 {
		t.Errorf("push with no files: status %d, runner calls %d; want 202 and 1", w.Code, len(run.calls()))
	}
	if a := decodeAnswer(t, w); a.Changes != 0 || len(a.Ignored) != 1 || a.Tasks == nil || a.Rejected == nil {
		t.Errorf("answer %+v, want no changes, one ignored, empty (not null) lists", a)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	now := testNow
	h := newHandler(t, &fakeRunner{}, func(o *Options) {
		o.RateLimit = 0.5
		o.Now = func() time.Time { return now }
	})
	body := []byte(`{"paths":["/a"]}`)
	if w := post(h, "/refresh", body, signGeneric(testSecret, testNow, body)); w.Code != 202 {
		t.Fatalf("first request: status %d, want 202", w.Code)
	}
	second := signGeneric(testSecret, testNow.Add(-time.Second), body)
	w := post(h, "/refresh", body, second)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "2" {
		t.Fatalf("second request: status %d, Retry-After %q; want 429 and 2", w.Code, w.Header().Get("Retry-After"))
	}
	// Refused for the rate, the same request is accepted once the rate allows.
	now = now.Add(2 * time.Second)
	if w := post(h, "/refresh", body, second); w.Code != 202 {
		t.Fatalf("second request again, 2 s later: status %d, want 202; body %s", w.Code, w.Body)
	}
}

type panicRunner struct{}

func (panicRunner) Run(context.Context, refresh.Event) (refresh.Report, error) { panic("boom") }

func TestPanicIs500(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	h := newHandler(t, panicRunner{}, func(o *Options) { o.AuthNone = true; o.Logger = newTextLogger(&logs) })
	w := post(h, "/refresh", []byte(`{"paths":["/a"]}`), nil)
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", w.Code)
	}
	if e := decodeError(t, w); e.Error != "internal error" {
		t.Errorf("error body %+v, want internal error", e)
	}
	if !strings.Contains(logs.String(), "boom") {
		t.Errorf("panic not logged:\n%s", logs.String())
	}
}
