// Command oss-refresh is the function fired by OSS object writes and
// deletes (FC OSS trigger; S3 events on AWS Lambda): it maps the changed
// keys to CDN URLs by the configured rules and refreshes or prefetches them.
// Its handler is functions.OSSRefresh.
package main

import (
	"os"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/functions"
)

func main() { os.Exit(app.Main("oss-refresh", functions.OSSRefresh)) }
