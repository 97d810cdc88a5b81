// Package functions holds the handler of each function in functions/:
// what one invocation of oss-refresh, webhook, report or cdn-events does
// with the App that app.Main assembles. Each command is one line,
// app.Main(name, functions.X), so that the four are tested together here,
// over FC's protocol and Lambda's, with the code the binaries run.
package functions

import (
	"context"
	"fmt"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/platform"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/trigger"
)

// OSSRefresh serves OSS (or S3) event invocations with the pipeline. An
// invocation fails — so that the platform delivers it again — only when
// some outcome could not be made durable; a payload it cannot decode
// fails too, and lands in the configured failure destination.
func OSSRefresh(a *app.App) (platform.Handlers, error) {
	p := a.Pipeline
	return platform.Handlers{Event: func(ctx context.Context, raw []byte) (any, error) {
		ev, err := trigger.Parse(raw)
		if err != nil {
			return nil, refresh.Typed(refresh.ErrorDecode, fmt.Errorf("decode event: %w", err))
		}
		r, err := p.Run(ctx, ev)
		r.Log(platform.Logger(ctx), "oss-refresh", err)
		return r, err
	}}, nil
}

// Webhook serves the HTTP trigger with app.WebhookHandler, which
// cdnrefresh serve webhook also serves over plain HTTP.
func Webhook(a *app.App) (platform.Handlers, error) {
	h, err := a.WebhookHandler()
	return platform.Handlers{HTTP: h}, err
}

// CDNEvents serves CDN event invocations (CachedObjectsRefreshed,
// CachedObjectsPushed): it records each completion in the task ledger,
// then sends the prefetches that waited for that purge. A payload it
// cannot decode, or a ledger or spill store that fails, fails the
// invocation, which FC then delivers again.
func CDNEvents(a *app.App) (platform.Handlers, error) {
	return platform.Handlers{Event: func(ctx context.Context, raw []byte) (any, error) {
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
	}}, nil
}
