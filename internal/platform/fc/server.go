package fc

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// EventHandler serves one event invocation. The payload is the request body
// exactly as FC sent it: an OSS or timer trigger event, or an InvokeFunction
// payload. The result is encoded as JSON into the response body; an error
// marks the invocation failed, so that FC retries an asynchronous one.
type EventHandler func(ctx context.Context, payload []byte) (any, error)

// Server is the custom runtime's HTTP handler. Every field is optional: a
// nil hook succeeds, and a nil Event or HTTP handler answers that the
// function does not serve that kind of request. Set the fields before the
// first request; a Server is then safe for concurrent use (FC's instance
// concurrency sends several requests at once).
type Server struct {
	// Event serves event invocations (x-fc-control-path: /invoke).
	Event EventHandler
	// HTTP serves HTTP-trigger requests (x-fc-control-path: /http-invoke)
	// with the client's method, path, query, headers and body; FC's
	// credential headers are removed first.
	HTTP http.Handler
	// Initialize runs when FC calls the Initializer, once per instance.
	Initialize func(ctx context.Context) error
	// PreStop runs when FC calls the PreStop hook before it stops the
	// instance, after the invocations in flight have finished or been
	// cut short (see Abort).
	PreStop func(ctx context.Context) error
	// Abort cuts the work of the invocations in flight short when the
	// instance must stop before it ends: the work must then record what
	// it has not done (the pipeline spills it) and let its invocation
	// answer. The server calls it at most once, shortly before the stop
	// deadline: SIGTERM's grace, or the PreStop hook's timeout.
	Abort func()
	// StopGrace is how long the invocations in flight have after SIGTERM
	// or the PreStop hook (default DefaultStopGrace, or
	// CDNREFRESH_STOP_GRACE through ListenAndServe).
	StopGrace time.Duration
	// Logger receives the server's structured logs; each request's logger
	// (see Logger) adds its request_id. Default: JSON lines on Out, which
	// show refresh.Credentials values by their String method only.
	Logger *slog.Logger
	// Out receives the plain "FC Invoke Start RequestId: …" lines by which
	// FC's console groups logs by request. Default: os.Stdout.
	Out io.Writer
	// Now tells the arrival time of a request, from which its deadline is
	// computed. Default: time.Now.
	Now func() time.Time

	once    sync.Once
	out     io.Writer // Out, serialised
	log     *slog.Logger
	maxBody int64

	// base is the context of every request served by serve; ending it
	// (endRequests) ends theirs.
	base        context.Context
	endRequests context.CancelFunc
	active      atomic.Int64 // invocations in flight
	abortOnce   sync.Once
}

func (s *Server) init() {
	out := s.Out
	if out == nil {
		out = os.Stdout
	}
	s.out = &lockedWriter{w: out}
	s.log = s.Logger
	if s.log == nil {
		s.log = slog.New(slog.NewJSONHandler(s.out, &slog.HandlerOptions{ReplaceAttr: hideCredentials}))
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.maxBody == 0 {
		s.maxBody = maxBody
	}
	s.base, s.endRequests = context.WithCancel(context.Background())
}

// ServeHTTP dispatches one request from FC on its x-fc-control-path header.
// Every request gets an answer: handler errors and panics — anywhere, the
// server's own code included — become failure responses, and the server
// keeps serving. Only a panic after the status line went out cuts the
// connection, the one way left to tell FC the body is incomplete.
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	s.once.Do(s.init)
	arrival := s.Now()
	w := &answerWriter{ResponseWriter: rw}
	control := r.Header.Get(headerControlPath)
	defer s.answerPanic(w, r, control)
	var serve func(ctx context.Context, w http.ResponseWriter, r *http.Request, red *strings.Replacer)
	switch {
	case control == controlInvoke:
		serve = s.invoke
	case control == controlInitialize:
		serve = s.initialize
	case control == controlHTTP:
		serve = s.httpInvoke
	case r.URL.Path == pathPreStop:
		serve = s.preStop
	default:
		msg := fmt.Sprintf("unknown %s %q for %s %s", headerControlPath, control, r.Method, r.URL.Path)
		s.log.Warn("request refused", "error", msg, "request_id", r.Header.Get(headerRequestID))
		writeJSON(w, http.StatusBadRequest, "", errorBody{Message: msg, Type: "UnknownControlPath"})
		return
	}
	ctx, cancel, red := s.context(r, arrival)
	defer cancel()
	if inv, _ := FromContext(ctx); !inv.Deadline.IsZero() {
		// The answer may be written until well after the invocation's
		// own deadline, whatever the server's default timeouts: a handler
		// that overruns it still answers rather than find the connection
		// gone. (A ResponseRecorder supports neither: nothing to do.)
		// The connection's deadlines are on the real clock, not Now.
		by := time.Now().Add(inv.Deadline.Sub(arrival) + answerGrace)
		rc := http.NewResponseController(rw)
		_ = rc.SetReadDeadline(by)
		_ = rc.SetWriteDeadline(by)
	}
	if control == controlInvoke || control == controlHTTP {
		s.active.Add(1)
		defer s.active.Add(-1)
	}
	serve(ctx, w, r, red)
}

