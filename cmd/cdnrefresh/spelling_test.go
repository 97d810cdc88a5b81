package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/app/apptest"
	emu "github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// spellingConfig maps bucket my-site to www.example.com, and lets the
// webhook take unauthenticated requests with one CMS template.
const spellingConfig = `
rules:
  - bucket: my-site
    domains: [www.example.com]
window: {duration: 10ms}
webhook:
  auth: none
  domain: www.example.com
  templates: {page: "/a/./{slug}.html"}
`

// TestOneSpelling sends one object, spelled as each entry path takes it,
// through that path to the CDN API emulator: the API must be asked to
// refresh the same URL, in canonical spelling, every time (so that the
// dedupe window and the quota see it once).
func TestOneSpelling(t *testing.T) {
	const want = "https://www.example.com/a/b~.html"
	tests := []struct {
		name string
		// send hands the object to the entry path of an App aimed at the
		// emulator at endpoint.
		send func(t *testing.T, a *app.App, endpoint string)
	}{
		{"OSS key through the rules", func(t *testing.T, a *app.App, _ string) {
			runChange(t, a, refresh.Change{Source: "oss", Bucket: "my-site", Key: "a/./b~.html", Op: refresh.OpCreate})
		}},
		{"webhook URL", func(t *testing.T, a *app.App, _ string) {
			post(t, a, "/refresh", `{"urls": ["HTTPS://WWW.Example.com:443/a/./b%7e.html#top"]}`)
		}},
		{"webhook path and domain", func(t *testing.T, a *app.App, _ string) {
			post(t, a, "/refresh", `{"paths": ["/a/x/../b%7E.html"], "domain": "WWW.Example.com:443"}`)
		}},
		{"CMS template", func(t *testing.T, a *app.App, _ string) {
			post(t, a, "/hooks/strapi", `{"event": "entry.publish", "model": "page",
				"entry": {"id": 7, "slug": "b~", "publishedAt": "2026-01-02T03:04:05Z"}}`)
		}},
		{"CLI line", func(t *testing.T, _ *app.App, endpoint string) {
			cfg := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(cfg, []byte(spellingConfig), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv("CDNREFRESH_CDN_ENDPOINT", endpoint)
			t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", emu.AccessKeyID)
			t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", emu.AccessKeySecret)
			t.Setenv("CDNREFRESH_SPILL_DIR", t.TempDir())
			var stdout, stderr bytes.Buffer
			in := strings.NewReader("https://www.example.com:443/a/%62%7e.html\n")
			if code := run(context.Background(), []string{"refresh", "--config", cfg, "--quiet"}, in, &stdout, &stderr); code != 0 {
				t.Fatalf("cdnrefresh refresh: exit %d: %s", code, stderr.String())
			}
		}},
		{"drain of a spilled job", func(t *testing.T, a *app.App, _ string) {
			ctx := context.Background()
			spilled := refresh.Pending{Reason: "quota", FirstSeen: time.Now().Add(-time.Hour), Job: refresh.Job{
				Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.File,
				URL: "https://WWW.Example.com:443/a/./b%7e.html",
			}}
			if err := a.Spill.Spill(ctx, []refresh.Pending{spilled}); err != nil {
				t.Fatal(err)
			}
			d, err := a.Drain(ctx, 0)
			if err != nil || d.Submitted != 1 {
				t.Fatalf("Drain = %+v, %v; want 1 submitted", d, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, endpoint := apptest.Emulator(t, emu.Options{})
			a := apptest.NewApp(t, spellingConfig, endpoint, nil, app.Options{})
			tt.send(t, a, endpoint)
			var got []string
			for _, c := range e.Calls() {
				if c.Action == "RefreshObjectCaches" {
					got = append(got, c.URLs...)
				}
			}
			if diff := cmp.Diff([]string{want}, got); diff != "" {
				t.Errorf("%s: URLs the API was asked to refresh (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

// runChange carries c through the App's pipeline.
func runChange(t *testing.T, a *app.App, c refresh.Change) {
	t.Helper()
	r, err := a.Pipeline.Run(context.Background(), refresh.Event{Changes: []refresh.Change{c}})
	if err != nil || r.Submitted != 1 {
		t.Fatalf("Run(%+v) = %+v, %v; want 1 submitted", c, r, err)
	}
}

// post sends body to the webhook function's handler over the App, and
// wants it accepted.
func post(t *testing.T, a *app.App, path, body string) {
	t.Helper()
	h, err := a.WebhookHandler()
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusAccepted || !strings.Contains(w.Body.String(), `"submitted":1`) {
		t.Fatalf("POST %s %s: %d %s; want 202 with 1 submitted", path, body, w.Code, w.Body)
	}
}
