package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// Gathering limits.
const (
	// DefaultLookback is how far back the first report looks for failed
	// tasks; later reports look back to when the previous report was
	// made (see Runner), so that each failure shows in one report.
	DefaultLookback = 24 * time.Hour
	// TaskRetention is how far back DescribeRefreshTasks can look ("only
	// data within the last three days", DescribeRefreshTasks API page); an
	// earlier start is moved up to it.
	TaskRetention = 72 * time.Hour
	// maxTaskPages bounds the pages read for one provider and object
	// type; FailedTotal still counts what the API says there is.
	maxTaskPages = 100
	// maxPreloadLookups bounds the DescribePreloadDetailById calls of one
	// report.
	maxPreloadLookups = 20
	// gatherMargin is kept before the deadline: no task page is asked
	// for within it.
	gatherMargin = 3 * time.Second
)

// taskTypes are the object types DescribeRefreshTasks is asked about.
var taskTypes = []string{"file", "directory", "regex", "preload"}

// API is what a report reads from the CDN API; *alicdn.Client is one.
// Its calls are paced and retried by the implementation.
type API interface {
	// Quota reads provider p's daily quotas.
	Quota(ctx context.Context, p refresh.Provider) (refresh.DailyQuota, error)
	// Tasks lists one page of p's tasks.
	Tasks(ctx context.Context, p refresh.Provider, q refresh.TaskQuery) (refresh.TaskPage, error)
	// PreloadDetail reads the per-URL outcome of a CDN prefetch task (an
	// allow-listed API: a Forbidden* failure means the account may not).
	PreloadDetail(ctx context.Context, taskID string) (refresh.PreloadDetail, error)
}

// Gatherer builds reports.
type Gatherer struct {
	API API
	// Providers are those the rules use: their quotas and tasks are read.
	Providers []refresh.Provider
	// Backlog summarizes the spill store; like a spill Load it reports
	// unreadable objects in its error while counting all the others.
	Backlog func(ctx context.Context) (SpillStats, error)
	// Tickets, when set, reads the task ledger: the report's freshness
	// and what became of the accepted calls.
	Tickets func(ctx context.Context) ([]refresh.Ticket, error)
	Policy  Policy
	Now     func() time.Time // default time.Now
	Zone    *time.Location   // the report's time zone; default UTC
}

func (g Gatherer) now() time.Time {
	if g.Now == nil {
		return time.Now()
	}
	return g.Now()
}

func (g Gatherer) zone() *time.Location {
	if g.Zone == nil {
		return time.UTC
	}
	return g.Zone
}

// Gather builds the report: today's quotas of every provider, the tasks
// that failed since since (moved up to three days back at most), per-URL
// details of failed prefetch tasks where the account may read them, the
// spill store's backlog, and replay, what this run's drain did. Problems
// are set by the policy, and each part that could not be read adds a
// problem of its own, so that a blind report is never mistaken for a
// clean one.
//
// The error joins what could not be read; the report holds everything
// else and is worth sending.
func (g Gatherer) Gather(ctx context.Context, since time.Time, replay refresh.Replayed) (Report, error) {
	now := g.now()
	loc := g.zone()
	r := Report{Generated: now.In(loc), Replay: replay}
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

	for _, p := range g.Providers {
		q, err := g.API.Quota(ctx, p)
		if err != nil {
			fail(providerName(p)+" quota", err)
			continue
		}
		r.Quotas = append(r.Quotas, Quotas(p, q)...)
	}

	for _, p := range g.Providers {
		for _, typ := range taskTypes {
			tasks, total, err := g.failedTasks(ctx, p, typ, since, now)
			r.Failed = append(r.Failed, tasks...)
			r.FailedTotal += total
			if err != nil {
				fail(fmt.Sprintf("failed %s %s tasks", providerName(p), typ), err)
			} else if len(tasks) < total {
				r.Notes = append(r.Notes, fmt.Sprintf("%d of %d failed %s %s tasks listed", len(tasks), total, providerName(p), typ))
			}
		}
	}
	slices.SortStableFunc(r.Failed, func(x, y Task) int { return y.Created.Compare(x.Created) })
	r.Notes = append(r.Notes, g.preloadDetails(ctx, r.Failed)...)

	if g.Backlog != nil {
		st, err := g.Backlog(ctx)
		r.Spill = st
		if !r.Spill.Oldest.IsZero() {
			r.Spill.Oldest = r.Spill.Oldest.In(loc)
		}
		if err != nil {
			fail("the whole spill store", err)
		}
	}

	if g.Tickets != nil {
		t, err := g.Tickets(ctx)
		if err != nil {
			fail("the task ledger", err)
		}
		r.Freshness, r.Following = follow(t, since, now, r.Spill.ByReason[refresh.ReasonAfterPurge])
	}

	r.Problems = append(g.Policy.Problems(r), unread...)
	return r, errors.Join(errs...)
}

// Quotas lists every quota of one quota answer, in report order.
func Quotas(p refresh.Provider, d refresh.DailyQuota) []Quota {
	var out []Quota
	for _, k := range kindNames {
		if a, ok := d[refresh.QuotaKind(k.kind)]; ok {
			out = append(out, Quota{Provider: p, Kind: k.kind, Total: a.Total, Remain: a.Remain})
		}
	}
	return out
}

// failedTasks reads the failed tasks of one provider and object type
// created from since to now (ListTasks).
func (g Gatherer) failedTasks(ctx context.Context, p refresh.Provider, typ string, since, now time.Time) ([]Task, int, error) {
	return ListTasks(ctx, g.API, p, refresh.TaskQuery{ObjectType: typ, Status: refresh.TaskFailed, Start: since, End: now})
}

// ListTasks reads every page of provider p's tasks that q selects (its
// Page and PageSize are set here: pages as large as the API allows), up
// to maxTaskPages pages, and returns them with the total the API counts.
// Reading stops early, with what was read and no error, when ctx's
// deadline is near.
func ListTasks(ctx context.Context, api API, p refresh.Provider, q refresh.TaskQuery) ([]Task, int, error) {
	q.PageSize = refresh.TasksPageSize(p)
	var out []Task
	total := 0
	for q.Page = 1; q.Page <= maxTaskPages; q.Page++ {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < gatherMargin {
			break
		}
		got, err := api.Tasks(ctx, p, q)
		if err != nil {
			return out, max(total, len(out)), err
		}
		if q.Page == 1 {
			total = got.Total
		}
		for _, t := range got.Tasks {
			out = append(out, Task{
				Provider: p, ID: t.ID, URL: t.ObjectPath, ObjectType: cmp.Or(t.ObjectType, q.ObjectType),
				Status: t.Status, Description: t.Description, Created: t.Created,
			})
		}
		if len(got.Tasks) < q.PageSize || len(out) >= total {
			break
		}
	}
	return out, max(total, len(out)), nil
}

// preloadDetails adds DescribePreloadDetailById's per-URL lines to the
// failed CDN prefetch tasks in failed, for at most maxPreloadLookups task
// ids. The API is open only to allow-listed accounts: a refusal
// (Forbidden*), or any other error, ends the lookups and comes back as a
// note.
func (g Gatherer) preloadDetails(ctx context.Context, failed []Task) []string {
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
		d, err := g.API.PreloadDetail(ctx, id)
		if _, code := refresh.FailureOf(err); err != nil && strings.HasPrefix(code, "Forbidden") {
			return append(notes, refresh.APIPreloadDetail+" is not open to this account ("+code+"; it is allow-listed): per-URL prefetch results are not shown")
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
func attachDetails(failed []Task, idx []int, d refresh.PreloadDetail) {
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
