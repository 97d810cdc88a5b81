// Command cdn-events is the function fired by Function Compute's CDN
// event trigger when a refresh or prefetch task completes
// (CachedObjectsRefreshed, CachedObjectsPushed): it records the completion
// in the task ledger, then sends at once the prefetches that waited for
// that purge (on_create: both), instead of leaving them to the timer's
// polling. Its handler is functions.CDNEvents.
package main

import (
	"os"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/functions"
)

func main() { os.Exit(app.Main("cdn-events", functions.CDNEvents)) }
