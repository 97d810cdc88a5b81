// Package lambda runs a function on AWS Lambda through aws-lambda-go. One
// handler takes every payload: Function URL and API Gateway HTTP API
// (payload format 2.0) requests go to a net/http handler, anything else
// (S3 and EventBridge events, direct invocations) to the event handler as
// raw JSON.
//
// Function URL payloads:
// https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html
package lambda

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime/debug"
	"strings"
	"unicode/utf8"

	awslambda "github.com/aws/aws-lambda-go/lambda"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Handler adapts Lambda invocations to an event handler and an HTTP
// handler. Fields are set before Start and not changed after; a Handler is
// then safe for concurrent use.
type Handler struct {
	// Event serves non-HTTP payloads; its result is returned as JSON and
	// its error fails the invocation (Lambda retries async ones).
	Event func(ctx context.Context, payload []byte) (any, error)
	// HTTP serves Function URL and HTTP API requests.
	HTTP http.Handler
	// Initialize runs once, before the first invocation.
	Initialize func(ctx context.Context) error
	// PreStop runs when Lambda sends SIGTERM before shutting the
	// environment down (only delivered when an extension is registered;
	// Lambda allows it about 500 ms).
	PreStop func(ctx context.Context) error
	// Logger is the base of each invocation's logger (see Logger).
	// Default: slog.Default().
	Logger *slog.Logger
}

// NewHandler returns a Handler for the event and HTTP handlers; either
// may be nil when the function serves no such requests.
func NewHandler(event func(ctx context.Context, payload []byte) (any, error), httpHandler http.Handler) *Handler {
	return &Handler{Event: event, HTTP: httpHandler}
}

// Start runs Initialize, then serves invocations from the Lambda runtime
// API named by the AWS_LAMBDA_RUNTIME_API environment variable (read by
// aws-lambda-go from the process environment). It returns only an
// Initialize error: when the runtime loop ends, aws-lambda-go exits the
// process, and Lambda starts a new one.
func (h *Handler) Start(ctx context.Context) error {
	if h.Initialize != nil {
		if err := h.Initialize(ctx); err != nil {
			return fmt.Errorf("lambda: initialize: %w", err)
		}
	}
	opts := []awslambda.Option{awslambda.WithContext(ctx), awslambda.WithSetEscapeHTML(false)}
	if h.PreStop != nil {
		opts = append(opts, awslambda.WithEnableSIGTERM(func() {
			if err := h.PreStop(ctx); err != nil {
				h.logger().Error("pre-stop hook failed", "error", err)
			}
		}))
	}
	awslambda.StartWithOptions(h.Handle, opts...)
	return nil
}

type loggerKey struct{}

// Logger returns the logger of the invocation in ctx, which carries its
// request_id, or slog.Default() outside a Lambda invocation.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// Handle serves one invocation. An HTTP request always yields a
// *events.LambdaFunctionURLResponse and a nil error (a handler panic
// becomes a 500 response); an event yields the event handler's result. A
// panic in the event handler is logged with its stack and returned as an
// error, so that the warm environment keeps serving.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	log := h.logger()
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With("request_id", lc.AwsRequestID)
	}
	ctx = context.WithValue(ctx, loggerKey{}, log)
	if isHTTPRequest(raw) {
		return h.serveHTTP(ctx, log, raw), nil
	}
	if h.Event == nil {
		return nil, errors.New("lambda: this function serves no event invocations")
	}
	return h.event(ctx, log, raw)
}

func (h *Handler) event(ctx context.Context, log *slog.Logger, raw []byte) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("event handler panicked", "error", fmt.Sprint(p), "stack", string(debug.Stack()))
			result, err = nil, fmt.Errorf("lambda: event handler panicked: %v", p)
		}
	}()
	return h.Event(ctx, raw)
}

