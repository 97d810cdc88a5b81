package fc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/platform/fc"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/testrun"
)

const (
	requestID = "1-67adb489-15d49184-2d4fa002fa2b"
	keyID     = "STS.NUx8testkeyid"
	keySecret = "s3cr3t-Acc3ss-K3y-S3cr3t-VALUE"
	token     = "CAIS-security-token-VALUE-0123456789"
)

var arrival = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

// fcRequest builds a request the way FC sends it to a custom runtime: the
// common x-fc-* headers (credentials included) plus the control path.
func fcRequest(method, target, control, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for k, v := range map[string]string{
		"Content-Type":                             "application/octet-stream",
		"x-fc-request-id":                          requestID,
		"x-fc-access-key-id":                       keyID,
		"x-fc-access-key-secret":                   keySecret,
		"x-fc-security-token":                      token,
		"x-fc-function-name":                       "oss-refresh",
		"x-fc-function-handler":                    "index.handler",
		"x-fc-function-memory":                     "128",
		"x-fc-function-timeout":                    "3",
		"x-fc-function-initializer":                "true",
		"x-fc-initialization-timeout":              "3",
		"x-fc-instance-lifecycle-pre-stop-handler": "true",
		"x-fc-region":                              "cn-hangzhou",
		"x-fc-account-id":                          "1234567890",
		"x-fc-qualifier":                           "LATEST",
		"x-fc-version-id":                          "",
		"x-fc-retry-count":                         "0",
	} {
		r.Header.Set(k, v)
	}
	if control != "" {
		r.Header.Set("x-fc-control-path", control)
	}
	return r
}

// newServer returns a server whose logs go to the returned buffer.
func newServer(s *fc.Server) (*fc.Server, *testrun.Buffer) {
	out := &testrun.Buffer{}
	s.Out = out
	s.Now = func() time.Time { return arrival }
	return s, out
}

// logs splits server output into plain lines and JSON records.
type logs struct {
	plain   []string
	records []map[string]any
}

func parseLogs(t *testing.T, out string) logs {
	t.Helper()
	var l logs
	for line := range strings.Lines(out) {
		line = strings.TrimSuffix(line, "\n")
		if !strings.HasPrefix(line, "{") {
			l.plain = append(l.plain, line)
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		l.records = append(l.records, rec)
	}
	return l
}

// checkNoSecrets fails if a credential secret appears in text.
func checkNoSecrets(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range []string{keySecret, token} {
		if strings.Contains(text, s) {
			t.Errorf("%s contains the secret %q:\n%s", what, s, text)
		}
	}
}

func decodeBody(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("response body %q is not a JSON object: %v", rec.Body.String(), err)
	}
	return got
}

func counts(m map[string]int) map[string]int { return m }

type failure struct{ msg string }

func (f *failure) Error() string { return f.msg }

