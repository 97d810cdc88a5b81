// Package fc is an Alibaba Cloud Function Compute 3.0 custom runtime: the
// HTTP server FC starts in each instance, which receives event invocations
// (POST /invoke), HTTP-trigger requests, the Initializer and the PreStop
// hook, told apart by the x-fc-control-path request header.
//
// The Go module fc-runtime-go-sdk is not used; this package speaks the
// documented protocol on net/http:
// https://www.alibabacloud.com/help/en/fc/user-guide/specification-details
package fc

import (
	"context"
	"log/slog"
	"time"
)

// Control paths FC names in the x-fc-control-path header, and the URL path
// of the PreStop hook, whose control path is not documented.
const (
	controlInvoke     = "/invoke"
	controlInitialize = "/initialize"
	controlHTTP       = "/http-invoke"
	pathPreStop       = "/pre-stop"
)

// Request headers FC adds to every request.
const (
	headerControlPath     = "x-fc-control-path"
	headerRequestID       = "x-fc-request-id"
	headerAccessKeyID     = "x-fc-access-key-id"
	headerAccessKeySecret = "x-fc-access-key-secret"
	headerSecurityToken   = "x-fc-security-token"
	headerFunctionName    = "x-fc-function-name"
	headerFunctionTimeout = "x-fc-function-timeout" // seconds
	headerRetryCount      = "x-fc-retry-count"

	// headerStatus tells FC whether the function succeeded (200) or
	// failed (404); FC assumes success when it is absent.
	headerStatus = "x-fc-status"
)

// maxBody caps a request body: FC accepts at most 32 MB for synchronous
// and 128 KB for asynchronous invocations.
const maxBody = 32 << 20

// Invocation describes the request being served, as FC's headers tell it.
type Invocation struct {
	RequestID    string
	RetryCount   int // async retries so far; 0 on the first delivery
	FunctionName string
	Deadline     time.Time // zero when FC sent no function timeout
}

type invocationKey struct{}

type loggerKey struct{}

// FromContext returns the invocation the server stored in a handler's
// context; ok is false outside an FC request.
func FromContext(ctx context.Context) (inv Invocation, ok bool) {
	inv, ok = ctx.Value(invocationKey{}).(Invocation)
	return inv, ok
}

// Logger returns the logger of the invocation in ctx, which carries its
// request_id, or slog.Default() outside an FC request.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
