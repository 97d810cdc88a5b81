package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/alicdn"
	"github.com/cdnrefresh/cdnrefresh/internal/notify"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/report"
	"github.com/cdnrefresh/cdnrefresh/internal/trigger"
)

// Report gathering limits.
const (
	// DefaultLookback is how far back the first report looks for failed
	// tasks; later reports look back to when the previous report was
	// made (the spill store's "last-report" mark), so that each failure
	// shows in one report.
	DefaultLookback = 24 * time.Hour
	// TaskRetention is how far back DescribeRefreshTasks can look
	// (platform.md §6.4); an earlier start is moved up to it.
	TaskRetention = 72 * time.Hour
	// tasksPageSize is the largest page of DescribeRefreshTasks;
	// DescribeDcdnRefreshTasks allows 50.
	tasksPageSize     = 100
	tasksPageSizeDCDN = 50
	// maxTaskPages bounds the pages read for one provider and object
	// type; FailedTotal still counts what the API says there is.
	maxTaskPages = 100
	// maxPreloadLookups bounds the DescribePreloadDetailById calls of one
	// report.
	maxPreloadLookups = 20
	// reportTime is the most time kept for the report when a run also
	// drains (a quarter of what is left when that is less).
	reportTime = 60 * time.Second
	// gatherMargin is kept before the deadline: no task page is asked
	// for within it.
	gatherMargin = 3 * time.Second
)

// taskTypes are the object types DescribeRefreshTasks is asked about.
var taskTypes = []string{"file", "directory", "regex", "preload"}

// clock is the App's clock.
func (a *App) clock() time.Time { return a.now() }

// Policy is the report policy of the config: report.when, and
// report.quota_threshold for the URL, directory and prefetch quotas.
func (a *App) Policy() report.Policy {
	t := a.Config.Report.QuotaThreshold
	var th report.Threshold
	if t.Percent {
		th.Percent = t.Value
	} else {
		th.Absolute = int(math.Ceil(t.Value))
	}
	return report.Policy{
		When: a.Config.Report.When,
		Thresholds: map[string]report.Threshold{
			report.KindURL: th, report.KindDir: th, report.KindPreload: th,
		},
	}
}

// Channels builds the notification channels of the config. Functions call
// it at cold start, so that a bad channel fails there.
func (a *App) Channels() ([]notify.Channel, error) {
	if err := a.Config.Notify.Check(); err != nil {
		return nil, err
	}
	cfg := make([]notify.ChannelConfig, len(a.Config.Notify.Channels))
	for i, c := range a.Config.Notify.Channels {
		cfg[i] = notify.ChannelConfig{Type: string(c.Type), URL: c.URL, Secret: c.Secret, Name: c.Name}
	}
	return notify.New(cfg, nil, nil)
}

// Gather builds the report: today's quotas (CDN, and DCDN when a rule uses
// it), the tasks that failed since since (moved up to three days back at
// most), per-URL details of failed prefetch tasks where the account may
// read them, the spill store's backlog and replay, the result of this
// run's drain. Problems are set by a.Policy(), and each part that could not
// be read adds a problem of its own, so that a blind report is never
// mistaken for a clean one.
//
// The error joins what could not be read; the report holds everything
// else and is worth sending.
func (a *App) Gather(ctx context.Context, since time.Time, replay report.ReplayResult) (report.Report, error) {
	now := a.clock()
	loc, err := a.Config.Limits.Location()
	if err != nil {
		loc = time.UTC
	}
	r := report.Report{Generated: now.In(loc), Replay: replay}
	if since.IsZero() {
		since = now.Add(-DefaultLookback)
	}
	if earliest := now.Add(-TaskRetention + time.Minute); since.Before(earliest) {
		since = earliest
	}
	var unread []string
	var errs []error
	fail := func(what string, err error) {
		unread = append(unread, "could not read "+what+": "+err.Error())
		errs = append(errs, fmt.Errorf("read %s: %w", what, err))
	}

	for _, p := range providers(a.Config) {
		q, err := a.CDN.Quota(ctx, p)
		if err != nil {
			fail(strings.ToUpper(string(p))+" quota", err)
			continue
		}
		r.Quotas = append(r.Quotas, quotas(p, q)...)
	}

	for _, p := range providers(a.Config) {
		for _, typ := range taskTypes {
			tasks, total, err := a.failedTasks(ctx, p, typ, since, now)
			r.Failed = append(r.Failed, tasks...)
			r.FailedTotal += total
			if err != nil {
				fail(fmt.Sprintf("failed %s %s tasks", strings.ToUpper(string(p)), typ), err)
			} else if len(tasks) < total {
				r.Notes = append(r.Notes, fmt.Sprintf("%d of %d failed %s %s tasks listed", len(tasks), total, strings.ToUpper(string(p)), typ))
			}
		}
	}
	slices.SortStableFunc(r.Failed, func(x, y report.Task) int { return y.Created.Compare(x.Created) })
	r.Notes = append(r.Notes, a.preloadDetails(ctx, r.Failed)...)

	st, err := a.Spill.Stats(ctx)
	r.Spill = report.SpillStats{Count: st.Count, Oldest: st.Oldest, ByReason: st.ByReason}
	if !r.Spill.Oldest.IsZero() {
		r.Spill.Oldest = r.Spill.Oldest.In(loc)
	}
	if err != nil {
		fail("the whole spill store", err)
	}

	r.Problems = append(a.Policy().Problems(r), unread...)
	return r, errors.Join(errs...)
}

