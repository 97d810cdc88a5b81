// Command cdn-events is the function fired by Function Compute's CDN
// event trigger when a refresh or prefetch task completes
// (CachedObjectsRefreshed, CachedObjectsPushed): it records the completion
// in the task ledger, then sends at once the prefetches that waited for
// that purge (on_create: both), instead of leaving them to the timer's
// polling. It answers what it did; a payload it cannot decode, or a
// ledger or spill store that fails, fails the invocation, which FC then
// delivers again.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/platform"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/trigger"
)

func main() {
	os.Exit(app.Main("cdn-events", func(a *app.App) (platform.Handlers, error) {
		return platform.Handlers{Event: handle(a)}, nil
	}))
}

// handle adapts one CDN event invocation to the pipeline.
func handle(a *app.App) func(context.Context, []byte) (any, error) {
	return func(ctx context.Context, raw []byte) (any, error) {
		cs, ignored, err := trigger.ParseCDN(raw)
		if err != nil {
			return nil, refresh.Typed(refresh.ErrorDecode, fmt.Errorf("decode event: %w", err))
		}
		c, err := a.Pipeline.OnCompletions(ctx, a.Spill, cs, a.Rules.Allows)
		c.Ignored = append(ignored, c.Ignored...)
		log := platform.Logger(ctx)
		attrs := []any{"completions", c.Completions, "ignored", len(c.Ignored),
			"prefetched", c.Released.Submitted, "waiting", c.Released.Waiting, "spilled", c.Released.Spilled}
		if err != nil {
			log.Error("cdn-events", append(attrs, "error", err)...)
			return nil, err
		}
		log.Info("cdn-events", attrs...)
		return c, nil
	}
}
