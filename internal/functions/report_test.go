package functions_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/app/apptest"
	"github.com/cdnrefresh/cdnrefresh/internal/config"
	cdnemu "github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/functions"
	"github.com/cdnrefresh/cdnrefresh/internal/platform/fc"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// dingTalk is a DingTalk custom robot on 127.0.0.1 that checks the
// signature as DingTalk does and keeps the markdown of each message.
type dingTalk struct {
	secret  string
	errcode int // answered to a well-signed message

	mu       sync.Mutex
	messages []string
	bad      []string // why a request was refused
}

const robotToken = "robot-token-1"

func (d *dingTalk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	refuse := func(why string) {
		d.mu.Lock()
		d.bad = append(d.bad, why)
		d.mu.Unlock()
		fmt.Fprintf(w, `{"errcode":310000,"errmsg":%q}`, why)
	}
	q := r.URL.Query()
	if r.Method != http.MethodPost || r.URL.Path != "/robot/send" || q.Get("access_token") != robotToken {
		refuse("wrong method, path or token")
		return
	}
	ts := q.Get("timestamp")
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.UnixMilli(ms)).Abs() > time.Hour {
		refuse("timestamp " + ts + " not within an hour")
		return
	}
	m := hmac.New(sha256.New, []byte(d.secret))
	m.Write([]byte(ts + "\n" + d.secret))
	if want := base64.StdEncoding.EncodeToString(m.Sum(nil)); !hmac.Equal([]byte(q.Get("sign")), []byte(want)) {
		refuse("sign mismatch")
		return
	}
	var body struct {
		MsgType  string `json:"msgtype"`
		Markdown struct{ Title, Text string }
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.MsgType != "markdown" {
		refuse("body is not a markdown message")
		return
	}
	d.mu.Lock()
	d.messages = append(d.messages, body.Markdown.Text)
	d.mu.Unlock()
	fmt.Fprintf(w, `{"errcode":%d,"errmsg":"ok"}`, d.errcode)
}

func (d *dingTalk) got() (messages, bad []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.messages...), append([]string(nil), d.bad...)
}

const reportConfig = `
rules:
  - bucket: site
    domains: [static.example.com]
spill: {dir: "${SPILL_DIR}"}
notify:
  channels:
    - {type: dingtalk, url: "${DINGTALK_URL}", secret: "${DINGTALK_SECRET}"}
report: {when: problems}
limits: {dir_collapse_threshold: 0} # the drain spends the URL quota
`

// world is the report function served over FC's protocol, with a CDN
// emulator and a DingTalk robot, all on 127.0.0.1.
type world struct {
	emu   *cdnemu.Server
	robot *dingTalk
	app   *app.App
	fc    *httptest.Server

	mu    sync.Mutex
	pages map[string][]string // object type -> DescribeRefreshTasks pages asked for
}

func newWorld(t *testing.T, robotErrcode int) *world {
	t.Helper()
	w := &world{
		emu:   cdnemu.New(cdnemu.Options{URLQuota: 1000}),
		robot: &dingTalk{secret: "SECtest-signing-secret", errcode: robotErrcode},
		pages: map[string][]string{},
	}
	cdn := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err == nil && r.Form.Get("Action") == "DescribeRefreshTasks" {
			w.mu.Lock()
			typ := r.Form.Get("ObjectType")
			w.pages[typ] = append(w.pages[typ], r.Form.Get("PageNumber"))
			w.mu.Unlock()
		}
		w.emu.ServeHTTP(rw, r)
	}))
	t.Cleanup(cdn.Close)
	robot := httptest.NewServer(w.robot)
	t.Cleanup(robot.Close)

	env := map[string]string{
		config.EnvCDNEndpoint: cdn.URL,
		"SPILL_DIR":           t.TempDir(),
		"DINGTALK_URL":        robot.URL + "/robot/send?access_token=" + robotToken,
		"DINGTALK_SECRET":     w.robot.secret,
	}
	cfg, err := config.Parse([]byte(reportConfig), func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config.Parse: %v", err)
	}
	w.app, err = app.New(context.Background(), cfg, apptest.NewClock(time.Now()).Options())
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	t.Cleanup(func() { w.app.Close() })
	h, err := functions.Report(w.app)
	if err != nil {
		t.Fatalf("the report function's handlers: %v", err)
	}
	discard := slog.New(slog.DiscardHandler)
	w.fc = httptest.NewServer(&fc.Server{Event: h.Event, Logger: discard, Out: io.Discard})
	t.Cleanup(w.fc.Close)
	return w
}

