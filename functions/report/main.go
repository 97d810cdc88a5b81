// Command report is the function fired by a timer (FC timer trigger; an
// EventBridge schedule on AWS Lambda). Its payload selects the work —
// drain, report, or both (the default): it replays the spill store within
// today's quota, then reports the quota left, the refresh and prefetch
// tasks that failed and the backlog to the configured chat channels, as
// report.when says.
package main

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/platform"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/report"
	"github.com/cdnrefresh/cdnrefresh/internal/trigger"
)

func main() {
	os.Exit(app.Main("report", func(a *app.App) (platform.Handlers, error) {
		chans, err := a.Channels()
		if err != nil {
			return platform.Handlers{}, err
		}
		return platform.Handlers{Event: handle(a, chans)}, nil
	}))
}

// handle adapts one timer invocation to the App's report.Runner and
// answers its Result. It fails the invocation when the payload selects nothing it
// knows, or when the spill store failed during the drain; a report that
// could not be sent does not fail it, since a retry would repeat it on the
// channels that did get it.
func handle(a *app.App, chans []report.Sender) func(context.Context, []byte) (any, error) {
	return func(ctx context.Context, raw []byte) (any, error) {
		t, err := trigger.ParseTimer(raw)
		if err != nil {
			return nil, refresh.Typed(refresh.ErrorDecode, fmt.Errorf("decode timer event: %w", err))
		}
		res, err := a.Reporter().Run(ctx, report.RunOptions{
			Drain:    slices.Contains(t.Tasks, trigger.TaskDrain),
			Report:   slices.Contains(t.Tasks, trigger.TaskReport),
			Channels: chans,
		})
		logResult(ctx, t, res, err)
		if err != nil {
			return nil, err
		}
		return result{Tasks: t.Tasks, Result: res}, nil
	}
}

// result is the invocation's answer: the tasks it ran and what they did.
type result struct {
	Tasks []string `json:"tasks"`
	report.Result
}

// logResult writes the one log line of an invocation: the counts of its
// answer.
func logResult(ctx context.Context, t trigger.Timer, res report.Result, err error) {
	attrs := []any{"trigger", t.TriggerName, "tasks", t.Tasks}
	if d := res.Replay; d != nil {
		attrs = append(attrs, "submitted", d.Submitted, "spilled", d.Spilled, "rejected", d.Rejected, "kept", d.Kept)
		if len(d.ByReason) > 0 {
			attrs = append(attrs, "by_reason", d.ByReason)
		}
	}
	if res.Report != nil {
		attrs = append(attrs, "problems", len(res.Problems), "failed_tasks", res.FailedTotal,
			"backlog", res.Backlog.Count, "sent", res.Sent)
	}
	if len(res.Notes) > 0 {
		attrs = append(attrs, "notes", res.Notes)
	}
	log := platform.Logger(ctx)
	switch {
	case err != nil:
		log.Error("report", append(attrs, "error", err)...)
	case len(res.NotifyFailures) > 0:
		log.Warn("report", append(attrs, "notify_failures", res.NotifyFailures)...)
	default:
		log.Info("report", attrs...)
	}
}