// isHTTPRequest reports whether raw is a Function URL or HTTP API
// (payload format 2.0) request: version "2.0" and a requestContext.http
// naming a method.
func isHTTPRequest(raw []byte) bool {
	var probe struct {
		Version        string `json:"version"`
		RequestContext *struct {
			HTTP *struct {
				Method string `json:"method"`
			} `json:"http"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return false // not an object of that shape: an event
	}
	rc := probe.RequestContext
	return probe.Version == "2.0" && rc != nil && rc.HTTP != nil && rc.HTTP.Method != ""
}

// serveHTTP runs the HTTP handler on the request in raw and returns its
// response in Lambda's form.
func (h *Handler) serveHTTP(ctx context.Context, log *slog.Logger, raw []byte) *events.LambdaFunctionURLResponse {
	if h.HTTP == nil {
		return errorResponse(http.StatusNotFound, "NoHTTPHandler", "this function serves no HTTP requests")
	}
	var e events.LambdaFunctionURLRequest
	if err := json.Unmarshal(raw, &e); err != nil {
		log.Warn("HTTP request refused", "error", err)
		return errorResponse(http.StatusBadRequest, "BadRequest", fmt.Sprintf("decode HTTP request event: %v", err))
	}
	req, err := newRequest(ctx, &e)
	if err != nil {
		log.Warn("HTTP request refused", "error", err)
		return errorResponse(http.StatusBadRequest, "BadRequest", err.Error())
	}
	rec := httptest.NewRecorder()
	if !serve(h.HTTP, rec, req, log) {
		return errorResponse(http.StatusInternalServerError, "Panic", "internal error")
	}
	return response(rec)
}

// serve runs hh, reporting false after logging a panic in it.
func serve(hh http.Handler, w http.ResponseWriter, r *http.Request, log *slog.Logger) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("HTTP handler panicked", "error", fmt.Sprint(p), "stack", string(debug.Stack()))
			ok = false
		}
	}()
	hh.ServeHTTP(w, r)
	return true
}

// newRequest builds the *http.Request a Function URL or HTTP API event
// describes: method, raw path and query, headers (Lambda joins repeated
// ones with commas), cookies, Host, source IP as RemoteAddr, and the
// body, base64-decoded when the event says so.
func newRequest(ctx context.Context, e *events.LambdaFunctionURLRequest) (*http.Request, error) {
	body := []byte(e.Body)
	if e.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(e.Body); err != nil {
			return nil, fmt.Errorf("decode base64 request body: %w", err)
		}
	}
	target := cmp.Or(e.RawPath, e.RequestContext.HTTP.Path, "/")
	if e.RawQueryString != "" {
		target += "?" + e.RawQueryString
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, fmt.Errorf("parse request target %q: %w", target, err)
	}
	method := e.RequestContext.HTTP.Method
	r, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build %s request: %w", method, err)
	}
	r.URL, r.RequestURI = u, target
	if major, minor, ok := http.ParseHTTPVersion(e.RequestContext.HTTP.Protocol); ok {
		r.Proto, r.ProtoMajor, r.ProtoMinor = e.RequestContext.HTTP.Protocol, major, minor
	}
	for k, v := range e.Headers {
		r.Header.Set(k, v)
	}
	if len(e.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(e.Cookies, "; "))
	}
	r.Host = cmp.Or(r.Header.Get("Host"), e.RequestContext.DomainName)
	r.Header.Del("Host") // as net/http's server does
	r.RemoteAddr = e.RequestContext.HTTP.SourceIP
	return r, nil
}

// response converts a recorded response to Lambda's form: repeated headers
// joined with commas, Set-Cookie headers as cookies, and a body that is
// not valid UTF-8 base64-encoded.
func response(rec *httptest.ResponseRecorder) *events.LambdaFunctionURLResponse {
	res := rec.Result()
	out := &events.LambdaFunctionURLResponse{StatusCode: res.StatusCode, Headers: map[string]string{}}
	for k, vs := range res.Header {
		if k == "Set-Cookie" {
			out.Cookies = append(out.Cookies, vs...)
			continue
		}
		out.Headers[k] = strings.Join(vs, ",")
	}
	if body := rec.Body.Bytes(); utf8.Valid(body) {
		out.Body = string(body)
	} else {
		out.Body, out.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	return out
}

func errorResponse(status int, typ, msg string) *events.LambdaFunctionURLResponse {
	body, _ := json.Marshal(struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}{msg, typ}) // strings always encode
	return &events.LambdaFunctionURLResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(body),
	}
}
