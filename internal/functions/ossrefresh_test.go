package functions_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/app/apptest"
	"github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/functions"
	"github.com/cdnrefresh/cdnrefresh/internal/platform/lambda"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/google/go-cmp/cmp"
)

// call is what the emulator received, reduced to what the test checks.
type call struct {
	Action, ObjectType string
	URLs               []string
}

func startOSS(t *testing.T) *apptest.Env {
	t.Helper()
	cfg, err := os.ReadFile("../../events/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The window closes as soon as it opens: each test posts one event.
	o := apptest.Options{App: app.Options{After: apptest.Now}}
	return apptest.Start(t, string(cfg), o, functions.OSSRefresh)
}

func refreshFile(urls ...string) call { return call{"RefreshObjectCaches", "File", urls} }

// TestOSSRefreshEvents posts every events/ sample to the function over FC's
// custom-runtime protocol and checks the exact calls the CDN API received.
func TestOSSRefreshEvents(t *testing.T) {
	t.Parallel()
	// on_create: both refreshes now; the prefetch waits for the purge's
	// tasks (TestPrefetchAfterPurge follows it to the end).
	both := func(path string) []call {
		u := []string{"https://cdn.example.com/" + path, "https://static.example.com/" + path}
		return []call{refreshFile(u...)}
	}
	tests := []struct {
		file      string
		want      []call
		wantCount map[string]int // changes, ignored, submitted, duplicate, spilled, rejected, waiting
	}{
		{"oss-put-object.json", both("css/site.css"), counts(1, 0, 2, 0, 0, 0, 2)},
		{"oss-post-object.json", both("img/logo.png"), counts(1, 0, 2, 0, 0, 0, 2)},
		{"oss-complete-multipart.json", both("video/intro.mp4"), counts(1, 0, 2, 0, 0, 0, 2)},
		{"oss-copy-object.json", both("js/app.js"), counts(1, 0, 2, 0, 0, 0, 2)},
		{"oss-delete-object.json", []call{refreshFile("https://cdn.example.com/img/banner-old.jpg", "https://static.example.com/img/banner-old.jpg")}, counts(1, 0, 2, 0, 0, 0, 0)},
		{"oss-delete-objects.json", []call{refreshFile("https://www.example.com/blog/draft-1.html", "https://www.example.com/blog/draft-2.html")}, counts(3, 1, 2, 0, 0, 0, 0)},
		{"oss-index-html.json", []call{refreshFile("https://www.example.com/blog/post-1/", "https://www.example.com/blog/post-1/index.html")}, counts(1, 0, 2, 0, 0, 0, 0)},
		{"oss-unicode-key.json", both("docs/%E5%B9%B4%E5%BA%A6%20%E6%8A%A5%E5%91%8A%20(final).pdf"), counts(1, 0, 2, 0, 0, 0, 2)},
		{"oss-upload-part.json", nil, counts(1, 1, 0, 0, 0, 0, 0)},
		{"s3-put-encoded-key.json", both("img/my%20photo+1.jpg"), counts(1, 0, 2, 0, 0, 0, 2)},
		{"s3-delete.json", []call{refreshFile("https://cdn.example.com/old/page.html", "https://cdn.example.com/old/style.css", "https://static.example.com/old/page.html", "https://static.example.com/old/style.css")}, counts(2, 0, 4, 0, 0, 0, 0)},
	}
	covered := map[string]bool{"timer.json": true, "eventbridge-schedule.json": true,
		"cdn-refresh-complete.json": true, "cdn-push-complete.json": true} // not events for oss-refresh
	for _, tt := range tests {
		covered[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			env := startOSS(t)
			raw, err := os.ReadFile(filepath.Join("../../events", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			status, body := env.Invoke(t, raw, nil)
			if status != 200 {
				t.Fatalf("invoke %s: x-fc-status %d, body %s", tt.file, status, body)
			}
			var got []call
			for _, c := range env.CDN.Calls() {
				if c.Action != "RefreshObjectCaches" && c.Action != "PushObjectCache" {
					continue // DescribeRefreshQuota, read before planning
				}
				if !c.SecurityToken {
					t.Errorf("%s call was not signed with the invocation's STS token", c.Action)
				}
				got = append(got, call{c.Action, c.ObjectType, c.URLs})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("calls the CDN API received for %s (-want +got):\n%s", tt.file, diff)
			}
			var ans map[string]any
			if err := json.Unmarshal(body, &ans); err != nil {
				t.Fatalf("answer %s: %v", body, err)
			}
			gotCount := map[string]int{}
			for k := range tt.wantCount {
				n, ok := ans[k].(float64)
				if !ok {
					t.Errorf("answer lacks %q: %s", k, body)
				}
				gotCount[k] = int(n)
			}
			if diff := cmp.Diff(tt.wantCount, gotCount); diff != "" {
				t.Errorf("answer counts for %s (-want +got):\n%s", tt.file, diff)
			}
			if _, ok := ans["tasks"].([]any); !ok {
				t.Errorf("answer has no tasks list: %s", body)
			}
		})
	}
	all, _ := filepath.Glob("../../events/*.json")
	for _, f := range all {
		if !covered[filepath.Base(f)] {
			t.Errorf("events/%s is not covered by TestOSSRefreshEvents", filepath.Base(f))
		}
	}
}

func counts(changes, ignored, submitted, duplicate, spilled, rejected, waiting int) map[string]int {
	return map[string]int{"changes": changes, "ignored": ignored, "submitted": submitted,
		"duplicate": duplicate, "spilled": spilled, "rejected": rejected, "waiting": waiting}
}

// TestOSSRefreshBadPayload: an undecodable event fails the invocation (x-fc-status
// 404) with an error naming what is wrong, and nothing reaches the API.
func TestOSSRefreshBadPayload(t *testing.T) {
	t.Parallel()
	env := startOSS(t)
	for _, body := range []string{`not json`, `{"events":[{"eventName":"ObjectCreated:PutObject","eventSource":"acs:oss"}]}`, `{}`} {
		status, ans := env.Invoke(t, []byte(body), nil)
		if status != 404 || !strings.Contains(string(ans), "errorMessage") || !strings.Contains(string(ans), `"errorType":"DecodeError"`) {
			t.Errorf("invoke %q = x-fc-status %d, %s; want 404 with an errorMessage and errorType DecodeError", body, status, ans)
		}
	}
	if n := len(env.CDN.Calls()); n != 0 {
		t.Errorf("bad payloads caused %d API calls", n)
	}
}

// TestS3EventOnLambda runs the same handler the way AWS Lambda calls it
// (the Lambda adapter's Handle with lambdacontext), on the S3 samples.
func TestS3EventOnLambda(t *testing.T) {
	t.Parallel()
	cfg, err := os.ReadFile("../../events/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	emu, endpoint := apptest.Emulator(t, cdn.Options{})
	a := apptest.NewApp(t, string(cfg), endpoint, nil, app.Options{})
	fn, err := functions.OSSRefresh(a)
	if err != nil {
		t.Fatal(err)
	}
	h := lambda.NewHandler(fn.Event, nil)
	raw, err := os.ReadFile("../../events/s3-delete.json")
	if err != nil {
		t.Fatal(err)
	}
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "c6af9ac6-7b61-11e6-9a41-93e812345678"})
	out, err := h.Handle(ctx, raw)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	r, ok := out.(refresh.Report)
	if !ok || r.Changes != 2 || r.Submitted != 4 {
		t.Errorf("Handle = %#v, want a report of 2 changes and 4 URLs submitted", out)
	}
	var urls []string
	for _, c := range emu.Calls() {
		urls = append(urls, c.URLs...)
	}
	want := []string{"https://cdn.example.com/old/page.html", "https://cdn.example.com/old/style.css", "https://static.example.com/old/page.html", "https://static.example.com/old/style.css"}
	if diff := cmp.Diff(want, urls); diff != "" {
		t.Errorf("URLs the CDN API received (-want +got):\n%s", diff)
	}
}
