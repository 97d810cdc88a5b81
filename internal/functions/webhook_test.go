package functions_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/app/apptest"
	"github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/functions"
	"github.com/cdnrefresh/cdnrefresh/internal/platform/fc"
	"github.com/google/go-cmp/cmp"
)

const webhookSecret = "whsec-test-0123456789"

const webhookConfig = `
rules:
  - bucket: my-site
    prefix: static/
    strip_prefix: static/
    domains: [www.example.com]
    index: index.html
  - bucket: origin
    domains: ["origin.example.com:8080"]
window: {duration: 50ms}
webhook:
  secret: ${CDNREFRESH_WEBHOOK_SECRET}
  domain: www.example.com
  github: {bucket: my-site, prefix: static/, strip_prefix: public/}
  templates:
    article: {urls: ["/{locale}/articles/{slug}/"], default_locale: en, hide_default_locale: true}
`

func startWebhook(t *testing.T) *apptest.Env {
	t.Helper()
	return apptest.Start(t, webhookConfig, apptest.Options{Getenv: map[string]string{"CDNREFRESH_WEBHOOK_SECRET": webhookSecret}}, functions.Webhook)
}

// submitted lists the refresh and prefetch calls the emulator accepted.
func submitted(env *apptest.Env) []call {
	var out []call
	for _, c := range env.CDN.Calls() {
		if c.Action == "RefreshObjectCaches" || c.Action == "PushObjectCache" {
			urls := append([]string(nil), c.URLs...)
			sort.Strings(urls)
			out = append(out, call{c.Action, c.ObjectType, urls})
		}
	}
	return out
}

