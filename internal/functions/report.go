package functions

import (
	"context"
	"fmt"
	"slices"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/platform"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/report"
	"github.com/cdnrefresh/cdnrefresh/internal/trigger"
)

// Report serves timer invocations with the App's report.Runner, on the
// configured chat channels. Its payload selects the work (drain, report,
// or both). An invocation fails when the payload selects nothing it
// knows, or when the spill store failed during the drain; a report that
// could not be sent does not fail it, since a retry would repeat it on
// the channels that did get it.
func Report(a *app.App) (platform.Handlers, error) {
	chans, err := a.Channels()
	if err != nil {
		return platform.Handlers{}, err
	}
	return platform.Handlers{Event: func(ctx context.Context, raw []byte) (any, error) {
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
	}}, nil
}

// result is a timer invocation's answer: the tasks it ran and what they
// did.
type result struct {
	Tasks []string `json:"tasks"`
	report.Result
}

// logResult writes the one log line of a timer invocation: the counts of
// its answer.
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