// answerGrace is how long after an invocation's deadline its answer may
// still be written.
const answerGrace = time.Minute

// answerPanic, deferred, answers a request whose serving panicked outside
// the handlers' own recovery: a failure (x-fc-status 404) when nothing was
// written yet, else a cut connection.
func (s *Server) answerPanic(w *answerWriter, r *http.Request, control string) {
	p := recover()
	if p == nil {
		return
	}
	if p != http.ErrAbortHandler {
		s.log.Error("request panicked", "error", fmt.Sprint(p), "request_id", r.Header.Get(headerRequestID), "stack", string(debug.Stack()))
	}
	if w.wrote {
		panic(http.ErrAbortHandler) // the status is out: cut the body short, quietly
	}
	status := http.StatusNotFound
	if control == controlHTTP {
		status = http.StatusInternalServerError
	}
	clear(w.Header())
	writeJSON(w, status, "404", errorBody{Message: "internal error", Type: "Panic"})
}

// answerWriter records whether the response's status line went out.
type answerWriter struct {
	http.ResponseWriter
	wrote bool
}

func (a *answerWriter) WriteHeader(status int) {
	a.wrote = a.wrote || status >= http.StatusOK
	a.ResponseWriter.WriteHeader(status)
}

func (a *answerWriter) Write(b []byte) (int, error) {
	a.wrote = true
	return a.ResponseWriter.Write(b)
}

