package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

func sanityHeaderFor(secret string, at time.Time, body []byte, enc *base64.Encoding) string {
	t := strconv.FormatInt(at.UnixMilli(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(t + "."))
	m.Write(body)
	return "t=" + t + ",v1=" + enc.EncodeToString(m.Sum(nil))
}

func ghostHeaderFor(secret string, at time.Time, body []byte) string {
	t := strconv.FormatInt(at.UnixMilli(), 10)
	return "sha256=" + macHex(secret, body, []byte(t)) + ", t=" + t
}

// contentfulHeadersFor signs a request as Contentful's request
// verification does.
func contentfulHeadersFor(secret, method, path string, at time.Time, body []byte, signTimestamp bool) map[string]string {
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	signed := "x-contentful-topic"
	canon := method + "\n" + path + "\nx-contentful-topic:ContentManagement.Entry.publish"
	if signTimestamp {
		signed = "x-contentful-timestamp,x-contentful-topic"
		canon = method + "\n" + path + "\nx-contentful-timestamp:" + ts + ";x-contentful-topic:ContentManagement.Entry.publish"
	}
	return map[string]string{
		"X-Contentful-Topic":          "ContentManagement.Entry.publish",
		"X-Contentful-Timestamp":      ts,
		"X-Contentful-Signed-Headers": signed,
		"X-Contentful-Signature":      macHex(secret, []byte(canon+"\n"), body),
	}
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestSignatures(t *testing.T) {
	t.Parallel()
	body := []byte(`{"urls":["https://www.example.com/a.html"]}`)
	other := []byte(`{"urls":["https://www.example.com/b.html"]}`)
	push := readTestdata(t, "github-push.json")
	sanityDoc := readTestdata(t, "sanity-post.json")
	ghostPost := readTestdata(t, "ghost-post-published.json")
	cf := readTestdata(t, "contentful-entry-publish.json")
	strapi := readTestdata(t, "strapi-entry-publish.json")
	wp := readTestdata(t, "wordpress-post-publish.json")
	gh := func(secret string, b []byte) map[string]string {
		return map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
			"X-Hub-Signature-256": "sha256=" + macHex(secret, b)}
	}

	tests := []struct {
		name    string
		path    string
		body    []byte
		headers map[string]string
		status  int
		field   string
	}{
		{"generic: valid", "/refresh", body, signGeneric(testSecret, testNow, body), 202, ""},
		{"generic: wrong secret", "/refresh", body, signGeneric("not-the-secret", testNow, body), 401, HeaderSignature},
		{"generic: stale timestamp", "/refresh", body, signGeneric(testSecret, testNow.Add(-6*time.Minute), body), 401, HeaderTimestamp},
		{"generic: timestamp in the future", "/refresh", body, signGeneric(testSecret, testNow.Add(6*time.Minute), body), 401, HeaderTimestamp},
		{"generic: just within 5 minutes", "/refresh", body, signGeneric(testSecret, testNow.Add(-299*time.Second), body), 202, ""},
		{"generic: tampered body", "/refresh", other, signGeneric(testSecret, testNow, body), 401, HeaderSignature},
		{"generic: missing headers", "/refresh", body, nil, 401, HeaderSignature},
		{"generic: missing timestamp", "/refresh", body, with(signGeneric(testSecret, testNow, body), HeaderTimestamp, ""), 401, HeaderTimestamp},
		{"generic: malformed signature", "/refresh", body, with(signGeneric(testSecret, testNow, body), HeaderSignature, "deadbeef"), 401, HeaderSignature},
		{"generic: malformed timestamp", "/refresh", body, with(signGeneric(testSecret, testNow, body), HeaderTimestamp, "yesterday"), 401, HeaderTimestamp},
		{"generic: a token is not enough", "/refresh", body, map[string]string{"Authorization": "Bearer " + testSecret}, 401, HeaderSignature},

		{"github: valid", "/hooks/github", push, gh(testSecret, push), 202, ""},
		{"github: wrong secret", "/hooks/github", push, gh("not-the-secret", push), 401, "X-Hub-Signature-256"},
		{"github: tampered body", "/hooks/github", append([]byte(" "), push...), gh(testSecret, push), 401, "X-Hub-Signature-256"},
		{"github: SHA-1 signature only", "/hooks/github", push,
			map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature": "sha1=0123456789abcdef0123456789abcdef01234567"}, 401, "X-Hub-Signature-256"},
		{"github: generic scheme accepted too", "/hooks/github", push, with(signGeneric(testSecret, testNow, push), "X-GitHub-Event", "push"), 202, ""},

		{"sanity: valid", "/hooks/sanity", sanityDoc,
			map[string]string{"Sanity-Webhook-Signature": sanityHeaderFor(testSecret, testNow, sanityDoc, base64.RawURLEncoding)}, 202, ""},
		{"sanity: padded standard base64 accepted", "/hooks/sanity", sanityDoc,
			map[string]string{"Sanity-Webhook-Signature": sanityHeaderFor(testSecret, testNow, sanityDoc, base64.StdEncoding)}, 202, ""},
		{"sanity: wrong secret", "/hooks/sanity", sanityDoc,
			map[string]string{"Sanity-Webhook-Signature": sanityHeaderFor("nope", testNow, sanityDoc, base64.RawURLEncoding)}, 401, "Sanity-Webhook-Signature"},
		{"sanity: stale", "/hooks/sanity", sanityDoc,
			map[string]string{"Sanity-Webhook-Signature": sanityHeaderFor(testSecret, testNow.Add(-time.Hour), sanityDoc, base64.RawURLEncoding)}, 401, "Sanity-Webhook-Signature"},
		{"sanity: malformed", "/hooks/sanity", sanityDoc, map[string]string{"Sanity-Webhook-Signature": "v1=abc"}, 401, "Sanity-Webhook-Signature"},

		{"ghost: valid", "/hooks/ghost", ghostPost, map[string]string{"X-Ghost-Signature": ghostHeaderFor(testSecret, testNow, ghostPost)}, 202, ""},
		{"ghost: detected on /refresh", "/refresh", ghostPost, map[string]string{"X-Ghost-Signature": ghostHeaderFor(testSecret, testNow, ghostPost)}, 202, ""},
		{"ghost: wrong secret", "/hooks/ghost", ghostPost, map[string]string{"X-Ghost-Signature": ghostHeaderFor("nope", testNow, ghostPost)}, 401, "X-Ghost-Signature"},
		{"ghost: stale", "/hooks/ghost", ghostPost,
			map[string]string{"X-Ghost-Signature": ghostHeaderFor(testSecret, testNow.Add(-10*time.Minute), ghostPost)}, 401, "X-Ghost-Signature"},

		{"contentful: request verification", "/hooks/contentful", cf,
			contentfulHeadersFor(testSecret, "POST", "/hooks/contentful", testNow, cf, true), 202, ""},
		{"contentful: wrong secret", "/hooks/contentful", cf,
			contentfulHeadersFor("nope", "POST", "/hooks/contentful", testNow, cf, true), 401, "X-Contentful-Signature"},
		{"contentful: signed for another path", "/hooks/contentful", cf,
			contentfulHeadersFor(testSecret, "POST", "/elsewhere", testNow, cf, true), 401, "X-Contentful-Signature"},
		{"contentful: timestamp not signed", "/hooks/contentful", cf,
			contentfulHeadersFor(testSecret, "POST", "/hooks/contentful", testNow, cf, false), 401, "X-Contentful-Signed-Headers"},
		{"contentful: stale", "/hooks/contentful", cf,
			contentfulHeadersFor(testSecret, "POST", "/hooks/contentful", testNow.Add(-time.Hour), cf, true), 401, "X-Contentful-Timestamp"},
		{"contentful: token", "/hooks/contentful", cf,
			map[string]string{"X-Contentful-Topic": "ContentManagement.Entry.publish", HeaderToken: testSecret}, 202, ""},

		{"strapi: bearer token", "/hooks/strapi", strapi, map[string]string{"Authorization": "Bearer " + testSecret}, 202, ""},
		{"strapi: wrong token", "/hooks/strapi", strapi, map[string]string{"Authorization": "Bearer " + testSecret + "x"}, 401, "Authorization"},
		{"strapi: no credentials", "/hooks/strapi", strapi, nil, 401, HeaderSignature},
		{"wordpress: token header", "/hooks/wordpress", wp, map[string]string{HeaderToken: testSecret}, 202, ""},
		{"wordpress: wrong token header", "/hooks/wordpress", wp, map[string]string{HeaderToken: "guess"}, 401, HeaderToken},
		{"wordpress: generic scheme", "/hooks/wordpress", wp, signGeneric(testSecret, testNow, wp), 202, ""},
		{"ghost: a token is not accepted", "/hooks/ghost", ghostPost, map[string]string{HeaderToken: testSecret}, 401, "X-Ghost-Signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := &fakeRunner{}
			h := newHandler(t, run, func(o *Options) {
				o.Templates = map[string]Template{"*": {URLs: []string{"/{slug}/"}}}
			})
			w := post(h, tt.path, tt.body, tt.headers)
			if w.Code != tt.status {
				t.Fatalf("POST %s: status %d, want %d; body %s", tt.path, w.Code, tt.status, w.Body)
			}
			if tt.status != 202 {
				if e := decodeError(t, w); e.Field != tt.field || e.Error == "" {
					t.Errorf("POST %s: error body %+v, want field %q and a message", tt.path, e, tt.field)
				}
				if n := len(run.calls()); n != 0 {
					t.Errorf("POST %s refused, yet the runner ran %d times", tt.path, n)
				}
			}
			if strings.Contains(w.Body.String(), testSecret) {
				t.Errorf("POST %s: the reply shows the secret: %s", tt.path, w.Body)
			}
		})
	}
}

func TestReplay(t *testing.T) {
	t.Parallel()
	body := []byte(`{"urls":["https://www.example.com/a.html"]}`)
	push := readTestdata(t, "github-push.json")
	ghHeaders := func(delivery string) map[string]string {
		return map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": "sha256=" + macHex(testSecret, push)}
	}
	type step struct {
		path    string
		body    []byte
		headers map[string]string
		fail    bool // the runner fails
		status  int
	}
	signed := signGeneric(testSecret, testNow, body)
	tests := []struct {
		name  string
		steps []step
	}{
		{"generic: the same signed request twice", []step{
			{"/refresh", body, signed, false, 202},
			{"/refresh", body, signed, false, 403},
		}},
		{"generic: a new timestamp is a new request", []step{
			{"/refresh", body, signed, false, 202},
			{"/refresh", body, signGeneric(testSecret, testNow.Add(-time.Second), body), false, 202},
		}},
		{"generic: a request that failed with 503 may be retried", []step{
			{"/refresh", body, signed, true, 503},
			{"/refresh", body, signed, false, 202},
			{"/refresh", body, signed, false, 403},
		}},
		{"github: the signature is the replay key (the delivery id is not signed)", []step{
			{"/hooks/github", push, ghHeaders("d-1"), false, 202},
			{"/hooks/github", push, ghHeaders("d-1"), false, 403},
			{"/hooks/github", push, ghHeaders("d-2"), false, 403},
		}},
		{"token requests are not replay-checked", []step{
			{"/hooks/wordpress", readTestdata(t, "wordpress-post-publish.json"), map[string]string{HeaderToken: testSecret}, false, 202},
			{"/hooks/wordpress", readTestdata(t, "wordpress-post-publish.json"), map[string]string{HeaderToken: testSecret}, false, 202},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := &fakeRunner{}
			h := newHandler(t, run, func(o *Options) { o.GitHub = GitHub{Bucket: "b"} })
			for i, s := range tt.steps {
				run.err = nil
				if s.fail {
					run.err = errors.New("spill store down")
				}
				w := post(h, s.path, s.body, s.headers)
				if w.Code != s.status {
					t.Fatalf("step %d: POST %s: status %d, want %d; body %s", i, s.path, w.Code, s.status, w.Body)
				}
			}
		})
	}
}

// failingCache is a ReplayCache whose store is down.
type failingCache struct{}

func (failingCache) SeenBefore(context.Context, string, time.Duration) (bool, error) {
	return false, errors.New("redis: connection refused")
}
func (failingCache) Forget(context.Context, string) error { return nil }

func TestReplayCacheDown(t *testing.T) {
	t.Parallel()
	run := &fakeRunner{}
	h := newHandler(t, run, func(o *Options) { o.Seen = failingCache{} })
	body := []byte(`{"urls":["https://www.example.com/a.html"]}`)
	w := post(h, "/refresh", body, signGeneric(testSecret, testNow, body))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("POST with the replay store down: status %d, Retry-After %q; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if n := len(run.calls()); n != 0 {
		t.Errorf("runner ran %d times, want 0", n)
	}
}

func TestMemoryReplay(t *testing.T) {
	t.Parallel()
	now := testNow
	c := newMemoryReplay(3, func() time.Time { return now })
	ctx := context.Background()
	seen := func(k string) bool {
		t.Helper()
		s, err := c.SeenBefore(ctx, k, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	steps := []struct {
		do   func()
		key  string
		want bool
	}{
		{nil, "a", false},
		{nil, "a", true},
		{func() { now = now.Add(61 * time.Second) }, "a", false}, // expired, recorded again
		{nil, "b", false},
		{nil, "c", false},
		{nil, "d", false}, // full: the oldest, a, goes
		{nil, "a", false},
		{nil, "d", true},
		{func() { c.Forget(ctx, "d") }, "d", false},
	}
	for i, s := range steps {
		if s.do != nil {
			s.do()
		}
		if got := seen(s.key); got != s.want {
			t.Fatalf("step %d: SeenBefore(%q) = %v, want %v", i, s.key, got, s.want)
		}
		if len(c.until) > 3 {
			t.Fatalf("step %d: %d entries, want at most 3", i, len(c.until))
		}
	}
}

// TestConcurrentReplay sends one signed request from many goroutines:
// exactly one is accepted.
func TestConcurrentReplay(t *testing.T) {
	t.Parallel()
	run := &fakeRunner{}
	h := newHandler(t, run, nil)
	body := []byte(`{"paths":["/x"]}`)
	headers := signGeneric(testSecret, testNow, body)
	const n = 16
	codes := make(chan int, n)
	for range n {
		go func() { codes <- post(h, "/refresh", body, headers).Code }()
	}
	got := map[int]int{}
	for range n {
		got[<-codes]++
	}
	if got[202] != 1 || got[403] != n-1 {
		t.Errorf("statuses %v, want one 202 and %d 403", got, n-1)
	}
}

func TestNewNeedsSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		o       Options
		wantErr string
	}{
		{"no secret", Options{}, "webhook: no secret: set CDNREFRESH_WEBHOOK_SECRET or webhook.auth: none"},
		{"auth none", Options{AuthNone: true}, ""},
		{"secret", Options{Secret: "x"}, ""},
		{"bad template placeholder", Options{Secret: "x", Domain: "d.example", Templates: map[string]Template{"post": {URLs: []string{"/{slugg}/"}}}},
			`webhook: template for "post": "/{slugg}/": unknown placeholder {slugg} (known: {slug}, {locale}, {id}, {type})`},
		{"path template without a domain", Options{Secret: "x", Templates: map[string]Template{"post": {URLs: []string{"/{slug}/"}}}},
			`webhook: template for "post": "/{slug}/" is a path, and no domain is set to put it on`},
		{"bad domain", Options{Secret: "x", Domain: "https://www.example.com/"}, `webhook: domain: "https://www.example.com/" has a scheme: give the host name only`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.o, &fakeRunner{})
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("New(%s) error = %q, want %q", tt.name, got, tt.wantErr)
			}
		})
	}
}