func TestInvoke(t *testing.T) {
	t.Parallel()
	const payload = `{"events":[{"eventName":"ObjectCreated:PutObject"}]}`
	tests := []struct {
		name       string
		handler    fc.EventHandler
		body       string
		maxBody    int64
		wantStatus int
		wantFC     string
		wantBody   map[string]any
		wantLog    map[string]any // the one JSON record expected, if any
	}{
		{
			name: "success",
			handler: func(ctx context.Context, p []byte) (any, error) {
				if string(p) != payload {
					return nil, fmt.Errorf("payload = %q, want %q", p, payload)
				}
				return map[string]any{"submitted": 2, "url": "https://a.example.com/x?a=1&b=2"}, nil
			},
			body:       payload,
			wantStatus: 200,
			wantFC:     "200",
			wantBody:   map[string]any{"submitted": 2.0, "url": "https://a.example.com/x?a=1&b=2"},
		},
		{
			name: "handler error",
			handler: func(context.Context, []byte) (any, error) {
				return nil, &failure{"cdn throttled"}
			},
			body:       payload,
			wantStatus: 404,
			wantFC:     "404",
			wantBody:   map[string]any{"errorMessage": "cdn throttled", "errorType": "InvocationError"},
			wantLog:    map[string]any{"level": "ERROR", "msg": "invocation failed", "request_id": requestID, "error": "cdn throttled", "error_type": "InvocationError"},
		},
		{
			name: "typed error, wrapped",
			handler: func(context.Context, []byte) (any, error) {
				return nil, fmt.Errorf("refresh: spill 3 jobs: %w", refresh.Typed(refresh.ErrorSpill, errors.New("disk full")))
			},
			body:       payload,
			wantStatus: 404,
			wantFC:     "404",
			wantBody:   map[string]any{"errorMessage": "refresh: spill 3 jobs: disk full", "errorType": "SpillError"},
			wantLog:    map[string]any{"level": "ERROR", "msg": "invocation failed", "request_id": requestID, "error": "refresh: spill 3 jobs: disk full", "error_type": "SpillError"},
		},
		{
			name: "out of time",
			handler: func(context.Context, []byte) (any, error) {
				return nil, fmt.Errorf("window: wait for flush: %w", context.DeadlineExceeded)
			},
			body:       payload,
			wantStatus: 404,
			wantFC:     "404",
			wantBody:   map[string]any{"errorMessage": "window: wait for flush: context deadline exceeded", "errorType": "TimeoutError"},
			wantLog:    map[string]any{"level": "ERROR", "msg": "invocation failed", "request_id": requestID, "error": "window: wait for flush: context deadline exceeded", "error_type": "TimeoutError"},
		},
		{
			name: "error naming the secret is redacted",
			handler: func(context.Context, []byte) (any, error) {
				return nil, fmt.Errorf("sign with %s/%s", keySecret, token)
			},
			body:       payload,
			wantStatus: 404,
			wantFC:     "404",
			wantBody:   map[string]any{"errorMessage": "sign with [redacted]/[redacted]", "errorType": "InvocationError"},
			wantLog:    map[string]any{"level": "ERROR", "msg": "invocation failed", "request_id": requestID, "error": "sign with [redacted]/[redacted]", "error_type": "InvocationError"},
		},
		{
			name: "panic is recovered",
			handler: func(context.Context, []byte) (any, error) {
				counts(nil)["x"]++ // a runtime error, as a real bug would be
				return nil, nil
			},
			body:       payload,
			wantStatus: 404,
			wantFC:     "404",
			wantBody:   map[string]any{"errorMessage": "panic: assignment to entry in nil map", "errorType": "Panic"},
			wantLog:    map[string]any{"level": "ERROR", "msg": "invocation failed", "request_id": requestID, "error": "panic: assignment to entry in nil map", "error_type": "Panic"},
		},
		{
			name: "result not encodable",
			handler: func(context.Context, []byte) (any, error) {
				return map[string]any{"c": make(chan int)}, nil
			},
			body:       payload,
			wantStatus: 404,
			wantFC:     "404",
			wantBody:   map[string]any{"errorMessage": "encode result as JSON: json: unsupported type: chan int", "errorType": "EncodeError"},
			wantLog:    map[string]any{"level": "ERROR", "msg": "invocation failed", "request_id": requestID, "error": "encode result as JSON: json: unsupported type: chan int", "error_type": "EncodeError"},
		},
		{
			name:       "body over the cap",
			handler:    func(context.Context, []byte) (any, error) { return "unreachable", nil },
			body:       strings.Repeat("x", 65),
			maxBody:    64,
			wantStatus: 413,
			wantFC:     "404",
			wantBody:   map[string]any{"errorMessage": "request body exceeds 64 bytes", "errorType": "RequestTooLarge"},
			wantLog:    map[string]any{"level": "ERROR", "msg": "invocation refused", "request_id": requestID, "error": "request body exceeds 64 bytes", "error_type": "RequestTooLarge"},
		},
		{
			name:       "body at the cap",
			handler:    func(_ context.Context, p []byte) (any, error) { return len(p), nil },
			body:       strings.Repeat("x", 64),
			maxBody:    64,
			wantStatus: 200,
			wantFC:     "200",
		},
		{
			name:       "no event handler",
			body:       payload,
			wantStatus: 404,
			wantFC:     "404",
			wantBody:   map[string]any{"errorMessage": "this function serves no event invocations", "errorType": "NoEventHandler"},
			wantLog:    map[string]any{"level": "ERROR", "msg": "invocation refused", "request_id": requestID, "error": "this function serves no event invocations", "error_type": "NoEventHandler"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, out := newServer(&fc.Server{Event: tt.handler})
			if tt.maxBody > 0 {
				s.SetMaxBody(tt.maxBody)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, fcRequest("POST", "/invoke", "/invoke", tt.body))

			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if got := rec.Header().Get("x-fc-status"); got != tt.wantFC {
				t.Errorf("x-fc-status = %q, want %q", got, tt.wantFC)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			if tt.wantBody != nil {
				if diff := cmp.Diff(tt.wantBody, decodeBody(t, rec)); diff != "" {
					t.Errorf("response body mismatch (-want +got):\n%s", diff)
				}
			}
			checkNoSecrets(t, "response", rec.Body.String())

			l := parseLogs(t, out.String())
			wantPlain := []string{"FC Invoke Start RequestId: " + requestID, "FC Invoke End RequestId: " + requestID}
			if diff := cmp.Diff(wantPlain, l.plain); diff != "" {
				t.Errorf("plain log lines mismatch (-want +got):\n%s", diff)
			}
			var wantRecords []map[string]any
			if tt.wantLog != nil {
				wantRecords = []map[string]any{tt.wantLog}
			}
			dropVolatile := cmp.Transformer("dropVolatile", func(m map[string]any) map[string]any {
				c := make(map[string]any, len(m))
				for k, v := range m {
					if k != "time" && k != "stack" {
						c[k] = v
					}
				}
				return c
			})
			if diff := cmp.Diff(wantRecords, l.records, dropVolatile); diff != "" {
				t.Errorf("JSON log records mismatch (-want +got):\n%s", diff)
			}
			checkNoSecrets(t, "log output", out.String())
		})
	}
}

func TestInvokePanicLogsStack(t *testing.T) {
	t.Parallel()
	s, out := newServer(&fc.Server{Event: func(context.Context, []byte) (any, error) { panic("boom") }})
	s.ServeHTTP(httptest.NewRecorder(), fcRequest("POST", "/invoke", "/invoke", "{}"))
	l := parseLogs(t, out.String())
	if len(l.records) != 1 {
		t.Fatalf("got %d log records, want 1:\n%s", len(l.records), out)
	}
	stack, _ := l.records[0]["stack"].(string)
	if !strings.Contains(stack, "TestInvokePanicLogsStack") {
		t.Errorf("logged stack does not name the panicking function:\n%s", stack)
	}

	// The server keeps serving after a panic.
	s.Event = func(context.Context, []byte) (any, error) { return "ok", nil }
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, fcRequest("POST", "/invoke", "/invoke", "{}"))
	if rec.Code != 200 || rec.Body.String() != "\"ok\"\n" {
		t.Errorf("after a panic: status %d body %q, want 200 %q", rec.Code, rec.Body, "\"ok\"\n")
	}
}

