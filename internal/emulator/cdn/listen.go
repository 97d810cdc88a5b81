package cdn

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/cdnrefresh/cdnrefresh/internal/emulator"
)

// Serve answers requests on ln until ctx is done, then shuts down
// gracefully and returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := emulator.Serve(ctx, ln, s); err != nil {
		return fmt.Errorf("serve CDN emulator: %w", err)
	}
	return nil
}

// ListenAndServe listens on addr (e.g. "127.0.0.1:8765"; port 0 picks
// one), prints "listening on http://ADDR" as its first line to out, then
// the environment that points cdnrefresh at it and the credentials to
// sign with, and serves a new Server with opts until ctx is done.
func ListenAndServe(ctx context.Context, addr string, opts Options, out io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for CDN emulator on %s: %w", addr, err)
	}
	s := New(opts)
	fmt.Fprintf(out, "listening on http://%s\n", ln.Addr())
	fmt.Fprintf(out, "CDNREFRESH_CDN_ENDPOINT=http://%s\n", ln.Addr())
	if len(opts.Keys) == 0 {
		fmt.Fprintf(out, "ALIBABA_CLOUD_ACCESS_KEY_ID=%s\n", AccessKeyID)
		fmt.Fprintf(out, "ALIBABA_CLOUD_ACCESS_KEY_SECRET=%s\n", AccessKeySecret)
	} else {
		fmt.Fprintf(out, "access keys: %d configured\n", len(opts.Keys))
	}
	return s.Serve(ctx, ln)
}
