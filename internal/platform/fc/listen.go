package fc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Timeouts of the HTTP server. FC keeps connections alive between requests
// and a request may run as long as the function timeout allows (at most
// 24 hours in FC 3.0), so reads and writes get more than that.
const (
	maxFunctionTimeout = 24 * time.Hour
	ioTimeout          = maxFunctionTimeout + time.Minute
	readHeaderTimeout  = time.Minute
	shutdownGrace      = 10 * time.Second // in-flight requests get this long after SIGTERM
)

// Addr returns the address the runtime must listen on: all interfaces (FC
// cannot reach 127.0.0.1) and the port from FC_CUSTOM_LISTEN_PORT, else
// FC_SERVER_PORT, else 9000.
func Addr(getenv func(string) string) string {
	port := cmp.Or(getenv("FC_CUSTOM_LISTEN_PORT"), getenv("FC_SERVER_PORT"), "9000")
	return net.JoinHostPort("0.0.0.0", port)
}

// ListenAndServe serves s on Addr(getenv) until ctx is done or the process
// receives SIGTERM or an interrupt, then shuts down gracefully, letting
// in-flight requests finish. It returns nil after a clean shutdown.
func ListenAndServe(ctx context.Context, getenv func(string) string, s *Server) error {
	addr := Addr(getenv)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("fc: listen on %s: %w", addr, err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	return s.serve(ctx, ln)
}

// serve serves s on ln until ctx is done, then shuts down gracefully.
func (s *Server) serve(ctx context.Context, ln net.Listener) error {
	s.once.Do(s.init)
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       ioTimeout,
		WriteTimeout:      ioTimeout,
		IdleTimeout:       ioTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.log.Info("fc runtime listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("fc: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("fc: shut down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("fc: serve on %s: %w", ln.Addr(), err)
	}
	return nil
}