// seen is what a handler found in its context.
type seen struct {
	Invocation  fc.Invocation
	HasInv      bool
	Credentials refresh.Credentials
	HasCreds    bool
	Deadline    time.Time
	HasDeadline bool
}

func observe(ctx context.Context) seen {
	var s seen
	s.Invocation, s.HasInv = fc.FromContext(ctx)
	s.Credentials, s.HasCreds = refresh.CredentialsFrom(ctx)
	s.Deadline, s.HasDeadline = ctx.Deadline()
	return s
}

func TestInvokeContext(t *testing.T) {
	t.Parallel()
	creds := refresh.Credentials{AccessKeyID: keyID, AccessKeySecret: keySecret, SecurityToken: token}
	credsCmp := cmp.Comparer(func(a, b refresh.Credentials) bool { return a == b })
	tests := []struct {
		name    string
		headers map[string]string
		want    seen
	}{
		{
			name: "as FC sends it",
			want: seen{
				Invocation:  fc.Invocation{RequestID: requestID, FunctionName: "oss-refresh", Deadline: arrival.Add(3 * time.Second)},
				HasInv:      true,
				Credentials: creds, HasCreds: true,
				Deadline: arrival.Add(3 * time.Second), HasDeadline: true,
			},
		},
		{
			name:    "retry count",
			headers: map[string]string{"x-fc-retry-count": "2", "x-fc-function-timeout": "60"},
			want: seen{
				Invocation:  fc.Invocation{RequestID: requestID, RetryCount: 2, FunctionName: "oss-refresh", Deadline: arrival.Add(time.Minute)},
				HasInv:      true,
				Credentials: creds, HasCreds: true,
				Deadline: arrival.Add(time.Minute), HasDeadline: true,
			},
		},
		{
			name:    "no role: empty credential headers",
			headers: map[string]string{"x-fc-access-key-id": "", "x-fc-access-key-secret": "", "x-fc-security-token": ""},
			want: seen{
				Invocation: fc.Invocation{RequestID: requestID, FunctionName: "oss-refresh", Deadline: arrival.Add(3 * time.Second)},
				HasInv:     true,
				Deadline:   arrival.Add(3 * time.Second), HasDeadline: true,
			},
		},
		{
			name:    "timeout absent, bad retry count",
			headers: map[string]string{"x-fc-function-timeout": "", "x-fc-retry-count": "x"},
			want: seen{
				Invocation:  fc.Invocation{RequestID: requestID, FunctionName: "oss-refresh"},
				HasInv:      true,
				Credentials: creds, HasCreds: true,
			},
		},
		{
			name:    "timeout not a number",
			headers: map[string]string{"x-fc-function-timeout": "3s"},
			want: seen{
				Invocation:  fc.Invocation{RequestID: requestID, FunctionName: "oss-refresh"},
				HasInv:      true,
				Credentials: creds, HasCreds: true,
			},
		},
		{
			name:    "timeout zero",
			headers: map[string]string{"x-fc-function-timeout": "0"},
			want: seen{
				Invocation:  fc.Invocation{RequestID: requestID, FunctionName: "oss-refresh"},
				HasInv:      true,
				Credentials: creds, HasCreds: true,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got seen
			s, _ := newServer(&fc.Server{Event: func(ctx context.Context, _ []byte) (any, error) {
				got = observe(ctx)
				return nil, nil
			}})
			r := fcRequest("POST", "/invoke", "/invoke", "{}")
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, r)
			if rec.Code != 200 {
				t.Fatalf("status = %d, want 200 (body %s)", rec.Code, rec.Body)
			}
			if diff := cmp.Diff(tt.want, got, credsCmp); diff != "" {
				t.Errorf("context mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoggerCarriesRequestID(t *testing.T) {
	t.Parallel()
	s, out := newServer(&fc.Server{Event: func(ctx context.Context, _ []byte) (any, error) {
		creds, _ := refresh.CredentialsFrom(ctx)
		fc.Logger(ctx).Info("working", "creds", creds, "creds_ptr", &creds)
		return nil, nil
	}})
	s.ServeHTTP(httptest.NewRecorder(), fcRequest("POST", "/invoke", "/invoke", "{}"))
	l := parseLogs(t, out.String())
	want := []map[string]any{{"level": "INFO", "msg": "working", "request_id": requestID, "creds": "Credentials{STS.…}", "creds_ptr": "Credentials{STS.…}"}}
	ignoreTime := cmp.Transformer("ignoreTime", func(m map[string]any) map[string]any {
		c := make(map[string]any, len(m))
		for k, v := range m {
			if k != "time" {
				c[k] = v
			}
		}
		return c
	})
	if diff := cmp.Diff(want, l.records, ignoreTime); diff != "" {
		t.Errorf("log records mismatch (-want +got):\n%s", diff)
	}
	checkNoSecrets(t, "log output", out.String())

	if got := fc.Logger(context.Background()); got != slog.Default() {
		t.Errorf("Logger(outside a request) = %p, want slog.Default()", got)
	}
}

func TestInitialize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		init       func(context.Context) error
		wantStatus int
		wantCalls  int
		wantBody   map[string]any
	}{
		{"no initializer", nil, 200, 0, nil},
		{"ok", func(context.Context) error { return nil }, 200, 1, nil},
		{"error", func(context.Context) error { return errors.New("config: no rules") }, 404, 1,
			map[string]any{"errorMessage": "config: no rules", "errorType": "InvocationError"}},
		{"panic", func(context.Context) error { panic("bad") }, 404, 1,
			map[string]any{"errorMessage": "panic: bad", "errorType": "Panic"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			var init func(context.Context) error
			if tt.init != nil {
				init = func(ctx context.Context) error {
					calls++
					if _, ok := refresh.CredentialsFrom(ctx); !ok {
						return errors.New("no credentials in the initializer's context")
					}
					return tt.init(ctx)
				}
			}
			s, out := newServer(&fc.Server{Initialize: init})
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, fcRequest("POST", "/initialize", "/initialize", ""))
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if calls != tt.wantCalls {
				t.Errorf("Initialize called %d times, want %d", calls, tt.wantCalls)
			}
			if tt.wantBody != nil {
				if diff := cmp.Diff(tt.wantBody, decodeBody(t, rec)); diff != "" {
					t.Errorf("response body mismatch (-want +got):\n%s", diff)
				}
			}
			l := parseLogs(t, out.String())
			wantPlain := []string{"FC Initialize Start RequestId: " + requestID, "FC Initialize End RequestId: " + requestID}
			if diff := cmp.Diff(wantPlain, l.plain); diff != "" {
				t.Errorf("plain log lines mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPreStop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		control    string
		hook       error
		wantStatus int
		wantCalls  int
	}{
		{"no control path", "", nil, 200, 1},
		{"pre-stop control path", "/pre-stop", nil, 200, 1},
		{"hook fails", "", errors.New("flush spill"), 404, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			s, out := newServer(&fc.Server{PreStop: func(context.Context) error { calls++; return tt.hook }})
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, fcRequest("GET", "/pre-stop", tt.control, ""))
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if calls != tt.wantCalls {
				t.Errorf("PreStop called %d times, want %d", calls, tt.wantCalls)
			}
			l := parseLogs(t, out.String())
			wantPlain := []string{"FC PreStop Start RequestId: " + requestID, "FC PreStop End RequestId: " + requestID}
			if diff := cmp.Diff(wantPlain, l.plain); diff != "" {
				t.Errorf("plain log lines mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// echo answers with what it received, all request headers included.
type echo struct{}

type echoed struct {
	Method, Path, RawQuery, Body string
	Headers                      map[string]string
	Creds                        bool
	RequestID                    string
}

func (echo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	e := echoed{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Body: string(body), Headers: map[string]string{}}
	for k := range r.Header {
		e.Headers[k] = r.Header.Get(k)
		w.Header().Set(k, r.Header.Get(k)) // a careless handler echoing headers
	}
	_, e.Creds = refresh.CredentialsFrom(r.Context())
	inv, _ := fc.FromContext(r.Context())
	e.RequestID = inv.RequestID
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(e)
}

func TestHTTPInvoke(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, target, body string
	}{
		{"webhook POST", "POST", "/hooks/github?delivery=abc&x=1%202", `{"ref":"refs/heads/main"}`},
		{"client asks for /invoke", "GET", "/invoke?q=1", ""},
		{"client asks for /pre-stop", "GET", "/pre-stop", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, out := newServer(&fc.Server{
				HTTP:    echo{},
				Event:   func(context.Context, []byte) (any, error) { return nil, errors.New("event handler called") },
				PreStop: func(context.Context) error { return errors.New("pre-stop hook called") },
			})
			r := fcRequest(tt.method, tt.target, "/http-invoke", tt.body)
			r.Header.Set("X-Hub-Signature-256", "sha256=abc")
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, r)

			if rec.Code != http.StatusAccepted {
				t.Fatalf("status = %d, want %d (body %s)", rec.Code, http.StatusAccepted, rec.Body)
			}
			var got echoed
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("decode echo %q: %v", rec.Body, err)
			}
			path, query, _ := strings.Cut(tt.target, "?")
			want := echoed{Method: tt.method, Path: path, RawQuery: query, Body: tt.body, Creds: true, RequestID: requestID}
			if diff := cmp.Diff(want, got, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Headers" }, cmp.Ignore())); diff != "" {
				t.Errorf("request seen by the handler mismatch (-want +got):\n%s", diff)
			}
			if got.Headers["X-Hub-Signature-256"] != "sha256=abc" || got.Headers["X-Fc-Request-Id"] != requestID {
				t.Errorf("handler headers %v lack the client's or FC's non-secret headers", got.Headers)
			}
			for _, h := range []string{"X-Fc-Access-Key-Id", "X-Fc-Access-Key-Secret", "X-Fc-Security-Token"} {
				if v, ok := got.Headers[h]; ok {
					t.Errorf("handler saw header %s = %q, want it removed", h, v)
				}
			}
			for k := range rec.Header() {
				if strings.HasPrefix(strings.ToLower(k), "x-fc-") {
					t.Errorf("response header %s = %q, want no x-fc-* headers from the handler", k, rec.Header().Get(k))
				}
			}
			checkNoSecrets(t, "response", rec.Body.String())
			l := parseLogs(t, out.String())
			wantPlain := []string{"FC Invoke Start RequestId: " + requestID, "FC Invoke End RequestId: " + requestID}
			if diff := cmp.Diff(wantPlain, l.plain); diff != "" {
				t.Errorf("plain log lines mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHTTPInvokeFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		handler    http.Handler
		wantStatus int
		wantFC     string
		wantBody   string
	}{
		{
			name: "panic before writing",
			handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("X-Partial", "1")
				panic("handler bug")
			}),
			wantStatus: 500,
			wantFC:     "404",
			wantBody:   `{"errorMessage":"internal error","errorType":"Panic"}` + "\n",
		},
		{
			name: "panic after writing",
			handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, "partial")
				panic("handler bug")
			}),
			wantStatus: 200,
			wantBody:   "partial",
		},
		{
			name:       "no HTTP handler",
			wantStatus: 404,
			wantBody:   `{"errorMessage":"this function serves no HTTP requests","errorType":"NoHTTPHandler"}` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, out := newServer(&fc.Server{HTTP: tt.handler})
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, fcRequest("GET", "/x", "/http-invoke", ""))
			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody {
				t.Errorf("response = %d %q, want %d %q", rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
			}
			if got := rec.Header().Get("x-fc-status"); got != tt.wantFC {
				t.Errorf("x-fc-status = %q, want %q", got, tt.wantFC)
			}
			if rec.Header().Get("X-Partial") != "" {
				t.Errorf("response kept header X-Partial set before the panic")
			}
			if tt.handler != nil && !strings.Contains(out.String(), `"msg":"HTTP handler panicked"`) {
				t.Errorf("log lacks the panic record:\n%s", out)
			}
		})
	}
}

func TestUnknownControlPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, target, control, wantMsg string
	}{
		{"no control path", "POST", "/invoke", "", `unknown x-fc-control-path "" for POST /invoke`},
		{"unknown control path", "POST", "/invoke", "/bogus", `unknown x-fc-control-path "/bogus" for POST /invoke`},
		{"pre-freeze", "GET", "/pre-freeze", "", `unknown x-fc-control-path "" for GET /pre-freeze`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			s, _ := newServer(&fc.Server{Event: func(context.Context, []byte) (any, error) { called = true; return nil, nil }})
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, fcRequest(tt.method, tt.target, tt.control, "{}"))
			if rec.Code != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", rec.Code)
			}
			want := map[string]any{"errorMessage": tt.wantMsg, "errorType": "UnknownControlPath"}
			if diff := cmp.Diff(want, decodeBody(t, rec)); diff != "" {
				t.Errorf("response body mismatch (-want +got):\n%s", diff)
			}
			if called {
				t.Error("event handler called for an unknown control path")
			}
		})
	}
}

