// Command oss-refresh is the function fired by OSS object writes and
// deletes (FC OSS trigger; S3 events on AWS Lambda): it maps the changed
// keys to CDN URLs by the configured rules and refreshes or prefetches them.
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
	os.Exit(app.Main("oss-refresh", func(a *app.App) (platform.Handlers, error) {
		return platform.Handlers{Event: handle(a.Pipeline)}, nil
	}))
}

// handle adapts one OSS (or S3) event invocation to the pipeline. It fails
// the invocation — so that the platform delivers it again — only when some
// outcome could not be made durable; a payload it cannot decode fails too,
// and lands in the configured failure destination.
func handle(p *refresh.Pipeline) func(context.Context, []byte) (any, error) {
	return func(ctx context.Context, raw []byte) (any, error) {
		ev, err := trigger.Parse(raw)
		if err != nil {
			return nil, refresh.Typed(refresh.ErrorDecode, fmt.Errorf("decode event: %w", err))
		}
		r, err := p.Run(ctx, ev)
		r.Log(platform.Logger(ctx), "oss-refresh", err)
		return r, err
	}
}