// invoke posts payload to the function as FC does for a timer trigger and
// returns the x-fc-status header and the body.
func (w *world) invoke(t *testing.T, payload []byte) (string, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, w.fc.URL+"/invoke", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("x-fc-control-path", "/invoke")
	req.Header.Set("x-fc-request-id", "1-6640f2e0-5d6ad8a1a0c8e7b8f9d0c1e2")
	req.Header.Set("x-fc-function-name", "cdnrefresh-report")
	req.Header.Set("x-fc-function-timeout", "600")
	req.Header.Set("x-fc-access-key-id", cdnemu.AccessKeyID)
	req.Header.Set("x-fc-access-key-secret", cdnemu.AccessKeySecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Get("x-fc-status"), body
}

// prepare gives the emulator 250 failed file tasks and 3 failed prefetch
// tasks, and the spill 900 refresh jobs: draining them leaves 100 of the
// 1,000 URLs of today's quota.
func (w *world) prepare(t *testing.T) {
	t.Helper()
	now := time.Now()
	for i := range 250 {
		id := w.emu.AddTask(cdnemu.Task{ObjectPath: fmt.Sprintf("https://static.example.com/f/%03d.txt", i), Created: now.Add(-time.Hour)})
		w.emu.FailTask(id, "OriginReturnStatusCode 5XX")
	}
	for i := range 3 {
		id := w.emu.AddTask(cdnemu.Task{ObjectPath: fmt.Sprintf("https://static.example.com/p/%d.jpg", i), ObjectType: "preload", Created: now.Add(-2 * time.Hour)})
		w.emu.FailTask(id, "OriginTimeout")
	}
	jobs := make([]refresh.Pending, 900)
	for i := range jobs {
		jobs[i] = refresh.Pending{
			Job:       refresh.Job{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.File, URL: fmt.Sprintf("https://static.example.com/s/%03d.css", i)},
			Reason:    "QuotaExceeded.Refresh",
			FirstSeen: now.Add(-10 * time.Hour),
		}
	}
	if err := w.app.Spill.Spill(context.Background(), jobs); err != nil {
		t.Fatal(err)
	}
}

// answer is the part of the function's answer the tests check.
type answer struct {
	Tasks  []string `json:"tasks"`
	Replay *struct {
		Submitted, Spilled, Rejected, Kept int
	} `json:"replay"`
	Problems       []string `json:"problems"`
	FailedTotal    int      `json:"failed_total"`
	Sent           []string `json:"sent"`
	NotifyFailures []string `json:"notify_failures"`
}

func decode(t *testing.T, body []byte) answer {
	t.Helper()
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("answer %s: %v", body, err)
	}
	return a
}

const lowQuota = "CDN URL refresh quota: 100 of 1000 left (10%) is under 20%"

func TestTimerDrainsAndReports(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	w.prepare(t)
	event, err := os.ReadFile("../../events/timer.json")
	if err != nil {
		t.Fatal(err)
	}
	status, body := w.invoke(t, event)
	if status != "200" {
		t.Fatalf("x-fc-status = %q, want 200; body %s", status, body)
	}

	got := decode(t, body)
	if got.Replay == nil || got.Replay.Submitted != 900 || got.Replay.Spilled != 0 || got.Replay.Kept != 0 {
		t.Errorf("answer replay = %+v, want 900 submitted, none spilled or kept", got.Replay)
	}
	wantProblems := []string{lowQuota, "253 failed tasks"}
	if diff := cmp.Diff(wantProblems, got.Problems); diff != "" {
		t.Errorf("answer problems mismatch (-want +got):\n%s", diff)
	}
	if got.FailedTotal != 253 || !cmp.Equal(got.Sent, []string{"dingtalk"}) || len(got.NotifyFailures) != 0 {
		t.Errorf("answer failed_total %d, sent %q, notify_failures %q; want 253, [dingtalk], none", got.FailedTotal, got.Sent, got.NotifyFailures)
	}

	messages, bad := w.robot.got()
	if len(bad) > 0 || len(messages) != 1 {
		t.Fatalf("robot got %d messages, refused %q; want one message", len(messages), bad)
	}
	for _, want := range []string{"253 failed tasks", lowQuota, "Failed tasks: 253", "DescribePreloadDetailById is not open to this account"} {
		if !strings.Contains(messages[0], want) {
			t.Errorf("message does not mention %q:\n%s", want, messages[0])
		}
	}

	quotaCalls := 0
	for _, c := range w.emu.Calls() {
		if c.Action == "DescribeRefreshQuota" {
			quotaCalls++
		}
	}
	if quotaCalls != 2 {
		t.Errorf("DescribeRefreshQuota calls = %d, want 2 (the drain's budget, the report)", quotaCalls)
	}
	wantPages := map[string][]string{"file": {"1", "2", "3"}, "directory": {"1"}, "regex": {"1"}, "preload": {"1"}}
	w.mu.Lock()
	defer w.mu.Unlock()
	if diff := cmp.Diff(wantPages, w.pages); diff != "" {
		t.Errorf("DescribeRefreshTasks pages mismatch (-want +got):\n%s", diff)
	}
}