// Flush lets streaming handlers flush through the writer.
func (a *answerWriter) Flush() {
	a.wrote = true
	if fl, ok := a.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (a *answerWriter) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// unwrap returns the server's own writer under w's wrappers: only it can
// tell net/http, when http.MaxBytesReader hits its limit, to stop reading
// the body and close the connection after the answer.
func unwrap(w http.ResponseWriter) http.ResponseWriter {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}

// context derives a request's context: its deadline, credentials,
// Invocation and logger. red hides the credentials in any text.
func (s *Server) context(r *http.Request, arrival time.Time) (ctx context.Context, cancel context.CancelFunc, red *strings.Replacer) {
	h := r.Header
	inv := Invocation{
		RequestID:    h.Get(headerRequestID),
		FunctionName: h.Get(headerFunctionName),
	}
	if n, err := strconv.Atoi(h.Get(headerRetryCount)); err == nil && n > 0 {
		inv.RetryCount = n
	}
	ctx, cancel = r.Context(), func() {}
	if secs, err := strconv.Atoi(h.Get(headerFunctionTimeout)); err == nil && secs > 0 {
		inv.Deadline = arrival.Add(time.Duration(secs) * time.Second)
		ctx, cancel = context.WithDeadline(ctx, inv.Deadline)
	}
	creds := refresh.Credentials{
		AccessKeyID:     h.Get(headerAccessKeyID),
		AccessKeySecret: h.Get(headerAccessKeySecret),
		SecurityToken:   h.Get(headerSecurityToken),
	}
	if !creds.Empty() {
		ctx = refresh.WithCredentials(ctx, creds)
	}
	ctx = context.WithValue(ctx, invocationKey{}, inv)
	ctx = context.WithValue(ctx, loggerKey{}, s.log.With("request_id", inv.RequestID))
	return ctx, cancel, redactor(creds)
}

// hideCredentials logs refresh.Credentials as their String: slog's JSON
// handler would otherwise encode every field, secret included.
func hideCredentials(_ []string, a slog.Attr) slog.Attr {
	switch c := a.Value.Any().(type) {
	case refresh.Credentials:
		a.Value = slog.StringValue(c.String())
	case *refresh.Credentials:
		if c != nil {
			a.Value = slog.StringValue(c.String())
		}
	}
	return a
}

// redactor replaces the secret parts of creds with a placeholder; very
// short values are left alone, as replacing them would garble any text.
func redactor(creds refresh.Credentials) *strings.Replacer {
	var pairs []string
	for _, v := range []string{creds.AccessKeySecret, creds.SecurityToken} {
		if len(v) >= 8 {
			pairs = append(pairs, v, "[redacted]")
		}
	}
	return strings.NewReplacer(pairs...)
}

func (s *Server) invoke(ctx context.Context, w http.ResponseWriter, r *http.Request, red *strings.Replacer) {
	id := r.Header.Get(headerRequestID)
	s.line("FC Invoke Start RequestId: " + id)
	defer s.line("FC Invoke End RequestId: " + id)
	log := Logger(ctx)

	body, err := readBody(w, r, s.maxBody)
	if err != nil {
		s.fail(w, log, red, "invocation refused", err)
		return
	}
	if s.Event == nil {
		s.fail(w, log, red, "invocation refused", &statusError{http.StatusNotFound, "NoEventHandler", errors.New("this function serves no event invocations")})
		return
	}
	result, err := call(func() (any, error) { return s.Event(ctx, body) })
	if err != nil {
		s.fail(w, log, red, "invocation failed", err)
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(result); err != nil {
		s.fail(w, log, red, "invocation failed", &statusError{http.StatusNotFound, "EncodeError", fmt.Errorf("encode result as JSON: %w", err)})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(headerStatus, "200")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes()) // FC went away; nothing left to tell it
}

func (s *Server) initialize(ctx context.Context, w http.ResponseWriter, r *http.Request, red *strings.Replacer) {
	s.hook(ctx, w, r, red, "Initialize", s.Initialize)
}

// preStop serves FC's PreStop hook: the invocations in flight may finish
// until the hook's deadline, and are cut short (Abort) before it; then
// the PreStop function runs. The hook's timeout is not among FC's
// documented headers, so its deadline is at most StopGrace away.
func (s *Server) preStop(ctx context.Context, w http.ResponseWriter, r *http.Request, red *strings.Replacer) {
	deadline := time.Now().Add(cmp.Or(s.StopGrace, DefaultStopGrace))
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	s.settle(deadline)
	s.hook(ctx, w, r, red, "PreStop", s.PreStop)
}

// settle lets the invocations in flight finish until the deadline less a
// margin (the larger of 2 s and a tenth of the time left), then calls
// Abort so that they record what is left and answer, and waits for them
// until the deadline. It reports whether none is left in flight.
func (s *Server) settle(deadline time.Time) bool {
	margin := max(2*time.Second, time.Until(deadline)/10)
	if s.idleBy(deadline.Add(-margin)) {
		return true
	}
	s.abort()
	return s.idleBy(deadline)
}

// abort calls Abort, once.
func (s *Server) abort() {
	s.abortOnce.Do(func() {
		s.log.Warn("stopping: cutting the invocations in flight short", "in_flight", s.active.Load())
		if s.Abort != nil {
			s.Abort()
		}
	})
}

// idleBy waits until no invocation is in flight or the deadline passes,
// and reports whether none is.
func (s *Server) idleBy(deadline time.Time) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for s.active.Load() > 0 {
		if !time.Now().Before(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// hook serves a lifecycle hook: any 2xx answer is success to FC.
func (s *Server) hook(ctx context.Context, w http.ResponseWriter, r *http.Request, red *strings.Replacer, name string, f func(context.Context) error) {
	id := r.Header.Get(headerRequestID)
	s.line("FC " + name + " Start RequestId: " + id)
	defer s.line("FC " + name + " End RequestId: " + id)
	if f != nil {
		_, err := call(func() (struct{}, error) { return struct{}{}, f(ctx) })
		if err != nil {
			s.fail(w, Logger(ctx), red, name+" hook failed", err)
			return
		}
	}
	w.Header().Set(headerStatus, "200")
	w.WriteHeader(http.StatusOK)
}

func (s *Server) httpInvoke(ctx context.Context, w http.ResponseWriter, r *http.Request, red *strings.Replacer) {
	id := r.Header.Get(headerRequestID)
	s.line("FC Invoke Start RequestId: " + id)
	defer s.line("FC Invoke End RequestId: " + id)
	if s.HTTP == nil {
		writeJSON(w, http.StatusNotFound, "", errorBody{Message: "this function serves no HTTP requests", Type: "NoHTTPHandler"})
		return
	}
	req := r.Clone(ctx)
	for _, k := range []string{headerAccessKeyID, headerAccessKeySecret, headerSecurityToken} {
		req.Header.Del(k)
	}
	req.Body = http.MaxBytesReader(unwrap(w), r.Body, s.maxBody)
	fw := &fcHeaderFilter{ResponseWriter: w}
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		if fw.wrote && p == http.ErrAbortHandler {
			panic(p) // the handler cut its own response short
		}
		Logger(ctx).Error("HTTP handler panicked", "error", red.Replace(fmt.Sprint(p)), "stack", string(debug.Stack()))
		if fw.wrote {
			return // the status is out; the client sees a cut-off body
		}
		clear(w.Header())
		writeJSON(w, http.StatusInternalServerError, "404", errorBody{Message: "internal error", Type: "Panic"})
	}()
	s.HTTP.ServeHTTP(fw, req)
}

// fail logs a failed invocation or hook once and answers FC with a failure
// (x-fc-status 404) whose body names the error but no credential.
func (s *Server) fail(w http.ResponseWriter, log *slog.Logger, red *strings.Replacer, msg string, err error) {
	status, typ := http.StatusNotFound, errorType(err)
	var se *statusError
	if errors.As(err, &se) {
		status, typ = se.status, se.typ
	}
	text := red.Replace(err.Error())
	var pe *panicError
	if errors.As(err, &pe) {
		log.Error(msg, "error", text, "error_type", typ, "stack", string(pe.stack))
	} else {
		log.Error(msg, "error", text, "error_type", typ)
	}
	writeJSON(w, status, "404", errorBody{Message: text, Type: typ})
}

// line writes one plain log line to Out.
func (s *Server) line(text string) {
	_, _ = io.WriteString(s.out, text+"\n") // nowhere else to report it
}

// readBody reads a request body of at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(unwrap(w), r.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &statusError{http.StatusRequestEntityTooLarge, "RequestTooLarge",
			fmt.Errorf("request body exceeds %d bytes", tooBig.Limit)}
	}
	if err != nil {
		return nil, &statusError{http.StatusBadRequest, "BadRequest", fmt.Errorf("read request body: %w", err)}
	}
	return body, nil
}

