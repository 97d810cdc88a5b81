package oss

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Serve answers requests on ln until ctx is done, then shuts down
// gracefully and returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(shut) // on timeout Serve still returns; connections are cut
		case <-done:
		}
	}()
	err := srv.Serve(ln)
	close(done)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("serve OSS emulator: %w", err)
}

// ListenAndServe listens on addr (e.g. "127.0.0.1:8766"; port 0 picks one),
// prints "listening on http://ADDR" as its first line to out, then the
// environment that points cdnrefresh at it, the credentials to sign with and
// the buckets it holds, and serves a new Server with opts until ctx is done.
func ListenAndServe(ctx context.Context, addr string, opts Options, out io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for OSS emulator on %s: %w", addr, err)
	}
	s := New(opts)
	fmt.Fprintf(out, "listening on http://%s\n", ln.Addr())
	fmt.Fprintf(out, "CDNREFRESH_OSS_ENDPOINT=http://%s\n", ln.Addr())
	if len(opts.Keys) == 0 {
		fmt.Fprintf(out, "OSS access key id: %s, secret: %s\n", AccessKeyID, AccessKeySecret)
	} else {
		fmt.Fprintf(out, "OSS access keys: %d configured\n", len(opts.Keys))
	}
	fmt.Fprintf(out, "OSS buckets: %s\n", strings.Join(opts.Buckets, ", "))
	return s.Serve(ctx, ln)
}
