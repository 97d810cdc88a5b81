package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cdnrefresh/cdnrefresh/internal/report"
)

// runReport runs the report function's work from a terminal: the quota,
// failed tasks and spill backlog, printed; --drain replays the spill
// first, --send also sends it to the configured channels when the policy
// says so.
func runReport(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	return printReport(ctx, realClock, args, stdout, stderr)
}

// printReport is runReport on clk.
func printReport(ctx context.Context, clk clock, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report", stderr)
	cfgFile := fs.String("config", "", "config `FILE` (YAML)")
	drain := fs.Bool("drain", false, "replay spilled work first, as the timer does")
	send := fs.Bool("send", false, "send the report to notify.channels when report.when says so")
	since := fs.Duration("since", report.DefaultLookback, "look for failed tasks this far back (at most 72h)")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of text")
	fs.Usage = usageOf(fs, "cdnrefresh report --config FILE [--drain] [--send] [--since 24h] [--json]",
		"Prints the quota left, the failed tasks and the spill backlog, as the report function does;\nexit 1 when the quota could not be read or a channel failed.")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *cfgFile == "" {
		fmt.Fprintln(stderr, "cdnrefresh report: --config is required")
		return errUsage
	}
	a, err := openApp(ctx, *cfgFile, clk)
	if err != nil {
		return exit(exitUsage, err)
	}
	defer a.Close()
	o := report.RunOptions{Drain: *drain, Report: true, Since: clk.now().Add(-*since)}
	if *send {
		if o.Channels, err = a.Channels(); err != nil {
			return err
		}
	}
	res, err := a.Reporter().Run(ctx, o)
	if res.Report != nil {
		if *asJSON {
			printJSON(stdout, res.Report)
		} else {
			fmt.Fprint(stdout, report.Text(*res.Report))
		}
	}
	if len(res.Sent) > 0 {
		fmt.Fprintf(stderr, "sent to: %v\n", res.Sent)
	}
	for _, f := range res.NotifyFailures {
		fmt.Fprintf(stderr, "not sent: %s\n", f)
	}
	if err != nil {
		return err
	}
	// Cron and CI must tell a report that could not read the quota, or
	// reach a channel, from a good one.
	if res.Report != nil {
		for _, p := range a.Config.Providers() {
			if !slices.ContainsFunc(res.Report.Quotas, func(q report.Quota) bool { return q.Provider == p }) {
				return exit(exitPartial, fmt.Errorf("the %s quota could not be read", strings.ToUpper(string(p))))
			}
		}
	}
	if n := len(res.NotifyFailures); n > 0 {
		return exit(exitPartial, fmt.Errorf("%d of %d channels failed", n, n+len(res.Sent)))
	}
	return nil
}
