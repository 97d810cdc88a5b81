package app

import (
	"context"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/spill"
)

// typedSpill is the spill store as the pipeline's Spiller and the drain's
// Backlog: its failures carry the error type SpillError into the
// invocation's answer.
type typedSpill struct{ s *spill.Store }

func (t typedSpill) Spill(ctx context.Context, p []refresh.Pending) error {
	return refresh.Typed(refresh.ErrorSpill, t.s.Spill(ctx, p))
}

func (t typedSpill) Load(ctx context.Context) ([]refresh.Stored, error) {
	entries, err := t.s.Load(ctx)
	return entries, refresh.Typed(refresh.ErrorSpill, err)
}

func (t typedSpill) Remove(ctx context.Context, s []refresh.Stored) error {
	return refresh.Typed(refresh.ErrorSpill, t.s.Remove(ctx, s))
}
