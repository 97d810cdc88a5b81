package fc_test

import (
	"context"

	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/platform/fc"
	"github.com/cdnrefresh/cdnrefresh/internal/testrun"
)

// panicky is a result whose JSON encoding panics, as a buggy MarshalJSON
// would.
type panicky struct{}

func (panicky) MarshalJSON() ([]byte, error) { panic("marshal bug") }

// nilErr is an error type whose nil pointer panics when asked its message.
type nilErr struct{ msg string }

func (e *nilErr) Error() string { return e.msg }

// TestEveryRequestAnswered serves over a real connection, as FC calls the
// runtime, and checks that a request that goes wrong anywhere — in the
// handler's result, its error, a deliberate abort, or a handler slower
// than its function timeout — still gets an answer, never a connection
// closed without one (EOF at the client).
func TestEveryRequestAnswered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		server     *fc.Server
		control    string
		timeout    string // x-fc-function-timeout
		wantStatus int
		wantFC     string
		wantBody   string // substring
	}{
		{
			name:       "result whose encoding panics",
			server:     &fc.Server{Event: func(context.Context, []byte) (any, error) { return panicky{}, nil }},
			control:    "/invoke",
			wantStatus: http.StatusNotFound, wantFC: "404", wantBody: `"errorType":"Panic"`,
		},
		{
			name:       "error whose message panics",
			server:     &fc.Server{Event: func(context.Context, []byte) (any, error) { return nil, (*nilErr)(nil) }},
			control:    "/invoke",
			wantStatus: http.StatusNotFound, wantFC: "404", wantBody: `"errorType":"Panic"`,
		},
		{
			name: "HTTP handler aborts before answering",
			server: &fc.Server{HTTP: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				panic(http.ErrAbortHandler)
			})},
			control:    "/http-invoke",
			wantStatus: http.StatusInternalServerError, wantFC: "404", wantBody: `"errorType":"Panic"`,
		},
		{
			name: "handler slower than its function timeout",
			server: &fc.Server{Event: func(context.Context, []byte) (any, error) {
				time.Sleep(1500 * time.Millisecond) // ignores its context
				return "late", nil
			}},
			control:    "/invoke",
			timeout:    "1",
			wantStatus: http.StatusOK, wantFC: "200", wantBody: `"late"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			s := tt.server
			s.Out = &testrun.Buffer{}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Serve(ctx, ln) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Serve after cancel = %v", err)
				}
			}()

			req, err := http.NewRequest("POST", "http://"+ln.Addr().String()+"/x", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header = fcRequest("POST", "/x", tt.control, "").Header
			if tt.timeout != "" {
				req.Header.Set("x-fc-function-timeout", tt.timeout)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: no answer: %v", tt.name, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("%s: read answer: %v", tt.name, err)
			}
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("x-fc-status") != tt.wantFC || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("%s: answer = %d (x-fc-status %q) %s, want %d (x-fc-status %s) with %s",
					tt.name, resp.StatusCode, resp.Header.Get("x-fc-status"), body, tt.wantStatus, tt.wantFC, tt.wantBody)
			}
		})
	}
}

// TestPreStopSettles checks the PreStop hook: it lets an invocation in
// flight finish when it can, and otherwise calls Abort before the hook's
// deadline so that the invocation answers in time.
func TestPreStopSettles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		work      time.Duration // how long the invocation runs unless aborted
		hookSecs  string        // x-fc-function-timeout of the hook request
		wantAbort bool
	}{
		{"work ends in time", 200 * time.Millisecond, "5", false},
		{"work cut short", time.Minute, "3", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			aborted := make(chan struct{})
			s := &fc.Server{
				Out:   &testrun.Buffer{},
				Abort: func() { close(aborted) },
				Event: func(ctx context.Context, _ []byte) (any, error) {
					select {
					case <-time.After(tt.work):
						return "done", nil
					case <-aborted:
						return "spilled", nil
					}
				},
				PreStop: func(context.Context) error { return nil },
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { _ = s.Serve(ctx, ln) }()
			base := "http://" + ln.Addr().String()

			answered := make(chan string, 1)
			go func() {
				req, _ := http.NewRequest("POST", base+"/invoke", strings.NewReader("{}"))
				req.Header = fcRequest("POST", "/invoke", "/invoke", "").Header
				req.Header.Set("x-fc-function-timeout", "600")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					answered <- "error: " + err.Error()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				answered <- strings.TrimSpace(string(b))
			}()
			time.Sleep(50 * time.Millisecond) // the invocation is in flight

			start := time.Now()
			req, _ := http.NewRequest("GET", base+"/pre-stop", nil)
			req.Header = fcRequest("GET", "/pre-stop", "", "").Header
			req.Header.Set("x-fc-function-timeout", tt.hookSecs)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("pre-stop: %v", err)
			}
			resp.Body.Close()
			took := time.Since(start)
			secs, _ := time.ParseDuration(tt.hookSecs + "s")
			if resp.StatusCode != 200 || took >= secs {
				t.Errorf("pre-stop answered %d after %v, want 200 within its %v", resp.StatusCode, took, secs)
			}
			want := `"done"`
			if tt.wantAbort {
				want = `"spilled"`
			}
			if got := <-answered; got != want {
				t.Errorf("the invocation in flight answered %s, want %s", got, want)
			}
			select {
			case <-aborted:
				if !tt.wantAbort {
					t.Error("Abort was called though the work ended in time")
				}
			default:
				if tt.wantAbort {
					t.Error("Abort was not called")
				}
			}
		})
	}
}
