package lambda_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/platform/lambda"
)

const awsRequestID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

// urlRequest is a Function URL invocation as Lambda sends it.
const urlRequest = `{
  "version": "2.0",
  "rawPath": "/hooks/a%20b",
  "rawQueryString": "delivery=42&tag=x&tag=y",
  "cookies": ["session=s1", "theme=dark"],
  "headers": {
    "host": "abcdefg.lambda-url.us-east-1.on.aws",
    "content-type": "application/json",
    "x-hub-signature-256": "sha256=ff",
    "x-forwarded-proto": "https",
    "accept": "text/html,application/json"
  },
  "queryStringParameters": {"delivery": "42", "tag": "x,y"},
  "requestContext": {
    "accountId": "anonymous",
    "apiId": "abcdefg",
    "domainName": "abcdefg.lambda-url.us-east-1.on.aws",
    "domainPrefix": "abcdefg",
    "http": {"method": "POST", "path": "/hooks/a b", "protocol": "HTTP/1.1",
             "sourceIp": "203.0.113.7", "userAgent": "GitHub-Hookshot/1"},
    "requestId": "id",
    "time": "12/Mar/2025:19:03:58 +0000",
    "timeEpoch": 1741806238000
  },
  "body": "eyJyZWYiOiJyZWZzL2hlYWRzL21haW4ifQ==",
  "isBase64Encoded": true
}`

// apiRequest is an API Gateway HTTP API (payload 2.0) invocation.
const apiRequest = `{
  "version": "2.0",
  "routeKey": "GET /refresh",
  "rawPath": "/refresh",
  "rawQueryString": "",
  "headers": {"host": "api.example.com"},
  "requestContext": {
    "domainName": "api.example.com",
    "http": {"method": "GET", "path": "/refresh", "protocol": "HTTP/1.1", "sourceIp": "198.51.100.1"},
    "routeKey": "GET /refresh",
    "stage": "$default"
  },
  "isBase64Encoded": false
}`

// seen is what the HTTP handler received.
type seen struct {
	Method, Host, RequestURI, Path, RawQuery, RemoteAddr, Proto, Body string
	Header                                                            http.Header
}

func recordRequest(got *seen, respond func(w http.ResponseWriter)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			panic(err)
		}
		*got = seen{
			Method: r.Method, Host: r.Host, RequestURI: r.RequestURI, Path: r.URL.Path,
			RawQuery: r.URL.RawQuery, RemoteAddr: r.RemoteAddr, Proto: r.Proto,
			Body: string(body), Header: r.Header,
		}
		respond(w)
	})
}

func invocationContext() context.Context {
	return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: awsRequestID})
}