func TestConcurrentInvocations(t *testing.T) {
	t.Parallel()
	s, out := newServer(&fc.Server{Event: func(ctx context.Context, p []byte) (any, error) {
		fc.Logger(ctx).Info("got", "payload", string(p))
		inv, _ := fc.FromContext(ctx)
		return inv.RequestID, nil
	}})
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := fcRequest("POST", "/invoke", "/invoke", "{}")
			id := fmt.Sprintf("req-%d", i)
			r.Header.Set("x-fc-request-id", id)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, r)
			if want := fmt.Sprintf("%q\n", id); rec.Body.String() != want {
				t.Errorf("request %s answered %q, want %q", id, rec.Body, want)
			}
		})
	}
	wg.Wait()
	l := parseLogs(t, out.String())
	if len(l.plain) != 2*n || len(l.records) != n {
		t.Errorf("got %d plain lines and %d records, want %d and %d", len(l.plain), len(l.records), 2*n, n)
	}
}

func TestServe(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := newServer(&fc.Server{Event: func(_ context.Context, p []byte) (any, error) { return len(p), nil }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()

	url := "http://" + ln.Addr().String() + "/invoke"
	for i := range 2 { // the second request reuses the kept-alive connection
		req, err := http.NewRequest("POST", url, strings.NewReader("abc"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = fcRequest("POST", "/invoke", "/invoke", "").Header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "3\n" {
			t.Errorf("request %d: %d %q, want 200 %q", i, resp.StatusCode, body, "3\n")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel = %v, want nil", err)
	}
}

func TestAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"default", nil, "0.0.0.0:9000"},
		{"documented variable", map[string]string{"FC_CUSTOM_LISTEN_PORT": "8080", "FC_SERVER_PORT": "7000"}, "0.0.0.0:8080"},
		{"community variable", map[string]string{"FC_SERVER_PORT": "7000"}, "0.0.0.0:7000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fc.Addr(func(k string) string { return tt.env[k] }); got != tt.want {
				t.Errorf("Addr(%v) = %q, want %q", tt.env, got, tt.want)
			}
		})
	}
}