// quotas lists every quota of one DescribeRefreshQuota answer.
func quotas(p refresh.Provider, q alicdn.Quota) []report.Quota {
	out := []report.Quota{
		{Provider: p, Kind: report.KindURL, Total: q.URL, Remain: q.URLRemain},
		{Provider: p, Kind: report.KindDir, Total: q.Dir, Remain: q.DirRemain},
		{Provider: p, Kind: report.KindRegex, Total: q.Regex, Remain: q.RegexRemain},
		{Provider: p, Kind: report.KindIgnoreParams, Total: q.IgnoreParams, Remain: q.IgnoreParamsRemain},
		{Provider: p, Kind: report.KindPreload, Total: q.Preload, Remain: q.PreloadRemain},
	}
	if p == refresh.CDN { // DCDN has no edge prefetch quota
		out = append(out, report.Quota{Provider: p, Kind: report.KindPreloadEdge, Total: q.PreloadEdge, Remain: q.PreloadEdgeRemain})
	}
	return append(out, report.Quota{Provider: p, Kind: report.KindBlock, Total: q.Block, Remain: q.BlockRemain})
}

// failedTasks reads every page of the failed tasks of one provider and
// object type created from since to now, up to maxTaskPages pages, and
// returns them with the total the API counts. The client's limiter paces
// the calls (DescribeRefreshTasks: 10 a second). Reading stops early, with
// what was read and no error, when the deadline is near.
func (a *App) failedTasks(ctx context.Context, p refresh.Provider, typ string, since, now time.Time) ([]report.Task, int, error) {
	size := tasksPageSize
	if p == refresh.DCDN {
		size = tasksPageSizeDCDN
	}
	var out []report.Task
	total := 0
	for page := 1; page <= maxTaskPages; page++ {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < gatherMargin {
			break
		}
		got, err := a.CDN.Tasks(ctx, p, alicdn.TaskQuery{
			ObjectType: typ, Status: "Failed", Start: since, End: now, Page: page, PageSize: size,
		})
		if err != nil {
			return out, max(total, len(out)), err
		}
		if page == 1 {
			total = got.Total
		}
		for _, t := range got.Tasks {
			out = append(out, report.Task{
				Provider: p, ID: t.ID, URL: t.ObjectPath, ObjectType: cmp.Or(t.ObjectType, typ),
				Status: t.Status, Description: t.Description, Created: t.Created,
			})
		}
		if len(got.Tasks) < size || len(out) >= total {
			break
		}
	}
	return out, max(total, len(out)), nil
}

// preloadDetails adds DescribePreloadDetailById's per-URL lines to the
// failed CDN prefetch tasks in failed, for at most maxPreloadLookups task
// ids. The API is open only to allow-listed accounts: a refusal
// (Forbidden), or any other error, ends the lookups and comes back as a
// note.
func (a *App) preloadDetails(ctx context.Context, failed []report.Task) []string {
	byID := map[string][]int{}
	var ids []string
	for i, t := range failed {
		if t.Provider != refresh.CDN || t.ObjectType != "preload" {
			continue
		}
		if _, seen := byID[t.ID]; !seen {
			ids = append(ids, t.ID)
		}
		byID[t.ID] = append(byID[t.ID], i)
	}
	var notes []string
	if len(ids) > maxPreloadLookups {
		notes = append(notes, fmt.Sprintf("prefetch details shown for %d of %d failed prefetch tasks", maxPreloadLookups, len(ids)))
		ids = ids[:maxPreloadLookups]
	}
	for _, id := range ids {
		d, err := a.CDN.PreloadDetail(ctx, id)
		var apiErr *alicdn.APIError
		if errors.As(err, &apiErr) && strings.HasPrefix(apiErr.Code, "Forbidden") {
			return append(notes, alicdn.APIPreloadDetail+" is not open to this account ("+apiErr.Code+"; it is allow-listed): per-URL prefetch results are not shown")
		}
		if err != nil {
			return append(notes, "per-URL prefetch results not shown: "+err.Error())
		}
		attachDetails(failed, byID[id], d)
	}
	return notes
}

// attachDetails gives each task record at idx the lines of d about its
// URL; lines about no record's URL go to the first record.
func attachDetails(failed []report.Task, idx []int, d alicdn.PreloadDetail) {
	byPath := map[string]int{}
	for _, i := range idx {
		byPath[pathOf(failed[i].URL)] = i
	}
	for _, dom := range d.Domains {
		for _, u := range dom.URLs {
			line := u.URL + " " + cmp.Or(u.Success, "?")
			if u.Description != "" {
				line += ": " + u.Description
			}
			i, ok := byPath[u.URL]
			if !ok {
				i = idx[0]
			}
			failed[i].Details = append(failed[i].Details, line)
		}
	}
}