func TestTimer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		event        string
		robotErrcode int
		breakSpill   bool
		wantStatus   string
		wantMessages int
		wantAnswer   func(answer) string // says what is wrong, or ""
		// wantErrorType is the errorType of a failed invocation's answer.
		wantErrorType string
	}{
		{
			name:         "drain only sends nothing",
			event:        `{"triggerTime":"2024-05-11T02:10:00Z","triggerName":"drain","payload":"{\"tasks\":[\"drain\"]}"}`,
			wantStatus:   "200",
			wantMessages: 0,
			wantAnswer: func(a answer) string {
				if a.Replay == nil || a.Replay.Submitted != 900 || len(a.Problems) != 0 || len(a.Sent) != 0 {
					return "want 900 submitted, no problems, nothing sent"
				}
				return ""
			},
		},
		{
			name:         "report only leaves the spill alone",
			event:        `{"triggerTime":"2024-05-11T09:00:00Z","triggerName":"daily","payload":"report"}`,
			wantStatus:   "200",
			wantMessages: 1,
			wantAnswer: func(a answer) string {
				if a.Replay != nil || len(a.Sent) != 1 || !strings.Contains(strings.Join(a.Problems, "\n"), "900 changes waiting in spill") {
					return "want no replay, the backlog among the problems, one channel sent"
				}
				return ""
			},
		},
		{
			name:         "a robot's refusal does not fail the invocation",
			event:        `{"triggerTime":"2024-05-11T09:00:00Z","triggerName":"daily","payload":""}`,
			robotErrcode: 310000,
			wantStatus:   "200",
			wantMessages: 1,
			wantAnswer: func(a answer) string {
				if len(a.Sent) != 0 || len(a.NotifyFailures) != 1 || !strings.Contains(a.NotifyFailures[0], "310000") {
					return "want nothing sent and the robot's errcode among notify_failures"
				}
				if strings.Contains(a.NotifyFailures[0], robotToken) {
					return "notify_failures show the robot's token"
				}
				return ""
			},
		},
		{
			name:          "a broken spill store fails the invocation after reporting it",
			event:         `{"triggerTime":"2024-05-11T09:00:00Z","triggerName":"daily","payload":"both"}`,
			breakSpill:    true,
			wantStatus:    "404",
			wantMessages:  1,
			wantErrorType: "SpillError",
		},
		{
			name:          "an unknown task fails the invocation",
			event:         `{"triggerTime":"2024-05-11T09:00:00Z","triggerName":"daily","payload":"{\"tasks\":[\"purge\"]}"}`,
			wantStatus:    "404",
			wantErrorType: "DecodeError",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, tt.robotErrcode)
			w.prepare(t)
			if tt.breakSpill {
				if err := os.RemoveAll(w.app.Config.Spill.Dir); err != nil {
					t.Fatal(err)
				}
			}
			status, body := w.invoke(t, []byte(tt.event))
			if status != tt.wantStatus {
				t.Fatalf("x-fc-status = %q, want %q; body %s", status, tt.wantStatus, body)
			}
			if messages, _ := w.robot.got(); len(messages) != tt.wantMessages {
				t.Errorf("robot got %d messages, want %d", len(messages), tt.wantMessages)
			}
			if tt.wantAnswer != nil {
				if why := tt.wantAnswer(decode(t, body)); why != "" {
					t.Errorf("answer %s: %s", body, why)
				}
			}
			if tt.wantErrorType != "" {
				var e struct {
					Type string `json:"errorType"`
				}
				if err := json.Unmarshal(body, &e); err != nil || e.Type != tt.wantErrorType {
					t.Errorf("answer %s: errorType %q, want %q", body, e.Type, tt.wantErrorType)
				}
			}
		})
	}
}
