// Command report is the function fired by a timer (FC timer trigger; an
// EventBridge schedule on AWS Lambda). Its payload selects the work —
// drain, report, or both (the default): it replays the spill store within
// today's quota, then reports the quota left, the refresh and prefetch
// tasks that failed and the backlog to the configured chat channels, as
// report.when says. Its handler is functions.Report.
package main

import (
	"os"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/functions"
)

func main() { os.Exit(app.Main("report", functions.Report)) }
