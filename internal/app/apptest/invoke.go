package apptest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/config"
	"github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/platform/fc"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// Invocation describes one event invocation as FC sends it.
type Invocation struct {
	RequestID  string // x-fc-request-id
	Timeout    int    // x-fc-function-timeout in seconds; 0 means 60
	RetryCount int    // x-fc-retry-count: 0 on first delivery, n on the n-th async retry
	// NoCredentials sends the credential headers empty, as FC does for a
	// function without a role.
	NoCredentials bool
	// Credentials, when set, replace the emulator's keys in the headers.
	Credentials refresh.Credentials
}

// NewInvokeRequest returns the request FC posts to a custom runtime at
// baseURL for an event invocation: control path /invoke, the function
// timeout, the retry count, and the role's STS credentials (the
// emulator's keys) in headers.
func NewInvokeRequest(ctx context.Context, baseURL string, inv Invocation, event []byte) (*http.Request, error) {
	return inv.fc().NewEventRequest(ctx, baseURL, event)
}

// fc is the invocation as the FC adapter's client side describes it.
func (inv Invocation) fc() fc.Invoke {
	i := fc.Invoke{
		RequestID: inv.RequestID, FunctionName: "cdnrefresh-test", Timeout: inv.Timeout, RetryCount: inv.RetryCount,
		Credentials: refresh.Credentials{AccessKeyID: cdn.AccessKeyID, AccessKeySecret: cdn.AccessKeySecret, SecurityToken: "sts-token-for-test"},
	}
	switch {
	case inv.NoCredentials:
		i.Credentials = refresh.Credentials{}
	case !inv.Credentials.Empty():
		i.Credentials = inv.Credentials
	}
	return i
}

// PostInvoke sends an event invocation to the FC server at baseURL and
// returns the x-fc-status (the HTTP status when there is none) and the
// body. Unlike Env.Invoke it reports errors instead of failing a test, so
// it may run in goroutines other than the test's.
func PostInvoke(ctx context.Context, client *http.Client, baseURL string, inv Invocation, event []byte) (int, []byte, error) {
	req, err := NewInvokeRequest(ctx, baseURL, inv, event)
	if err != nil {
		return 0, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("invoke %s: %w", inv.RequestID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("invoke %s: read answer: %w", inv.RequestID, err)
	}
	return fc.Status(resp), body, nil
}

// Post is PostInvoke to e's function: safe to call from several goroutines
// at once (the caller names each request id).
func (e *Env) Post(ctx context.Context, inv Invocation, event []byte) (int, []byte, error) {
	return PostInvoke(ctx, e.Client, e.URL, inv, event)
}

// Emulator starts the CDN API emulator with o on 127.0.0.1 and returns it
// with its base URL; it stops when the test ends.
func Emulator(t testing.TB, o cdn.Options) (*cdn.Server, string) {
	t.Helper()
	emu := cdn.New(o)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return emu, srv.URL
}

// NewApp assembles an App from configYAML, aimed at the CDN API at
// endpoint, with the emulator's access key as the configured credentials
// (so that Pipeline.Run works without FC's per-invocation ones) and a
// spill directory in t.TempDir(): a relative spill.dir (the examples'
// var/spill) is taken under it, so that no test writes into the source
// tree. env adds to
// the environment the config's ${NAME} references read. The App is
// closed when the test ends.
func NewApp(t testing.TB, configYAML, endpoint string, env map[string]string, o app.Options) *app.App {
	t.Helper()
	all := map[string]string{
		config.EnvCDNEndpoint:     endpoint,
		config.EnvSpillDir:        t.TempDir(),
		config.EnvAccessKeyID:     cdn.AccessKeyID,
		config.EnvAccessKeySecret: cdn.AccessKeySecret,
	}
	for k, v := range env {
		all[k] = v
	}
	cfg, err := config.Parse([]byte(configYAML), func(k string) string { return all[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if cfg.Spill.OSS == nil && !filepath.IsAbs(cfg.Spill.Dir) {
		cfg.Spill.Dir = filepath.Join(t.TempDir(), cfg.Spill.Dir)
	}
	a, err := app.New(context.Background(), cfg, o)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}