// TestSecretNotLogged checks the log lines of accepted and refused
// requests for the secret and the signatures.
func TestSecretNotLogged(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	run := &fakeRunner{}
	h := newHandler(t, run, func(o *Options) { o.Logger = newTextLogger(&logs) })
	body := []byte(`{"urls":["https://www.example.com/a.html"]}`)
	good := signGeneric(testSecret, testNow, body)
	post(h, "/refresh", body, good)
	post(h, "/refresh", body, signGeneric("wrong", testNow, body))
	post(h, "/hooks/strapi", readTestdata(t, "strapi-entry-publish.json"), map[string]string{"Authorization": "Bearer " + testSecret + "x"})
	for _, s := range []string{testSecret, strings.TrimPrefix(good[HeaderSignature], "sha256=")} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("log shows %q:\n%s", s, logs.String())
		}
	}
	if got := strings.Count(logs.String(), "webhook request"); got != 3 {
		t.Errorf("%d log lines for 3 requests:\n%s", got, logs.String())
	}
}

// runnerFunc adapts a function to Runner.
type runnerFunc func(context.Context, refresh.Event) (refresh.Report, error)

func (f runnerFunc) Run(ctx context.Context, ev refresh.Event) (refresh.Report, error) {
	return f(ctx, ev)
}

var _ Runner = runnerFunc(nil)
var _ Runner = (*refresh.Pipeline)(nil)
var _ ReplayCache = (*memoryReplay)(nil)

func ExampleNew() {
	h, err := New(Options{Secret: "whsec", Domain: "www.example.com"},
		runnerFunc(func(_ context.Context, ev refresh.Event) (refresh.Report, error) {
			r := refresh.Report{Changes: len(ev.Changes), Tasks: []string{"1001"}, Submitted: len(ev.Changes)}
			return r, nil
		}))
	if err != nil {
		panic(err)
	}
	body := `{"paths":["/index.html"]}`
	r := httptest.NewRequest("POST", "/refresh", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	m := hmac.New(sha256.New, []byte("whsec"))
	m.Write([]byte(ts + "." + body))
	r.Header.Set(HeaderTimestamp, ts)
	r.Header.Set(HeaderSignature, fmt.Sprintf("sha256=%x", m.Sum(nil)))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, strings.Contains(w.Body.String(), `"tasks":["1001"]`))
	// Output: 202 true
}
