package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/report"
	"github.com/cdnrefresh/cdnrefresh/internal/spill"
)

// Drain limits.
const (
	// DefaultDrainLimit is how many spilled jobs one drain replays at most
	// when the caller gives no limit: a day's default URL quota.
	DefaultDrainLimit = 10000
	// drainChunk is how many jobs are replayed, and then removed from the
	// spill store, at a time: a crash loses the progress of one chunk at
	// most (its jobs come back and are submitted again, which is harmless).
	drainChunk = 2000
	// drainMargin is the time a drain keeps back before its deadline (a
	// quarter of what is left when that is less), to spill again what the
	// replay did not do and remove what it replayed.
	drainMargin = 30 * time.Second
	// minReplayTime is the least time worth starting a chunk's replay in.
	minReplayTime = 3 * time.Second
	// storeTimeout bounds the removal of replayed entries, which must
	// happen even when the drain's context has run out.
	storeTimeout = 10 * time.Second
)

// Drained is what one drain did: the replay's outcomes, and what it left
// in the spill store untouched.
type Drained struct {
	report.ReplayResult
	// Kept counts the spilled jobs left alone: over the quota that
	// remains today, over the limit, or with no time left to replay them.
	Kept int `json:"kept"`
	// Notes say what went wrong without stopping the drain: unreadable
	// spill objects, a quota that could not be read. RunReport's Result
	// carries them in its own Notes.
	Notes []string `json:"-"`
}

// Drain replays spilled jobs, oldest first: at most limit of them
// (DefaultDrainLimit when limit ≤ 0), only as many of each kind as today's
// quota allows (less limits.quota_reserve for URL refreshes), and no more
// than there is time for before ctx's deadline. What still cannot be done
// is spilled again by the replay, keeping its first-seen time; the
// replayed entries are removed only after that, so a failure leaves the
// old entries in place — nothing is lost, and a job replayed twice is
// merely refreshed twice.
//
// The error is non-nil when the spill store cannot be listed, written or
// cleaned up; the result still counts what was done. Unreadable spill
// objects and an unknown quota are only noted.
func (a *App) Drain(ctx context.Context, limit int) (Drained, error) {
	var d Drained
	if limit <= 0 {
		limit = DefaultDrainLimit
	}
	entries, err := a.Spill.Load(ctx)
	if err != nil {
		var re *spill.ReadError
		if !errors.As(err, &re) {
			return d, fmt.Errorf("load the spill: %w", err)
		}
		d.Notes = append(d.Notes, "some spilled work could not be read and stays in the store: "+err.Error())
	}
	if len(entries) == 0 {
		return d, nil
	}

	budget, notes := a.replayBudget(ctx, entries)
	d.Notes = append(d.Notes, notes...)
	var take []spill.Entry
	for _, e := range entries {
		k := quotaKey(e.Pending.Job)
		if len(take) == limit || budget[k] <= 0 {
			d.Kept++
			continue
		}
		budget[k]--
		take = append(take, e)
	}

	stopAt, hasDeadline := drainStop(ctx)
	for i := 0; i < len(take); i += drainChunk {
		if hasDeadline && time.Until(stopAt) < minReplayTime {
			d.Kept += len(take) - i
			break
		}
		chunk := take[i:min(i+drainChunk, len(take))]
		if err := a.replay(ctx, chunk, stopAt, &d.ReplayResult); err != nil {
			d.Kept += len(take) - i
			return d, err
		}
	}
	return d, nil
}

// drainStop returns when a drain stops replaying: drainMargin before ctx's
// deadline, or a quarter of the time left when that is less. ok is false
// when ctx has no deadline.
func drainStop(ctx context.Context) (stopAt time.Time, ok bool) {
	dl, ok := ctx.Deadline()
	if !ok {
		return time.Time{}, false
	}
	return dl.Add(-min(drainMargin, time.Until(dl)/4)), true
}

// replay replays one chunk of entries until stopAt (if not zero), counts
// the outcomes in r, and removes the entries once what was not done is
// spilled again.
func (a *App) replay(ctx context.Context, chunk []spill.Entry, stopAt time.Time, r *report.ReplayResult) error {
	work := make([]refresh.Pending, len(chunk))
	for i, e := range chunk {
		work[i] = e.Pending
	}
	rctx := ctx
	if !stopAt.IsZero() {
		var cancel context.CancelFunc
		rctx, cancel = context.WithDeadline(ctx, stopAt)
		defer cancel()
	}
	outs, err := a.Pipeline.Replay(rctx, work)
	if err != nil {
		// The old entries stay: the jobs that failed again are not
		// durable anywhere else.
		return fmt.Errorf("replay %d spilled jobs: %w", len(chunk), err)
	}
	for _, o := range outs {
		switch o.Status {
		case refresh.Submitted, refresh.Duplicate:
			r.Submitted++
		case refresh.Spilled:
			r.Spilled++
			r.ByReason = bump(r.ByReason, o.Reason)
		case refresh.Rejected:
			r.Rejected++
			r.ByReason = bump(r.ByReason, o.Reason)
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := a.Spill.Remove(sctx, chunk); err != nil {
		return fmt.Errorf("remove %d replayed jobs from the spill (they will be replayed again): %w", len(chunk), err)
	}
	return nil
}

func bump(m map[string]int, k string) map[string]int {
	if m == nil {
		m = map[string]int{}
	}
	m[k]++
	return m
}

// quotaKey names the daily quota a job draws on: provider and kind.
func quotaKey(j refresh.Job) string {
	return string(providerOf(j.Provider)) + "/" + kindOf(j)
}

func providerOf(p refresh.Provider) refresh.Provider {
	if p == "" {
		return refresh.CDN
	}
	return p
}

// kindOf returns the report's quota kind of a job.
func kindOf(j refresh.Job) string {
	if j.Action == refresh.ActionPrefetch {
		return report.KindPreload
	}
	switch j.ObjectType {
	case refresh.Directory:
		return report.KindDir
	case refresh.Regex:
		return report.KindRegex
	case refresh.IgnoreParams:
		return report.KindIgnoreParams
	}
	return report.KindURL
}

// replayBudget returns how many jobs of each quota key may be replayed:
// what remains of today's quota, less the URL reserve. A provider whose
// quota cannot be read is not capped (its API's own answer spills the
// excess), and a note says so.
func (a *App) replayBudget(ctx context.Context, entries []spill.Entry) (map[string]int, []string) {
	budget := map[string]int{}
	var notes []string
	read := map[refresh.Provider]bool{}
	for _, e := range entries {
		p := providerOf(e.Pending.Job.Provider)
		if read[p] {
			continue
		}
		read[p] = true
		q, err := a.quotas.Get(ctx, p)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s quota unknown, replaying without a cap: %v", p, err))
			for _, k := range []string{report.KindURL, report.KindDir, report.KindRegex, report.KindIgnoreParams, report.KindPreload} {
				budget[string(p)+"/"+k] = refresh.Unlimited
			}
			continue
		}
		rem := q.Remaining()
		budget[string(p)+"/"+report.KindURL] = rem.URL - a.Config.Limits.QuotaReserve
		budget[string(p)+"/"+report.KindDir] = rem.Dir
		budget[string(p)+"/"+report.KindRegex] = rem.Regex
		budget[string(p)+"/"+report.KindIgnoreParams] = rem.IgnoreParams
		budget[string(p)+"/"+report.KindPreload] = rem.Preload
	}
	return budget, notes
}
