package fc

import (
	"context"
	"net"
)

// Serve exposes serve to the tests, which listen on 127.0.0.1 only.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error { return s.serve(ctx, ln) }

// SetMaxBody lowers the body cap so that tests need not send 32 MiB.
func (s *Server) SetMaxBody(n int64) { s.maxBody = n }