// pathOf returns the part of an absolute URL from the slash after its
// host, as DescribePreloadDetailById names URLs.
func pathOf(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[i:]
	}
	return "/"
}

// RunOptions select what RunReport does.
type RunOptions struct {
	// Tasks are trigger.TaskDrain and/or trigger.TaskReport; empty means
	// both.
	Tasks []string
	// Channels receive the report when the policy says it is to be sent;
	// none: the report is only returned (cdnrefresh report without
	// --send).
	Channels []notify.Channel
	// Since is where the failed-task search starts; zero means
	// DefaultLookback before now.
	Since time.Time
	// DrainLimit caps the spilled jobs replayed; 0 means
	// DefaultDrainLimit.
	DrainLimit int
}

// Result is what a report run did; the report function answers it as JSON.
type Result struct {
	Tasks []string `json:"tasks"`
	// Replay is what the drain did, when it ran.
	Replay *Drained `json:"replay,omitempty"`
	// The report's summary, when it ran: its problems, how many tasks
	// failed, the backlog left in the spill store.
	Problems    []string           `json:"problems,omitempty"`
	FailedTotal int                `json:"failed_total"`
	Backlog     *report.SpillStats `json:"backlog,omitempty"`
	// Notes are the report's notes, or the drain's when no report ran.
	Notes []string `json:"notes,omitempty"`
	// Sent names the channels that got the report; NotifyFailures says,
	// per channel, why one did not.
	Sent           []string `json:"sent"`
	NotifyFailures []string `json:"notify_failures,omitempty"`
	// Report is the whole report, for the CLI to print.
	Report *report.Report `json:"-"`
}

// RunReport runs a timer invocation's tasks: first the drain (Drain), then
// the report (Gather), sent to o.Channels when a.Policy() says so. When
// both run, the drain stops early enough to leave the report time.
//
// The error is the drain's: the spill store failed, so the invocation
// should fail. The report still runs and names it. Failures to read a
// part of the report, or to send it, are in the result, not the error:
// running again would only repeat the message on the channels that did
// get it.
func (a *App) RunReport(ctx context.Context, o RunOptions) (Result, error) {
	tasks := o.Tasks
	if len(tasks) == 0 {
		tasks = []string{trigger.TaskDrain, trigger.TaskReport}
	}
	res := Result{Tasks: tasks, Sent: []string{}}
	var drainErr error
	var replay report.ReplayResult
	if slices.Contains(tasks, trigger.TaskDrain) {
		dctx := ctx
		if dl, ok := ctx.Deadline(); ok && slices.Contains(tasks, trigger.TaskReport) {
			var cancel context.CancelFunc
			dctx, cancel = context.WithDeadline(ctx, dl.Add(-min(reportTime, time.Until(dl)/4)))
			defer cancel()
		}
		d, err := a.Drain(dctx, o.DrainLimit)
		res.Replay, res.Notes, replay, drainErr = &d, d.Notes, d.ReplayResult, err
	}
	if !slices.Contains(tasks, trigger.TaskReport) {
		return res, drainErr
	}

	since := o.Since
	if since.IsZero() {
		since = a.lastReport(ctx)
	}
	r, _ := a.Gather(ctx, since, replay) // each part not read is among r.Problems
	if res.Replay != nil {
		r.Notes = append(r.Notes, res.Replay.Notes...)
	}
	if drainErr != nil {
		r.Problems = append(r.Problems, "the spill store failed during the replay: "+drainErr.Error())
	}
	res.Report, res.Problems, res.FailedTotal, res.Backlog, res.Notes = &r, r.Problems, r.FailedCount(), &r.Spill, r.Notes

	if len(o.Channels) > 0 && (a.Policy().When == report.WhenAlways || len(r.Problems) > 0) {
		res.Sent, res.NotifyFailures = send(ctx, o.Channels, r)
	}
	// The next report starts where this one looked up to, unless no
	// channel got this one (then the next report repeats its failures).
	if len(o.Channels) > 0 && (len(res.Sent) > 0 || len(res.NotifyFailures) == 0) {
		if err := a.Spill.SetMark(ctx, markLastReport, r.Generated); err != nil {
			res.Notes = append(res.Notes, "the time of this report was not recorded: "+err.Error())
		}
	}
	return res, drainErr
}

// markLastReport names the spill store's mark of the last report.
const markLastReport = "last-report"

// lastReport is where a report's failed-task search starts: the previous
// report's time, else DefaultLookback ago (Gather moves anything older than
// the API keeps up to TaskRetention).
func (a *App) lastReport(ctx context.Context) time.Time {
	if t, err := a.Spill.Mark(ctx, markLastReport); err == nil && !t.IsZero() {
		return t
	}
	return a.clock().Add(-DefaultLookback)
}

// send sends r to every channel at once and returns the names of those
// that got it and, for the others, why not.
func send(ctx context.Context, chans []notify.Channel, r report.Report) (sent, failures []string) {
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
