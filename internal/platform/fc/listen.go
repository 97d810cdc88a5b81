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
// 24 hours in FC 3.0), so reads and writes get more than that; a request
// that names its function timeout gets its own deadlines instead, a
// minute past it (see answerGrace).
const (
	maxFunctionTimeout = 24 * time.Hour
	ioTimeout          = maxFunctionTimeout + time.Minute
	readHeaderTimeout  = time.Minute
	// DefaultStopGrace is how long the invocations in flight have after
	// SIGTERM before they are cut short and must answer;
	// CDNREFRESH_STOP_GRACE (a Go duration) sets another.
	DefaultStopGrace = 10 * time.Second
	// cutGrace is how long requests whose contexts were ended at the stop
	// deadline have to answer before their connections are closed.
	cutGrace = time.Second
)

// Addr returns the address the runtime must listen on: all interfaces (FC
// cannot reach 127.0.0.1) and the port from FC_CUSTOM_LISTEN_PORT, else
// FC_SERVER_PORT, else 9000.
func Addr(getenv func(string) string) string {
	port := cmp.Or(getenv("FC_CUSTOM_LISTEN_PORT"), getenv("FC_SERVER_PORT"), "9000")
	return net.JoinHostPort("0.0.0.0", port)
}

// ListenAndServe serves s on Addr(getenv) until ctx is done or the process
// receives SIGTERM or an interrupt, then stops: it accepts no more
// requests, lets those in flight finish for up to 10 s, cuts their work
// short before that (Server.Abort) so that it records what is left and
// answers, and then ends their contexts. It returns nil after a clean
// shutdown.
func ListenAndServe(ctx context.Context, getenv func(string) string, s *Server) error {
	addr := Addr(getenv)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("fc: listen on %s: %w", addr, err)
	}
	if v := getenv(EnvStopGrace); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			ln.Close()
			return fmt.Errorf("fc: %s=%q is not a positive duration (e.g. 10s)", EnvStopGrace, v)
		}
		s.StopGrace = d
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	return s.serve(ctx, ln)
}

// EnvStopGrace names the variable that sets Server.StopGrace.
const EnvStopGrace = "CDNREFRESH_STOP_GRACE"

// serve serves s on ln until ctx is done, then stops (see ListenAndServe).
func (s *Server) serve(ctx context.Context, ln net.Listener) error {
	s.once.Do(s.init)
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       ioTimeout,
		WriteTimeout:      ioTimeout,
		IdleTimeout:       ioTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return s.base },
	}
	s.log.Info("fc runtime listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("fc: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	return s.stop(srv, errc, time.Now().Add(cmp.Or(s.StopGrace, DefaultStopGrace)))
}

// stop stops srv: Shutdown closes the listener at once and waits for the
// connections to go idle; the invocations in flight settle by the
// deadline, and any request still running then has its context ended and
// cutGrace to answer before every connection is closed.
func (s *Server) stop(srv *http.Server, errc <-chan error, deadline time.Time) error {
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	if !s.settle(deadline) {
		s.log.Warn("stopping: ending the requests still in flight", "in_flight", s.active.Load())
		s.endRequests()
	}
	var err error
	select {
	case err = <-shut:
	case <-time.After(time.Until(deadline.Add(cutGrace))):
		err = srv.Close()
		<-shut
	}
	if err != nil {
		return fmt.Errorf("fc: shut down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("fc: serve: %w", err)
	}
	return nil
}
