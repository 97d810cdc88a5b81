// Package emulator holds what the local emulators of Alibaba Cloud services
// share; the emulators themselves are its sub-packages cdn and oss.
package emulator

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Serve answers requests on ln with h until ctx is done, then shuts down
// gracefully (cutting connections after 5 s) and returns nil.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(shut)
		case <-done:
		}
	}()
	err := srv.Serve(ln)
	close(done)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