func signed(t *testing.T, path, body string, h map[string]string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	m := hmac.New(sha256.New, []byte(webhookSecret))
	m.Write([]byte(ts + "." + body))
	req.Header.Set("X-Cdnrefresh-Timestamp", ts)
	req.Header.Set("X-Cdnrefresh-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	return req
}

func TestWebhookOverFC(t *testing.T) {
	t.Parallel()
	push, err := os.ReadFile("../../internal/webhook/testdata/github-push.json")
	if err != nil {
		t.Fatal(err)
	}
	ghSig := func(body []byte) string {
		m := hmac.New(sha256.New, []byte(webhookSecret))
		m.Write(body)
		return "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	tests := []struct {
		name       string
		req        func(t *testing.T) *http.Request
		wantStatus int
		wantCalls  []call
		wantInBody []string
	}{
		{
			name: "generic API: valid URLs go through, a foreign domain is rejected",
			req: func(t *testing.T) *http.Request {
				return signed(t, "/refresh", `{"urls":["https://www.example.com/a.html","https://www.example.com/b c.html","https://evil.example.net/x"]}`, nil)
			},
			wantStatus: 202,
			wantCalls:  []call{{"RefreshObjectCaches", "File", []string{"https://www.example.com/a.html", "https://www.example.com/b%20c.html"}}},
			wantInBody: []string{`"accepted":2`, `domain not allowed`},
		},
		{
			name: "generic API: paths on the default domain, prefetch",
			req: func(t *testing.T) *http.Request {
				return signed(t, "/refresh", `{"paths":["/docs/","/docs/index.html"],"action":"prefetch"}`, nil)
			},
			wantStatus: 202,
			wantCalls:  []call{{"PushObjectCache", "", []string{"https://www.example.com/docs/", "https://www.example.com/docs/index.html"}}},
		},
		{
			name: "purge and warm: the prefetch waits for its purge, and the answer counts it",
			req: func(t *testing.T) *http.Request {
				return signed(t, "/refresh", `{"urls":["https://www.example.com/both.html"],"action":"both"}`, nil)
			},
			wantStatus: 202,
			wantCalls:  []call{{"RefreshObjectCaches", "File", []string{"https://www.example.com/both.html"}}},
			wantInBody: []string{`"changes":2`, `"accepted":2`, `"submitted":1`, `"waiting":1`},
		},
		{
			name: "a rule's domain with a port",
			req: func(t *testing.T) *http.Request {
				return signed(t, "/refresh", `{"urls":["https://origin.example.com:8080/a.html"]}`, nil)
			},
			wantStatus: 202,
			wantCalls:  []call{{"RefreshObjectCaches", "File", []string{"https://origin.example.com:8080/a.html"}}},
		},
		{
			name: "Strapi publish: a locale-aware template gives the URL",
			req: func(t *testing.T) *http.Request {
				body, err := os.ReadFile("../../internal/webhook/testdata/strapi-entry-publish.json")
				if err != nil {
					t.Fatal(err)
				}
				r, _ := http.NewRequest(http.MethodPost, "/hooks/strapi", bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("Authorization", "Bearer "+webhookSecret)
				return r
			},
			wantStatus: 202,
			wantCalls:  []call{{"RefreshObjectCaches", "File", []string{"https://www.example.com/fr/articles/caching-at-the-edge/"}}},
		},
		{
			name: "unsigned request is refused and nothing is sent",
			req: func(t *testing.T) *http.Request {
				r := signed(t, "/refresh", `{"urls":["https://www.example.com/a.html"]}`, nil)
				r.Header.Del("X-Cdnrefresh-Signature")
				return r
			},
			wantStatus: 401,
		},
		{
			name: "GitHub push: changed files refresh their URLs",
			req: func(t *testing.T) *http.Request {
				r, _ := http.NewRequest(http.MethodPost, "/hooks/github", bytes.NewReader(push))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("X-GitHub-Event", "push")
				r.Header.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
				r.Header.Set("X-Hub-Signature-256", ghSig(push))
				return r
			},
			wantStatus: 202,
			wantCalls: []call{{"RefreshObjectCaches", "File", []string{
				"https://www.example.com/css/site.css",
				"https://www.example.com/img/spring%20sale.png",
				"https://www.example.com/sale/",
				"https://www.example.com/sale/index.html",
				"https://www.example.com/winter/",
				"https://www.example.com/winter/index.html",
			}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := startWebhook(t)
			status, body := env.HTTP(t, tt.req(t))
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", status, tt.wantStatus, body)
			}
			if !json.Valid(body) {
				t.Errorf("body is not JSON: %s", body)
			}
			for _, s := range tt.wantInBody {
				if !strings.Contains(string(body), s) {
					t.Errorf("body %s lacks %q", body, s)
				}
			}
			if diff := cmp.Diff(tt.wantCalls, submitted(env)); diff != "" {
				t.Errorf("calls the CDN API received (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWebhookRefusesToStartWithoutSecret(t *testing.T) {
	t.Parallel()
	_, endpoint := apptest.Emulator(t, cdn.Options{})
	a := apptest.NewApp(t, strings.Replace(webhookConfig, "  secret: ${CDNREFRESH_WEBHOOK_SECRET}\n", "", 1), endpoint, nil, app.Options{})
	if _, err := functions.Webhook(a); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Errorf("the webhook function's handlers without a secret: err = %v, want one naming the secret", err)
	}
}

// TestWebhookLogsOneLinePerRequest: behind FC's server, each request writes
// exactly one log line, carrying FC's request_id, with a failure's text
// under "error".
func TestWebhookLogsOneLinePerRequest(t *testing.T) {
	var logs bytes.Buffer // slog's JSON handler serializes its writes
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	emu, endpoint := apptest.Emulator(t, cdn.Options{})
	a := apptest.NewApp(t, webhookConfig, endpoint, map[string]string{"CDNREFRESH_WEBHOOK_SECRET": webhookSecret}, app.Options{Logger: logger})
	h, err := functions.Webhook(a)
	if err != nil {
		t.Fatalf("the webhook function's handlers: %v", err)
	}
	srv := httptest.NewServer(&fc.Server{HTTP: h.HTTP, Logger: logger, Out: io.Discard})
	env := &apptest.Env{CDN: emu, App: a, URL: srv.URL, Client: srv.Client()}

	unsigned := signed(t, "/refresh", `{"urls":["https://www.example.com/a.html"]}`, nil)
	unsigned.Header.Del("X-Cdnrefresh-Signature")
	for _, req := range []*http.Request{
		signed(t, "/refresh", `{"urls":["https://www.example.com/a.html"]}`, nil),
		unsigned,
		signed(t, "/refresh", `{"urls":"https://www.example.com/a.html"}`, nil),
	} {
		env.HTTP(t, req)
	}
	srv.Close() // waits for the handlers, and so for their log lines

	type line struct {
		Msg       string `json:"msg"`
		RequestID string `json:"request_id"`
		Route     string `json:"route"`
		Status    int    `json:"status"`
		Submitted int    `json:"submitted"`
		Error     string `json:"error"`
	}
	var got []line
	for raw := range bytes.Lines(logs.Bytes()) {
		var l line
		var keys map[string]any
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Fatalf("log line %q is not JSON: %v", raw, err)
		}
		if err := json.Unmarshal(raw, &keys); err == nil && keys["err"] != nil {
			t.Errorf("log line %s has the key \"err\"; errors go under \"error\"", raw)
		}
		got = append(got, l)
	}
	want := []line{
		{Msg: "webhook request", RequestID: "1-6740a1b2-1", Route: "generic", Status: 202, Submitted: 1},
		{Msg: "webhook request", RequestID: "1-6740a1b2-2", Route: "generic", Status: 401,
			Error: "X-Cdnrefresh-Signature: missing header"},
		{Msg: "webhook request", RequestID: "1-6740a1b2-3", Route: "generic", Status: 400,
			Error: "urls: JSON string where an array was expected"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log lines (-want +got):\n%s\nlog:\n%s", diff, logs.String())
	}
}
