package fc

import (
	"bytes"
	"context"
	"net/http"
	"strconv"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// Invoke describes one invocation as Function Compute makes it, so that
// tests and the demo can call a function exactly as FC does.
type Invoke struct {
	RequestID    string // x-fc-request-id
	FunctionName string // x-fc-function-name
	Timeout      int    // x-fc-function-timeout, in seconds; 0 means 60
	RetryCount   int    // x-fc-retry-count: 0 on first delivery, n on the n-th async retry
	// Credentials are the function role's STS token, which FC passes in
	// x-fc-access-key-id, x-fc-access-key-secret and x-fc-security-token.
	Credentials refresh.Credentials
}

// NewEventRequest returns the request FC posts to a custom runtime at
// baseURL for an event invocation (OSS, timer, InvokeFunction).
func (inv Invoke) NewEventRequest(ctx context.Context, baseURL string, event []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/invoke", bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	inv.setHeaders(req.Header, controlInvoke)
	return req, nil
}

// SetHTTPHeaders sets the headers FC adds to an HTTP-trigger request it
// passes through to a custom runtime (control path /http-invoke).
func (inv Invoke) SetHTTPHeaders(h http.Header) { inv.setHeaders(h, controlHTTP) }

// setHeaders sets the headers FC adds to every request it passes to a
// custom runtime, with control path control.
func (inv Invoke) setHeaders(h http.Header, control string) {
	timeout := inv.Timeout
	if timeout == 0 {
		timeout = 60
	}
	h.Set(headerControlPath, control)
	h.Set(headerRequestID, inv.RequestID)
	h.Set(headerFunctionName, inv.FunctionName)
	h.Set(headerFunctionTimeout, strconv.Itoa(timeout))
	h.Set(headerRetryCount, strconv.Itoa(inv.RetryCount))
	h.Set(headerAccessKeyID, inv.Credentials.AccessKeyID)
	h.Set(headerAccessKeySecret, inv.Credentials.AccessKeySecret)
	h.Set(headerSecurityToken, inv.Credentials.SecurityToken)
}

// Status returns the outcome FC reads from a custom runtime's answer: the
// x-fc-status header (200 success, 404 failure), else the HTTP status.
func Status(resp *http.Response) int {
	if n, err := strconv.Atoi(resp.Header.Get(headerStatus)); err == nil {
		return n
	}
	return resp.StatusCode
}
