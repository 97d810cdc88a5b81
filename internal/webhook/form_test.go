package webhook

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

const formType = "application/x-www-form-urlencoded"

// TestGitHubFormPayload checks GitHub's default content type: the push
// arrives form-encoded as payload=<JSON>, signed over the raw form body,
// and must be carried out exactly as the same push sent as JSON.
func TestGitHubFormPayload(t *testing.T) {
	t.Parallel()
	push := readTestdata(t, "github-push.json")
	form := []byte("payload=" + url.QueryEscape(string(push)))
	ghHeaders := func(signed []byte, ct string) map[string]string {
		return map[string]string{"Content-Type": ct, "X-GitHub-Event": "push",
			"X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958", "X-Hub-Signature-256": "sha256=" + macHex(testSecret, signed)}
	}
	siteRepo := func(o *Options) { o.GitHub = GitHub{Bucket: "site-bucket", StripPrefix: "public/"} }

	asJSON := &fakeRunner{}
	if w := post(newHandler(t, asJSON, siteRepo), "/hooks/github", push, ghHeaders(push, "application/json")); w.Code != http.StatusAccepted {
		t.Fatalf("push as JSON = %d %s, want 202", w.Code, w.Body)
	}
	want := asJSON.calls()[0].Changes

	tests := []struct {
		name       string
		path       string
		body       []byte
		headers    map[string]string
		wantStatus int
		wantField  string // of an error answer
	}{
		{"form on /hooks/github", "/hooks/github", form, ghHeaders(form, formType), http.StatusAccepted, ""},
		{"form with a charset", "/hooks/github", form, ghHeaders(form, formType+"; charset=utf-8"), http.StatusAccepted, ""},
		{"form on /refresh, detected by X-GitHub-Event", "/refresh", form, ghHeaders(form, formType), http.StatusAccepted, ""},
		{"signature over the JSON, not the raw body", "/hooks/github", form, ghHeaders(push, formType), http.StatusUnauthorized, "X-Hub-Signature-256"},
		{"no payload field", "/hooks/github", []byte("ref=main"), ghHeaders([]byte("ref=main"), formType), http.StatusBadRequest, "payload"},
		{"payload not JSON", "/hooks/github", []byte("payload=%7Bnot"), ghHeaders([]byte("payload=%7Bnot"), formType), http.StatusBadRequest, ""},
		{"payload twice", "/hooks/github", append(append(form, '&'), form...), ghHeaders(append(append(form, '&'), form...), formType), http.StatusBadRequest, "payload"},
		{"bad form encoding", "/hooks/github", []byte("payload=%zz"), ghHeaders([]byte("payload=%zz"), formType), http.StatusBadRequest, "body"},
		{"form elsewhere is not JSON", "/hooks/strapi", form, map[string]string{"Content-Type": formType, "Authorization": "Bearer " + testSecret}, http.StatusUnsupportedMediaType, "Content-Type"},
		{"form on /refresh without GitHub's headers", "/refresh", form, map[string]string{"Content-Type": formType}, http.StatusUnsupportedMediaType, "Content-Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := &fakeRunner{}
			w := post(newHandler(t, run, siteRepo), tt.path, tt.body, tt.headers)
			if w.Code != tt.wantStatus {
				t.Fatalf("POST %s (%s) = %d %s, want %d", tt.path, tt.headers["Content-Type"], w.Code, w.Body, tt.wantStatus)
			}
			if tt.wantStatus != http.StatusAccepted {
				if e := decodeError(t, w); e.Field != tt.wantField {
					t.Errorf("POST %s error = %+v, want field %q", tt.path, e, tt.wantField)
				}
				if len(run.calls()) != 0 {
					t.Errorf("POST %s refused, yet the runner was called", tt.path)
				}
				return
			}
			// EventID comes from the signature, which differs with the body.
			if diff := cmp.Diff(want, run.calls()[0].Changes, cmpopts.IgnoreFields(refresh.Change{}, "EventID")); diff != "" {
				t.Errorf("changes of the form-encoded push differ from the JSON push's (-json +form):\n%s", diff)
			}
		})
	}
}
