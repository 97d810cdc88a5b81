package refresh

import (
	"context"
	"errors"
	"fmt"
	"time"
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
)

// Stored is a pending job as a spill store holds it. Ref locates it in the
// store that returned it; only that store reads it.
type Stored struct {
	Pending Pending
	Ref     any
}

// ErrUnreadable is what a Backlog's Load error is (errors.Is) when some
// stored work could not be read: the rest was returned and can be drained.
var ErrUnreadable = errors.New("some spilled work could not be read")

// Backlog is the spill store as a drain uses it.
type Backlog interface {
	// Load returns every stored job, oldest first. When some could not be
	// read it returns the others, with an error that Is ErrUnreadable.
	Load(ctx context.Context) ([]Stored, error)
	// Remove deletes jobs Load returned, once they are submitted or
	// stored again; one already gone is skipped.
	Remove(ctx context.Context, s []Stored) error
}

// Replayed counts what replaying spilled work did.
type Replayed struct {
	Submitted int            `json:"submitted"`
	Spilled   int            `json:"spilled"`            // stored again (quota or rate limits still in the way)
	Rejected  int            `json:"rejected"`           // will never be sent
	Canceled  int            `json:"canceled,omitempty"` // prefetches of objects deleted after their change
	ByReason  map[string]int `json:"by_reason,omitempty"`
}

// Empty reports whether the replay had nothing to do.
func (r Replayed) Empty() bool {
	return r.Submitted == 0 && r.Spilled == 0 && r.Rejected == 0 && r.Canceled == 0
}

// String counts the outcomes: "30 submitted, 2 spilled again, 1 rejected".
func (r Replayed) String() string {
	return fmt.Sprintf("%d submitted, %d spilled again, %d rejected", r.Submitted, r.Spilled, r.Rejected)
}

// Drained is what one drain did: the replay's outcomes, and what it left
// in the spill store untouched.
type Drained struct {
	Replayed
	// Kept counts the spilled jobs left alone: over the quota that
	// remains today, over the limit, or with no time left to replay them.
	Kept int `json:"kept"`
	// Notes say what went wrong without stopping the drain: unreadable
	// spill objects, a quota that could not be read.
	Notes []string `json:"-"`
}

