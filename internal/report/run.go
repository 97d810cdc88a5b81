package report

import (
	"context"
	"sync"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// reportTime is the most time kept for the report when a run also drains
// (a quarter of what is left when that is less).
const reportTime = 60 * time.Second

// markLastReport names the mark that records when the last report was
// made.
const markLastReport = "last-report"

// Sender delivers a report to one channel; the channels of package notify
// are Senders.
type Sender interface {
	// Name identifies the channel in errors and logs; it never contains
	// the robot's URL or secret.
	Name() string
	// Send delivers r, retrying what is worth retrying within ctx. The
	// error, if any, names the channel and says what the robot answered.
	Send(ctx context.Context, r Report) error
}

// Marks keep small named times beside the spill: when the last report was
// made.
type Marks interface {
	Mark(ctx context.Context, name string) (time.Time, error)
	SetMark(ctx context.Context, name string, t time.Time) error
}

// Runner runs the report function's work: a drain of the spill store, a
// report, or both.
type Runner struct {
	Gatherer
	// Drain replays spilled work, at most limit jobs (0: the default).
	Drain func(ctx context.Context, limit int) (refresh.Drained, error)
	// Marks remember when the last report was made, so that the next one
	// lists the tasks that failed since.
	Marks Marks
}

// RunOptions select what Run does.
type RunOptions struct {
	Drain, Report bool
	// Channels receive the report when the policy says it is to be sent;
	// none: the report is only returned (cdnrefresh report without
	// --send).
	Channels []Sender
	// Since is where the failed-task search starts; zero means the
	// previous report's time, else DefaultLookback ago.
	Since time.Time
	// DrainLimit caps the spilled jobs replayed; 0 means
	// refresh.DefaultDrainLimit.
	DrainLimit int
}

// Result is what a run did; the report function answers it as JSON.
type Result struct {
	// Replay is what the drain did, when it ran.
	Replay *refresh.Drained `json:"replay,omitempty"`
	// The report's summary, when it ran: its problems, how many tasks
	// failed, the backlog left in the spill store.
	Problems    []string    `json:"problems,omitempty"`
	FailedTotal int         `json:"failed_total"`
	Backlog     *SpillStats `json:"backlog,omitempty"`
	// Notes are the report's notes, or the drain's when no report ran.
	Notes []string `json:"notes,omitempty"`
	// Sent names the channels that got the report; NotifyFailures says,
	// per channel, why one did not.
	Sent           []string `json:"sent"`
	NotifyFailures []string `json:"notify_failures,omitempty"`
	// Report is the whole report, for the CLI to print.
	Report *Report `json:"-"`
}

// Run runs a timer invocation's work: first the drain, then the report
// (Gather), sent to o.Channels when the policy says so. When both run, the
// drain stops early enough to leave the report time.
//
// The error is the drain's: the spill store failed, so the invocation
// should fail. The report still runs and names it. Failures to read a
// part of the report, or to send it, are in the result, not the error:
// running again would only repeat the message on the channels that did
// get it.
func (rn Runner) Run(ctx context.Context, o RunOptions) (Result, error) {
	res := Result{Sent: []string{}}
	var drainErr error
	var replay refresh.Replayed
	if o.Drain {
		dctx := ctx
		if dl, ok := ctx.Deadline(); ok && o.Report {
			var cancel context.CancelFunc
			dctx, cancel = context.WithDeadline(ctx, dl.Add(-min(reportTime, time.Until(dl)/4)))
			defer cancel()
		}
		d, err := rn.Drain(dctx, o.DrainLimit)
		res.Replay, res.Notes, replay, drainErr = &d, d.Notes, d.Replayed, err
	}
	if !o.Report {
		return res, drainErr
	}

	since := o.Since
	if since.IsZero() {
		since = rn.lastReport(ctx)
	}
	r, _ := rn.Gather(ctx, since, replay) // each part not read is among r.Problems
	if res.Replay != nil {
		r.Notes = append(r.Notes, res.Replay.Notes...)
	}
	if drainErr != nil {
		r.Problems = append(r.Problems, "the spill store failed during the replay: "+drainErr.Error())
	}
	res.Report, res.Problems, res.FailedTotal, res.Backlog, res.Notes = &r, r.Problems, r.FailedCount(), &r.Spill, r.Notes

	if len(o.Channels) > 0 && (rn.Policy.When == WhenAlways || len(r.Problems) > 0) {
		res.Sent, res.NotifyFailures = send(ctx, o.Channels, r)
	}
	// The next report starts where this one looked up to, unless no
	// channel got this one (then the next report repeats its failures).
	if len(o.Channels) > 0 && (len(res.Sent) > 0 || len(res.NotifyFailures) == 0) {
		if err := rn.Marks.SetMark(ctx, markLastReport, r.Generated); err != nil {
			res.Notes = append(res.Notes, "the time of this report was not recorded: "+err.Error())
		}
	}
	return res, drainErr
}

// lastReport is where a report's failed-task search starts: the previous
// report's time, else DefaultLookback ago (Gather moves anything older than
// the API keeps up to TaskRetention).
func (rn Runner) lastReport(ctx context.Context) time.Time {
	if rn.Marks != nil {
		if t, err := rn.Marks.Mark(ctx, markLastReport); err == nil && !t.IsZero() {
			return t
		}
	}
	return rn.now().Add(-DefaultLookback)
}

// send sends r to every channel at once and returns the names of those
// that got it and, for the others, why not.
func send(ctx context.Context, chans []Sender, r Report) (sent, failures []string) {
	errs := make([]error, len(chans))
	var wg sync.WaitGroup
	for i, c := range chans {
		wg.Go(func() { errs[i] = c.Send(ctx, r) })
	}
	wg.Wait()
	sent = []string{}
	for i, c := range chans {
		if errs[i] != nil {
			failures = append(failures, errs[i].Error())
		} else {
			sent = append(sent, c.Name())
		}
	}
	return sent, failures
}