func TestHandleHTTP(t *testing.T) {
	text := func(status int, body string) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		}
	}
	tests := []struct {
		name     string
		event    string
		respond  func(w http.ResponseWriter)
		wantSeen seen
		want     *events.LambdaFunctionURLResponse
	}{
		{
			name:  "function URL with base64 body, cookies and headers",
			event: urlRequest,
			respond: func(w http.ResponseWriter) {
				w.Header().Add("Vary", "Accept")
				w.Header().Add("Vary", "Origin")
				w.Header().Add("Set-Cookie", "a=1")
				w.Header().Add("Set-Cookie", "b=2; Path=/")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusAccepted)
				_, _ = io.WriteString(w, `{"accepted":1}`)
			},
			wantSeen: seen{
				Method: "POST", Host: "abcdefg.lambda-url.us-east-1.on.aws",
				RequestURI: "/hooks/a%20b?delivery=42&tag=x&tag=y", Path: "/hooks/a b",
				RawQuery: "delivery=42&tag=x&tag=y", RemoteAddr: "203.0.113.7", Proto: "HTTP/1.1",
				Body: `{"ref":"refs/heads/main"}`,
				Header: http.Header{
					"Content-Type":        {"application/json"},
					"X-Hub-Signature-256": {"sha256=ff"},
					"X-Forwarded-Proto":   {"https"},
					"Accept":              {"text/html,application/json"},
					"Cookie":              {"session=s1; theme=dark"},
				},
			},
			want: &events.LambdaFunctionURLResponse{
				StatusCode: http.StatusAccepted,
				Headers:    map[string]string{"Vary": "Accept,Origin", "Content-Type": "application/json"},
				Body:       `{"accepted":1}`,
				Cookies:    []string{"a=1", "b=2; Path=/"},
			},
		},
		{
			name:    "HTTP API request, empty body",
			event:   apiRequest,
			respond: text(http.StatusOK, "ok"),
			wantSeen: seen{
				Method: "GET", Host: "api.example.com", RequestURI: "/refresh", Path: "/refresh",
				RemoteAddr: "198.51.100.1", Proto: "HTTP/1.1", Header: http.Header{},
			},
			want: &events.LambdaFunctionURLResponse{
				StatusCode: http.StatusOK,
				Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8"},
				Body:       "ok",
			},
		},
		{
			name:  "binary response is base64-encoded",
			event: apiRequest,
			respond: func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "application/gzip")
				_, _ = w.Write([]byte{0x1f, 0x8b, 0xff, 0x00})
			},
			wantSeen: seen{
				Method: "GET", Host: "api.example.com", RequestURI: "/refresh", Path: "/refresh",
				RemoteAddr: "198.51.100.1", Proto: "HTTP/1.1", Header: http.Header{},
			},
			want: &events.LambdaFunctionURLResponse{
				StatusCode:      http.StatusOK,
				Headers:         map[string]string{"Content-Type": "application/gzip"},
				Body:            "H4v/AA==",
				IsBase64Encoded: true,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got seen
			h := lambda.NewHandler(func(context.Context, []byte) (any, error) {
				return nil, errors.New("event handler called for an HTTP request")
			}, recordRequest(&got, tt.respond))
			res, err := h.Handle(invocationContext(), json.RawMessage(tt.event))
			if err != nil {
				t.Fatalf("Handle(%s) error = %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.wantSeen, got); diff != "" {
				t.Errorf("request seen by the handler mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, res); diff != "" {
				t.Errorf("Handle(%s) response mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

func TestHandleHTTPFailures(t *testing.T) {
	badBase64 := strings.Replace(urlRequest, `"eyJyZWYiOiJyZWZzL2hlYWRzL21haW4ifQ=="`, `"not base64!"`, 1)
	badMethod := strings.Replace(apiRequest, `"method": "GET"`, `"method": "G E T"`, 1)
	badHeaders := strings.Replace(apiRequest, `"headers": {"host": "api.example.com"}`, `"headers": {"host": 7}`, 1)
	panicking := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("handler bug") })
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	jsonHeaders := map[string]string{"Content-Type": "application/json"}
	tests := []struct {
		name    string
		event   string
		handler http.Handler
		want    *events.LambdaFunctionURLResponse
		wantLog string
	}{
		{"bad base64 body", badBase64, ok, &events.LambdaFunctionURLResponse{StatusCode: 400, Headers: jsonHeaders,
			Body: `{"errorMessage":"decode base64 request body: illegal base64 data at input byte 3","errorType":"BadRequest"}`}, "HTTP request refused"},
		{"bad method", badMethod, ok, &events.LambdaFunctionURLResponse{StatusCode: 400, Headers: jsonHeaders,
			Body: `{"errorMessage":"build G E T request: net/http: invalid method \"G E T\"","errorType":"BadRequest"}`}, "HTTP request refused"},
		{"headers not strings", badHeaders, ok, &events.LambdaFunctionURLResponse{StatusCode: 400, Headers: jsonHeaders,
			Body: `{"errorMessage":"decode HTTP request event: json: cannot unmarshal number into Go struct field LambdaFunctionURLRequest.headers of type string","errorType":"BadRequest"}`}, "HTTP request refused"},
		{"handler panics", apiRequest, panicking, &events.LambdaFunctionURLResponse{StatusCode: 500, Headers: jsonHeaders,
			Body: `{"errorMessage":"internal error","errorType":"Panic"}`}, "HTTP handler panicked"},
		{"no HTTP handler", apiRequest, nil, &events.LambdaFunctionURLResponse{StatusCode: 404, Headers: jsonHeaders,
			Body: `{"errorMessage":"this function serves no HTTP requests","errorType":"NoHTTPHandler"}`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := lambda.NewHandler(nil, tt.handler)
			h.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
			res, err := h.Handle(invocationContext(), json.RawMessage(tt.event))
			if err != nil {
				t.Fatalf("Handle(%s) error = %v, want a response", tt.name, err)
			}
			if diff := cmp.Diff(tt.want, res); diff != "" {
				t.Errorf("Handle(%s) response mismatch (-want +got):\n%s", tt.name, diff)
			}
			if tt.wantLog != "" && !strings.Contains(logs.String(), `"msg":"`+tt.wantLog+`"`) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, logs.String())
			}
			if tt.wantLog != "" && !strings.Contains(logs.String(), `"request_id":"`+awsRequestID+`"`) {
				t.Errorf("log lacks the request id:\n%s", logs.String())
			}
		})
	}
}

func TestHandleEvent(t *testing.T) {
	tests := []struct {
		name  string
		event string
	}{
		{"S3 event", `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"a+b.txt"}}}]}`},
		{"EventBridge scheduled event", `{"version":"0","id":"x","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`},
		{"version 2.0 without requestContext.http", `{"version":"2.0","requestContext":{"requestId":"r"}}`},
		{"requestContext.http without version 2.0", `{"version":"1.0","requestContext":{"http":{"method":"GET"}}}`},
		{"version of another type", `{"version":2,"requestContext":{"http":{"method":"GET"}}}`},
		{"array", `[1,2]`},
		{"string", `"hello"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			h := lambda.NewHandler(func(_ context.Context, p []byte) (any, error) {
				got = p
				return map[string]int{"changes": 1}, nil
			}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				t.Error("HTTP handler called for an event")
			}))
			res, err := h.Handle(invocationContext(), json.RawMessage(tt.event))
			if err != nil {
				t.Fatalf("Handle(%s) error = %v", tt.event, err)
			}
			if string(got) != tt.event {
				t.Errorf("event handler got payload %q, want %q", got, tt.event)
			}
			if diff := cmp.Diff(map[string]int{"changes": 1}, res); diff != "" {
				t.Errorf("Handle(%s) result mismatch (-want +got):\n%s", tt.event, diff)
			}
		})
	}
}

func TestHandleEventFailures(t *testing.T) {
	errTransient := errors.New("cdn throttled")
	tests := []struct {
		name    string
		event   func(context.Context, []byte) (any, error)
		wantErr string
		wantLog string
	}{
		{"error passes through", func(context.Context, []byte) (any, error) { return nil, errTransient }, "cdn throttled", ""},
		{"panic becomes an error", func(context.Context, []byte) (any, error) { panic("boom") }, "lambda: event handler panicked: boom", "event handler panicked"},
		{"no event handler", nil, "lambda: this function serves no event invocations", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := lambda.NewHandler(tt.event, nil)
			h.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
			res, err := h.Handle(invocationContext(), json.RawMessage(`{}`))
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("Handle() = %v, %v; want error %q", res, err, tt.wantErr)
			}
			if tt.wantLog == "" {
				if logs.Len() != 0 {
					t.Errorf("logged %s, want nothing (the error is returned)", logs.String())
				}
				return
			}
			var rec map[string]any
			if err := json.Unmarshal(logs.Bytes(), &rec); err != nil {
				t.Fatalf("log %q is not one JSON record: %v", logs.String(), err)
			}
			if rec["msg"] != tt.wantLog || rec["request_id"] != awsRequestID || !strings.Contains(rec["stack"].(string), "lambda_test") {
				t.Errorf("log record = %v, want msg %q, request_id %q and a stack", rec, tt.wantLog, awsRequestID)
			}
		})
	}
}

func TestLogger(t *testing.T) {
	var logs bytes.Buffer
	h := lambda.NewHandler(func(ctx context.Context, _ []byte) (any, error) {
		lambda.Logger(ctx).Info("working")
		return nil, nil
	}, nil)
	h.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	if _, err := h.Handle(invocationContext(), json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	want := `{"level":"INFO","msg":"working","request_id":"` + awsRequestID + `"}` + "\n"
	if got := logs.String(); got != want {
		t.Errorf("log = %q, want %q", got, want)
	}
	if got := lambda.Logger(context.Background()); got != slog.Default() {
		t.Errorf("Logger(outside an invocation) = %p, want slog.Default()", got)
	}
}
