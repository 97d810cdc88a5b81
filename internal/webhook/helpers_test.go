package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

const testSecret = "s3cr3t-for-tests-only"

// testNow is the fixed clock of the tests.
var testNow = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

// fakeRunner records the events it is given and answers a report that
// submits every change, unless err is set.
type fakeRunner struct {
	mu     sync.Mutex
	events []refresh.Event
	report func(refresh.Event) refresh.Report
	err    error
}

func (f *fakeRunner) Run(_ context.Context, ev refresh.Event) (refresh.Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, ev)
	if f.report != nil {
		return f.report(ev), f.err
	}
	r := refresh.Report{Changes: len(ev.Changes), Tasks: []string{}}
	for _, c := range ev.Changes {
		r.Add(refresh.Outcome{Job: refresh.Job{URL: c.URL, Key: c.Key, Action: c.Action}, Status: refresh.Submitted, TaskID: "task-1"})
	}
	r.Ignored = len(ev.Ignored)
	r.IgnoredKeys = ev.Ignored
	return r, f.err
}

func (f *fakeRunner) calls() []refresh.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]refresh.Event(nil), f.events...)
}

// newHandler builds a handler on the test clock; edit adjusts the options.
func newHandler(t *testing.T, run Runner, edit func(*Options)) http.Handler {
	t.Helper()
	o := Options{Secret: testSecret, Now: func() time.Time { return testNow }, Domain: "www.example.com"}
	if edit != nil {
		edit(&o)
	}
	h, err := New(o, run)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}

// post sends body to path with headers (Content-Type defaults to JSON).
func post(h http.Handler, path string, body []byte, headers map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		if v == "" {
			r.Header.Del(k)
			continue
		}
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// signGeneric returns the generic scheme's headers for body at time at.
func signGeneric(secret string, at time.Time, body []byte) map[string]string {
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return map[string]string{HeaderTimestamp: ts, HeaderSignature: "sha256=" + hex.EncodeToString(m.Sum(nil))}
}

func macHex(secret string, parts ...[]byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		m.Write(p)
	}
	return hex.EncodeToString(m.Sum(nil))
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeAnswer(t *testing.T, w *httptest.ResponseRecorder) Answer {
	t.Helper()
	var a Answer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatalf("decode answer %q: %v", w.Body.String(), err)
	}
	return a
}

func decodeError(t *testing.T, w *httptest.ResponseRecorder) ErrorBody {
	t.Helper()
	var e ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("decode error body %q: %v", w.Body.String(), err)
	}
	return e
}

// newTextLogger returns an Options.Logger writing text lines to w.
func newTextLogger(w io.Writer) func(context.Context) *slog.Logger {
	l := slog.New(slog.NewTextHandler(w, nil))
	return func(context.Context) *slog.Logger { return l }
}
