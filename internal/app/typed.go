package app

import (
	"context"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/spill"
)

// typedSpill is the spill store as the pipeline's Spiller: its failures
// carry the error type SpillError into the invocation's answer.
type typedSpill struct{ s *spill.Store }

func (t typedSpill) Spill(ctx context.Context, p []refresh.Pending) error {
	return refresh.Typed(refresh.ErrorSpill, t.s.Spill(ctx, p))
}
