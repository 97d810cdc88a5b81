package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/cdnrefresh/cdnrefresh/internal/platform"
	"github.com/cdnrefresh/cdnrefresh/internal/platform/fc"
	"github.com/cdnrefresh/cdnrefresh/internal/platform/lambda"
)

// logRequestID is an event handler that logs through platform.Logger.
func logRequestID(ctx context.Context, _ []byte) (any, error) {
	platform.Logger(ctx).Info("hello")
	return nil, nil
}

func TestLogger(t *testing.T) {
	tests := []struct {
		name   string
		invoke func(log *slog.Logger)
		wantID string
	}{
		{"FC", func(log *slog.Logger) {
			s := &fc.Server{Event: logRequestID, Logger: log, Out: &bytes.Buffer{}}
			r := httptest.NewRequest("POST", "/invoke", strings.NewReader("{}"))
			r.Header.Set("x-fc-control-path", "/invoke")
			r.Header.Set("x-fc-request-id", "1-fc-id")
			s.ServeHTTP(httptest.NewRecorder(), r)
		}, "1-fc-id"},
		{"Lambda", func(log *slog.Logger) {
			h := lambda.NewHandler(logRequestID, nil)
			h.Logger = log
			ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "aws-id"})
			_, _ = h.Handle(ctx, json.RawMessage(`{}`))
		}, "aws-id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			tt.invoke(slog.New(slog.NewJSONHandler(&out, nil)))
			var rec struct {
				Msg       string `json:"msg"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(out.Bytes(), &rec); err != nil {
				t.Fatalf("log %q is not one JSON record: %v", out.String(), err)
			}
			if rec.Msg != "hello" || rec.RequestID != tt.wantID {
				t.Errorf("log record = %+v, want msg hello with request_id %q", rec, tt.wantID)
			}
		})
	}
	if got := platform.Logger(context.Background()); got != slog.Default() {
		t.Errorf("Logger(outside an invocation) = %p, want slog.Default()", got)
	}
}

func TestStartLambdaInitializeError(t *testing.T) {
	env := map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1"}
	h := platform.Handlers{Initialize: func(context.Context) error { return errors.New("no config") }}
	err := platform.Start(context.Background(), func(k string) string { return env[k] }, h)
	if want := "lambda: initialize: no config"; err == nil || err.Error() != want {
		t.Errorf("Start(%v) = %v, want %q", env, err, want)
	}
}

func TestStartFC(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string // substring; "" means nil
	}{
		{"clean shutdown", map[string]string{"FC_CUSTOM_LISTEN_PORT": "0"}, ""},
		{"bad port", map[string]string{"FC_CUSTOM_LISTEN_PORT": "no-such-port"}, "fc: listen on 0.0.0.0:no-such-port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // shut down at once
			h := platform.Handlers{Logger: slog.New(slog.DiscardHandler)}
			err := platform.Start(ctx, func(k string) string { return tt.env[k] }, h)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Start(%v) = %v, want nil", tt.env, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Start(%v) = %v, want an error containing %q", tt.env, err, tt.wantErr)
			}
		})
	}
}