// Drain replays the spilled jobs of b, oldest first: at most limit of them
// (DefaultDrainLimit when limit ≤ 0), only as many of each quota kind as
// today's quota allows (Options.Quota, less reserve for URL refreshes),
// and no more than there is time for before ctx's deadline. What still
// cannot be done is spilled again, keeping its first-seen time; the
// replayed entries are removed only after that, so a failure leaves the
// old entries in place — nothing is lost, and a job replayed twice is
// merely refreshed twice.
//
// The error is non-nil when the spill store cannot be listed, written or
// cleaned up; the result still counts what was done. Unreadable spill
// objects and an unknown quota are only noted.
func (p *Pipeline) Drain(ctx context.Context, b Backlog, limit, reserve int) (Drained, error) {
	var d Drained
	if limit <= 0 {
		limit = DefaultDrainLimit
	}
	entries, err := b.Load(ctx)
	if err != nil {
		if !errors.Is(err, ErrUnreadable) {
			return d, fmt.Errorf("load the spill: %w", err)
		}
		d.Notes = append(d.Notes, "some spilled work could not be read and stays in the store: "+err.Error())
	}
	if len(entries) == 0 {
		return d, nil
	}
	// Settle first what needs no call: a prefetch whose object a later
	// change deleted is never sent, and a job spilled in doubt that the API
	// did accept is not sent again.
	entries, settled, canceled, confirmed, notes := p.settle(ctx, entries)
	d.Notes = append(d.Notes, notes...)
	if len(settled) > 0 {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), spillTimeout)
		err := b.Remove(sctx, settled)
		cancel()
		if err != nil {
			d.Kept += len(entries) + len(settled)
			return d, fmt.Errorf("remove %d settled jobs from the spill: %w", len(settled), err)
		}
		d.Canceled += canceled
		d.Submitted += confirmed
		if canceled > 0 {
			d.ByReason = addCounts(d.ByReason, map[string]int{ReasonDeleted: canceled})
		}
	}

	budget, notes := p.replayBudget(ctx, entries, reserve)
	d.Notes = append(d.Notes, notes...)
	var take []Stored
	for _, e := range entries {
		k := quotaKeyOf(e.Pending.Job.Provider, e.Pending.Job.QuotaKind())
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
		if err := p.replayChunk(ctx, b, chunk, stopAt, &d.Replayed); err != nil {
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

// replayChunk replays one chunk of entries until stopAt (if not zero),
// counts the outcomes in r, and removes the entries once what was not done
// is spilled again.
func (p *Pipeline) replayChunk(ctx context.Context, b Backlog, chunk []Stored, stopAt time.Time, r *Replayed) error {
	work := make([]Pending, len(chunk))
	for i, e := range chunk {
		work[i] = e.Pending
	}
	rctx := ctx
	if !stopAt.IsZero() {
		var cancel context.CancelFunc
		rctx, cancel = context.WithDeadline(ctx, stopAt)
		defer cancel()
	}
	outs, err := p.Replay(rctx, work)
	if err != nil {
		// The old entries stay: the jobs that failed again are not
		// durable anywhere else.
		return fmt.Errorf("replay %d spilled jobs: %w", len(chunk), err)
	}
	for _, o := range outs {
		switch o.Status {
		case Submitted, Duplicate:
			r.Submitted++
		case Spilled:
			r.Spilled++
			r.ByReason = bump(r.ByReason, o.Reason)
		case Rejected:
			r.Rejected++
			r.ByReason = bump(r.ByReason, o.Reason)
		case Canceled:
			r.Canceled++
			r.ByReason = bump(r.ByReason, o.Reason)
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), spillTimeout)
	defer cancel()
	if err := b.Remove(sctx, chunk); err != nil {
		return fmt.Errorf("remove %d replayed jobs from the spill (they will be replayed again): %w", len(chunk), err)
	}
	return nil
}

// settle sorts out the entries that need no call: prefetches a later
// delete canceled, and jobs spilled in doubt that the API accepted (asked
// through Options.Accepted). It returns the others, and the settled ones
// with their counts.
func (p *Pipeline) settle(ctx context.Context, entries []Stored) (rest, settled []Stored, canceled, confirmed int, notes []string) {
	work := make([]Pending, len(entries))
	for i, e := range entries {
		work[i] = e.Pending
	}
	gone := p.superseded(work)
	type group struct {
		p     Provider
		a     Action
		t     ObjectType
		urls  []string
		since time.Time
	}
	groups := map[string]*group{}
	var order []string
	for i, e := range entries {
		j := e.Pending.Job
		// An Edge Routine's refresh is listed as any refresh of its URL:
		// the task list cannot tell it was accepted, so it is sent again.
		if gone[i] || e.Pending.Reason != ReasonInDoubt || p.o.Accepted == nil || j.Routine != "" {
			continue
		}
		k := string(j.Provider.OrDefault()) + "|" + string(j.Action) + "|" + string(j.ObjectType)
		g := groups[k]
		if g == nil {
			g = &group{p: j.Provider.OrDefault(), a: j.Action, t: j.ObjectType, since: e.Pending.FirstSeen}
			groups[k] = g
			order = append(order, k)
		}
		g.urls = append(g.urls, j.URL)
		if e.Pending.FirstSeen.Before(g.since) {
			g.since = e.Pending.FirstSeen
		}
	}
	accepted := map[string]bool{} // group key + "|" + URL
	for _, k := range order {
		g := groups[k]
		got, err := p.o.Accepted(ctx, g.p, g.a, g.t, g.urls, g.since.Add(-time.Minute))
		if err != nil {
			notes = append(notes, fmt.Sprintf("could not learn whether %d jobs sent in doubt were accepted; sending them again: %v", len(g.urls), err))
			continue
		}
		for u := range got {
			accepted[k+"|"+u] = true
		}
	}
	for i, e := range entries {
		j := e.Pending.Job
		switch {
		case gone[i]:
			canceled++
			settled = append(settled, e)
		case e.Pending.Reason == ReasonInDoubt && j.Routine == "" && accepted[string(j.Provider.OrDefault())+"|"+string(j.Action)+"|"+string(j.ObjectType)+"|"+j.URL]:
			confirmed++
			settled = append(settled, e)
		default:
			rest = append(rest, e)
		}
	}
	if confirmed > 0 {
		notes = append(notes, fmt.Sprintf("%d jobs sent in doubt had been accepted: not sent again", confirmed))
	}
	return rest, settled, canceled, confirmed, notes
}

// quotaKeyOf names the daily quota of provider p and kind k (CDN and DCDN
// count apart).
func quotaKeyOf(p Provider, k QuotaKind) string {
	return string(p.OrDefault()) + "/" + string(k)
}

// replayBudget returns how many jobs of each quota key may be replayed:
// what remains of today's quota, less reserve URL refreshes. A provider
// whose quota cannot be read is not capped (its API's own answer spills
// the excess), and a note says so.
func (p *Pipeline) replayBudget(ctx context.Context, entries []Stored, reserve int) (map[string]int, []string) {
	budget := map[string]int{}
	var notes []string
	read := map[Provider]bool{}
	for _, e := range entries {
		pr := e.Pending.Job.Provider.OrDefault()
		if read[pr] {
			continue
		}
		read[pr] = true
		q := NoQuotaLimit
		if p.o.Quota != nil {
			got, err := p.o.Quota(ctx, pr)
			if err != nil {
				notes = append(notes, fmt.Sprintf("%s quota unknown, replaying without a cap: %v", pr, err))
			} else {
				q = got
				if reserve > 0 {
					q.Spend(QuotaURL, reserve)
				}
			}
		}
		for _, k := range SpendKinds {
			budget[quotaKeyOf(pr, k)] = q.Of(k)
		}
	}
	return budget, notes
}
