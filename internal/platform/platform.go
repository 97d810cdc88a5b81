// Package platform starts a function on the platform it runs on: AWS Lambda
// when the Lambda runtime API is present, otherwise an Alibaba Cloud
// Function Compute 3.0 custom runtime.
package platform

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/cdnrefresh/cdnrefresh/internal/platform/fc"
	"github.com/cdnrefresh/cdnrefresh/internal/platform/lambda"
)

// Handlers are what a function serves; any may be nil.
type Handlers struct {
	// Event serves event invocations: OSS, S3, timer and EventBridge events.
	Event fc.EventHandler
	// HTTP serves HTTP-trigger, Function URL and HTTP API requests.
	HTTP http.Handler
	// Initialize runs once per instance before it serves (FC's Initializer).
	Initialize func(ctx context.Context) error
	// PreStop runs before the platform stops the instance.
	PreStop func(ctx context.Context) error
	// Abort cuts the work in flight short when the instance must stop
	// before it ends (see fc.Server.Abort): it must record what is left.
	Abort func()
	// Logger is the base of every invocation's logger; see Logger.
	Logger *slog.Logger
}

// Start serves h until ctx is done or the platform stops the instance. On
// Lambda (AWS_LAMBDA_RUNTIME_API set) it returns only an Initialize error;
// on FC it returns after a graceful shutdown, or when the server cannot
// listen.
func Start(ctx context.Context, getenv func(string) string, h Handlers) error {
	if getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		l := lambda.NewHandler(h.Event, h.HTTP)
		l.Initialize, l.PreStop, l.Logger = h.Initialize, h.PreStop, h.Logger
		return l.Start(ctx)
	}
	return fc.ListenAndServe(ctx, getenv, &fc.Server{
		Event:      h.Event,
		HTTP:       h.HTTP,
		Initialize: h.Initialize,
		PreStop:    h.PreStop,
		Abort:      h.Abort,
		Logger:     h.Logger,
	})
}

// Logger returns the logger of the invocation in ctx on either platform,
// carrying its request_id; outside an invocation, slog.Default().
func Logger(ctx context.Context) *slog.Logger {
	if _, ok := fc.FromContext(ctx); ok {
		return fc.Logger(ctx)
	}
	return lambda.Logger(ctx)
}

// OnFirst returns h with first run once, in the background, at h's first
// invocation (event or HTTP), with that invocation's context values — on
// FC, the function role's credentials — but not its deadline; it never
// delays the invocation. Start runs it at once instead: first then gets
// ctx (e.g. when the environment holds credentials).
func OnFirst(h Handlers, first func(ctx context.Context)) (Handlers, func(ctx context.Context)) {
	var once sync.Once
	start := func(ctx context.Context) {
		once.Do(func() { go first(context.WithoutCancel(ctx)) })
	}
	if ev := h.Event; ev != nil {
		h.Event = func(ctx context.Context, raw []byte) (any, error) {
			start(ctx)
			return ev(ctx, raw)
		}
	}
	if hh := h.HTTP; hh != nil {
		h.HTTP = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start(r.Context())
			hh.ServeHTTP(w, r)
		})
	}
	return h, start
}