// errorBody is the JSON body of a failure response, in the shape Lambda
// and FC's own runtimes use.
type errorBody struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

// writeJSON answers with v as JSON; fcStatus, when set, becomes x-fc-status.
func writeJSON(w http.ResponseWriter, status int, fcStatus string, v any) {
	w.Header().Set("Content-Type", "application/json")
	if fcStatus != "" {
		w.Header().Set(headerStatus, fcStatus)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // FC went away; nothing left to tell it
}

// statusError is a failure answered with its own HTTP status and type.
type statusError struct {
	status int
	typ    string
	err    error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// panicError is a recovered handler panic.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// call runs f and turns a panic in it into a *panicError.
func call[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: p, stack: debug.Stack()}
		}
	}()
	return f()
}

// errorType names the kind of err in the project's own words
// (refresh.ErrorType: DecodeError, SpillError, TimeoutError,
// InvocationError), never Go's internal type names.
func errorType(err error) string {
	if _, ok := err.(*panicError); ok {
		return "Panic"
	}
	return refresh.ErrorType(err)
}

// fcHeaderFilter drops x-fc-* response headers an HTTP handler sets (FC
// reserves them; an echoed request header could leak a credential).
type fcHeaderFilter struct {
	http.ResponseWriter
	wrote bool
}

func (f *fcHeaderFilter) WriteHeader(status int) {
	if !f.wrote {
		for k := range f.Header() {
			if strings.HasPrefix(strings.ToLower(k), "x-fc-") {
				f.Header().Del(k)
			}
		}
		f.wrote = status >= http.StatusOK // 1xx answers come before the real one
	}
	f.ResponseWriter.WriteHeader(status)
}

func (f *fcHeaderFilter) Write(b []byte) (int, error) {
	if !f.wrote {
		f.WriteHeader(http.StatusOK)
	}
	return f.ResponseWriter.Write(b)
}

// Flush lets streaming handlers flush through the filter.
func (f *fcHeaderFilter) Flush() {
	if !f.wrote {
		f.WriteHeader(http.StatusOK)
	}
	if fl, ok := f.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (f *fcHeaderFilter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// lockedWriter serialises writes from concurrent requests.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
