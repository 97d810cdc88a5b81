package refresh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"
)

// Options assemble a Pipeline. Mapper, Planner and Submitter are required.
type Options struct {
	Mapper    Mapper
	Planner   Planner
	Submitter Submitter
	// Spiller stores what cannot be submitted now. Without one, such jobs
	// fail the invocation so that the platform delivers it again.
	Spiller Spiller
	// Quota reports what remains of a provider's daily quotas (CDN and
	// DCDN count apart). Nil, or an error, means "unknown": the plan is not
	// capped and the API's own QuotaExceeded answer spills the excess.
	Quota func(ctx context.Context, p Provider) (Quota, error)
	// Window builds the window that coalesces concurrent invocations over
	// the pipeline's flush. Nil: each invocation flushes on its own.
	Window func(FlushFunc) Window
	// Accepted, when set, says which of urls the API accepted in jobs of
	// provider p, action a and object type t since since, with their task
	// ids: the drain asks it about the jobs spilled in doubt
	// (ReasonInDoubt), and sends again only the others. Nil, or an error,
	// means none known: they are sent again.
	Accepted func(ctx context.Context, p Provider, a Action, t ObjectType, urls []string, since time.Time) (map[string]string, error)
	// Ledger, when set, keeps a ticket of every accepted call, so that its
	// tasks can be followed to completion; LedgerError hears of a ticket
	// that could not be stored (the work itself is done).
	Ledger      Ledger
	LedgerError func(error)
	// PrefetchAfter is how long a prefetch that follows a purge waits at
	// most for the purge's tasks to complete when their completion cannot
	// be learned (default 6 min: a refresh takes effect 5 to 6 minutes
	// after it is submitted, RefreshObjectCaches API page).
	PrefetchAfter time.Duration
	// Tasks, when set, reads task records by id (DescribeRefreshTaskById):
	// the drain follows open tickets with it.
	Tasks func(ctx context.Context, p Provider, ids []string) ([]Task, error)
	// RetryFailed is how many times the URLs of a failed task are sent
	// again (0: the default, 1; negative: never).
	RetryFailed int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// DeadlineMargin: no call is started this close to the context's
	// deadline, whose answer could not come back in time (default
	// 500 ms); its jobs are spilled with ReasonDeadline. The time to
	// spill and to answer is kept by whoever sets the deadline: the
	// window ends a flush its flush margin before the earliest joiner's
	// deadline, the drain stops well before its own.
	DeadlineMargin time.Duration
}

// Pipeline carries changes through map, window, plan, submit and spill.
// It is safe for concurrent use.
type Pipeline struct {
	o       Options
	window  Window
	deletes recentDeletes
	stop    stopper
}

// NewPipeline returns a pipeline built from o.
func NewPipeline(o Options) (*Pipeline, error) {
	if o.Mapper == nil || o.Planner == nil || o.Submitter == nil {
		return nil, errors.New("refresh: NewPipeline needs a Mapper, a Planner and a Submitter")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PrefetchAfter <= 0 {
		o.PrefetchAfter = DefaultPrefetchAfter
	}
	switch {
	case o.RetryFailed == 0:
		o.RetryFailed = 1
	case o.RetryFailed < 0:
		o.RetryFailed = 0
	}
	if o.DeadlineMargin == 0 {
		o.DeadlineMargin = 500 * time.Millisecond
	}
	p := &Pipeline{o: o}
	flush := p.stop.wrap(p.Flush)
	if o.Window != nil {
		p.window = o.Window(flush)
	} else {
		p.window = direct(flush)
	}
	return p, nil
}

// Report is the answer of one invocation. Changes counts the records of
// the event (or the items of a request), each once; Ignored counts those of
// them that need no CDN work (the decoder's and the rules' alike). Every
// job a change became is counted once in exactly one of Submitted,
// Duplicate, Spilled, Rejected, Canceled, Waiting or Failed.
type Report struct {
	Changes   int            `json:"changes"`
	Ignored   int            `json:"ignored"`
	Submitted int            `json:"submitted"`
	Duplicate int            `json:"duplicate"`
	Spilled   int            `json:"spilled"`
	Rejected  int            `json:"rejected"`
	Canceled  int            `json:"canceled,omitempty"`
	Waiting   int            `json:"waiting"`
	Failed    int            `json:"failed,omitempty"`
	Tasks     []string       `json:"tasks"`
	SpilledBy map[string]int `json:"spilled_by,omitempty"`
	// Collapsed says which directory refreshes carried this invocation's
	// file refreshes, and why (Call.Notes).
	Collapsed  []string       `json:"collapsed,omitempty"`
	RejectedBy map[string]int `json:"rejected_by,omitempty"`
	// IgnoredKeys lists the ignored changes with their reasons, and
	// Outcomes what became of each job, at most MaxListed of each;
	// Truncated counts the entries of both lists left out.
	IgnoredKeys []Ignored `json:"ignored_keys,omitempty"`
	Outcomes    []Outcome `json:"outcomes,omitempty"`
	Truncated   int       `json:"truncated,omitempty"`
}

// Log writes the one log line of an invocation to log: the same counts as
// its answer. An error is logged at ERROR; an invocation that got nothing
// through (the API, the credentials or the quota in the way; the reasons
// say which) at WARN.
func (r Report) Log(log *slog.Logger, msg string, err error) {
	attrs := []any{
		"changes", r.Changes, "ignored", r.Ignored, "submitted", r.Submitted,
		"duplicate", r.Duplicate, "spilled", r.Spilled, "rejected", r.Rejected,
		"waiting", r.Waiting, "tasks", r.Tasks,
	}
	for _, c := range []struct {
		name string
		n    int
	}{{"canceled", r.Canceled}, {"failed", r.Failed}, {"truncated", r.Truncated}} {
		if c.n > 0 {
			attrs = append(attrs, c.name, c.n)
		}
	}
	if len(r.SpilledBy) > 0 {
		attrs = append(attrs, "spilled_by", r.SpilledBy)
	}
	if len(r.RejectedBy) > 0 {
		attrs = append(attrs, "rejected_by", r.RejectedBy)
	}
	if len(r.Collapsed) > 0 {
		attrs = append(attrs, "collapsed", r.Collapsed)
	}
	switch {
	case err != nil:
		log.Error(msg, append(attrs, "error", err)...)
	case r.Submitted == 0 && r.Duplicate == 0 && r.Waiting == 0 && r.Spilled > 0:
		log.Warn(msg, attrs...)
	default:
		log.Info(msg, attrs...)
	}
}

// MaxListed caps the per-item lists in a Report; the counts stay exact.
const MaxListed = 200

// Add records outcomes in r.
func (r *Report) Add(outs ...Outcome) {
	seen := make(map[string]bool, len(r.Tasks))
	for _, t := range r.Tasks {
		seen[t] = true
	}
	for _, o := range outs {
		switch o.Status {
		case Submitted:
			r.Submitted++
			if o.Reason != "" { // only a collapse gives a submitted job a reason
				r.note(o.Reason)
			}
			for _, id := range TaskIDs(o.TaskID) {
				if !seen[id] {
					seen[id] = true
					r.Tasks = append(r.Tasks, id)
				}
			}
		case Duplicate:
			r.Duplicate++
		case Spilled:
			r.Spilled++
			r.SpilledBy = bump(r.SpilledBy, o.Reason)
		case Rejected:
			r.Rejected++
			r.RejectedBy = bump(r.RejectedBy, o.Reason)
		case Canceled:
			r.Canceled++
		case Waiting:
			r.Waiting++
		case Failed:
			r.Failed++
		}
		if len(r.Outcomes) < MaxListed {
			r.Outcomes = append(r.Outcomes, o)
		} else {
			r.Truncated++
		}
	}
	sort.Strings(r.Tasks)
}

// note adds a collapse note, once.
func (r *Report) note(n string) {
	if len(r.Collapsed) < MaxListed && !slices.Contains(r.Collapsed, n) {
		r.Collapsed = append(r.Collapsed, n)
	}
}

// Merge adds the counts and lists of o to r.
func (r *Report) Merge(o Report) {
	for _, n := range o.Collapsed {
		r.note(n)
	}
	r.Changes += o.Changes
	r.Ignored += o.Ignored
	r.Submitted += o.Submitted
	r.Duplicate += o.Duplicate
	r.Spilled += o.Spilled
	r.Rejected += o.Rejected
	r.Canceled += o.Canceled
	r.Waiting += o.Waiting
	r.Failed += o.Failed
	r.SpilledBy = addCounts(r.SpilledBy, o.SpilledBy)
	r.RejectedBy = addCounts(r.RejectedBy, o.RejectedBy)
	for _, t := range o.Tasks {
		if !slices.Contains(r.Tasks, t) {
			r.Tasks = append(r.Tasks, t)
		}
	}
	sort.Strings(r.Tasks)
	r.Truncated += o.Truncated
	n := min(len(o.IgnoredKeys), MaxListed-len(r.IgnoredKeys))
	r.IgnoredKeys = append(r.IgnoredKeys, o.IgnoredKeys[:n]...)
	r.Truncated += len(o.IgnoredKeys) - n
	n = min(len(o.Outcomes), MaxListed-len(r.Outcomes))
	r.Outcomes = append(r.Outcomes, o.Outcomes[:n]...)
	r.Truncated += len(o.Outcomes) - n
}

func (r *Report) ignore(ig ...Ignored) {
	r.Ignored += len(ig)
	for _, i := range ig {
		if len(r.IgnoredKeys) < MaxListed {
			r.IgnoredKeys = append(r.IgnoredKeys, i)
		} else {
			r.Truncated++
		}
	}
}

func addCounts(dst, src map[string]int) map[string]int {
	for k, n := range src {
		if dst == nil {
			dst = make(map[string]int, len(src))
		}
		dst[k] += n
	}
	return dst
}

func bump(m map[string]int, k string) map[string]int {
	if m == nil {
		m = make(map[string]int)
	}
	m[k]++
	return m
}

// Run carries the changes of one invocation through the flow and reports
// what became of each. A non-nil error means some outcome is not durable
// and the whole invocation should be delivered again; the report still
// counts what happened.
func (p *Pipeline) Run(ctx context.Context, ev Event) (Report, error) {
	r := Report{Changes: len(ev.Changes) + len(ev.Ignored), Tasks: []string{}}
	r.ignore(ev.Ignored...)
	now := p.o.Now()
	var jobs []Job
	for _, c := range ev.Changes {
		js, rejected, why := p.o.Mapper.Map(c)
		if len(js) == 0 && len(rejected) == 0 {
			if why == "" {
				why = "no jobs"
			}
			r.ignore(Ignored{Key: changeName(c), Reason: why})
			continue
		}
		r.Add(rejected...)
		at := c.Time
		if at.IsZero() {
			at = now
		}
		for i := range js {
			js[i].Op, js[i].ChangeTime = c.Op, at
		}
		jobs = append(jobs, js...)
	}
	if len(jobs) == 0 {
		return r, nil
	}
	p.deletes.note(jobs, now)
	outs, err := p.window.Join(ctx, ev.ID, jobs)
	r.Add(outs...)
	return r, err
}

func changeName(c Change) string {
	if c.URL != "" {
		return c.URL
	}
	if c.Bucket == "" {
		return c.Key
	}
	return c.Bucket + "/" + c.Key
}

// Flush plans and submits jobs (free of duplicates) and returns one
// outcome per job, in order. It is the FlushFunc the window calls.
func (p *Pipeline) Flush(ctx context.Context, jobs []Job) ([]Outcome, error) {
	pending := make([]Pending, len(jobs))
	now := p.o.Now()
	for i, j := range jobs {
		pending[i] = Pending{Job: j, FirstSeen: now}
	}
	return p.carryOut(ctx, pending)
}

// superseded returns, for each of work's jobs, whether it is a prefetch of
// a URL whose object was deleted after the job's change: by a delete
// among work, in deleted (URL -> the latest delete's change time, from the
// ledger), or one this pipeline saw recently (last change wins). A deleted
// object is never prefetched.
func (p *Pipeline) superseded(work []Pending, deleted map[string]time.Time) []bool {
	out := make([]bool, len(work))
	last := map[string]time.Time{}
	for u, at := range deleted {
		last[u] = at
	}
	for _, w := range work {
		if w.Job.deletes() && w.Job.ChangeTime.After(last[w.Job.URL]) {
			last[w.Job.URL] = w.Job.ChangeTime
		}
	}
	for i, w := range work {
		if w.Job.Action != ActionPrefetch {
			continue
		}
		d, ok := last[w.Job.URL]
		out[i] = ok && d.After(w.Job.ChangeTime) || p.deletes.after(w.Job.URL, w.Job.ChangeTime)
	}
	return out
}

// Replay submits spilled work again, oldest first as given, within the
// quota and limits. Each URL is put in canonical spelling first
// (CanonicalFor: work spilled before it was applied, or by hand, is
// spelled as a new job would be); a URL that has none is rejected with
// the reason. What still cannot be done is spilled anew with its
// first-seen time kept and one more attempt counted; the caller removes
// the old entries once Replay returns without error.
func (p *Pipeline) Replay(ctx context.Context, work []Pending) ([]Outcome, error) {
	outs := make([]Outcome, len(work))
	again := make([]Pending, 0, len(work))
	at := make([]int, 0, len(work)) // at[k] is the index in work of again[k]
	for i, w := range work {
		w.Attempts++
		u, err := CanonicalFor(w.Job.ObjectType, w.Job.URL)
		if err != nil {
			outs[i] = Outcome{Job: w.Job, Status: Rejected, Reason: err.Error()}
			continue
		}
		w.Job.URL = u
		again = append(again, w)
		at = append(at, i)
	}
	done, err := p.carryOut(ctx, again)
	for k, o := range done {
		outs[at[k]] = o
	}
	return outs, err
}

// carryOut plans and submits the jobs of work and records an outcome for
// each; what is not done is spilled with its reason.
//
// A prefetch of a URL whose refresh is among work follows the purge: it
// is not sent with it (a refresh takes effect minutes after it is
// submitted — RefreshObjectCaches API page — and a prefetch sent now would
// warm the stale copy), but stored as waiting on the refresh's task ids
// (ReasonAfterPurge), for the drain or a completion event to send.
func (p *Pipeline) carryOut(ctx context.Context, work []Pending) ([]Outcome, error) {
	r := &round{p: p, work: work, outs: make([]Outcome, len(work)), at: map[string][]int{}, recorded: make([]bool, len(work))}
	gone := p.superseded(work, nil)
	refreshOf := map[string]int{} // provider|URL -> index of its refresh in work
	for i, w := range work {
		if !gone[i] && w.Job.Action == ActionRefresh && w.Job.ObjectType != CacheTag {
			refreshOf[string(w.Job.Provider.OrDefault())+"|"+w.Job.URL] = i
		}
	}
	var first, followers []int
	for i, w := range work {
		if gone[i] {
			r.outs[i] = Outcome{Job: w.Job, Status: Canceled, Reason: ReasonDeleted}
			continue
		}
		r.outs[i] = Outcome{Job: w.Job}
		if _, ok := refreshOf[string(w.Job.Provider.OrDefault())+"|"+w.Job.URL]; ok && w.Job.Action == ActionPrefetch {
			followers = append(followers, i)
			continue
		}
		first = append(first, i)
	}
	r.run(ctx, first)
	var now []int // followers whose purge was not sent and will not be: they go as they are
	for _, i := range followers {
		ref := r.outs[refreshOf[string(work[i].Job.Provider.OrDefault())+"|"+work[i].Job.URL]]
		switch ref.Status {
		case Submitted:
			w := work[i]
			w.Reason, w.After, w.NotBefore = ReasonAfterPurge, TaskIDs(ref.TaskID), p.o.Now().Add(p.o.PrefetchAfter)
			r.outs[i] = Outcome{Job: w.Job, Status: Waiting, Reason: ReasonAfterPurge, TaskID: ref.TaskID}
			r.pending = append(r.pending, w)
		case Spilled, Failed:
			w := work[i]
			w.Reason = ref.Reason // it waits with its purge, and is replayed with it
			r.outs[i] = Outcome{Job: w.Job, Status: Spilled, Reason: ref.Reason}
			r.pending = append(r.pending, w)
		default:
			now = append(now, i)
		}
	}
	r.run(ctx, now)
	return r.finish(ctx)
}

// round is one carryOut: the outcomes so far, what is to be spilled and
// the tickets of accepted calls.
type round struct {
	p        *Pipeline
	work     []Pending
	outs     []Outcome
	at       map[string][]int // DedupeKey -> indices in work
	recorded []bool
	pending  []Pending
	tickets  []Ticket
}

// set records o for every job of work that j stands for.
func (r *round) set(j Job, o Outcome) {
	for _, i := range r.at[j.DedupeKey()] {
		if r.recorded[i] {
			continue // a duplicate job the plan lists twice
		}
		r.recorded[i] = true
		o.Job = r.work[i].Job
		r.outs[i] = o
		if o.Status == Spilled {
			w := r.work[i]
			w.Reason = o.Reason
			r.pending = append(r.pending, w)
		}
	}
}

// accepted notes the ticket of a call the API accepted with task id(s).
func (r *round) accepted(c Call, task string) {
	t := Ticket{Provider: c.Provider.OrDefault(), Action: c.Action, ObjectType: c.ObjectType, TaskIDs: TaskIDs(task),
		URLs: c.URLs, Submitted: r.p.o.Now(), Attempt: 1, State: TicketOpen}
	for _, j := range c.Jobs {
		if t.Changed.IsZero() || j.ChangeTime.Before(t.Changed) {
			t.Changed = j.ChangeTime
		}
		t.Attempt = max(t.Attempt, 1+j.Resubmits)
	}
	for _, j := range c.Jobs {
		if j.deletes() {
			if t.Deleted == nil {
				t.Deleted = map[string]time.Time{}
			}
			if j.ChangeTime.After(t.Deleted[j.URL]) {
				t.Deleted[j.URL] = j.ChangeTime
			}
		}
	}
	t.Updated = t.Submitted
	for _, u := range c.URLs {
		if n, ok := c.Notes[u]; ok {
			t.Collapsed = append(t.Collapsed, n)
		}
	}
	if len(t.TaskIDs) > 0 {
		r.tickets = append(r.tickets, t)
	}
}

// run plans and submits the jobs of work at idx.
func (r *round) run(ctx context.Context, idx []int) {
	if len(idx) == 0 {
		return
	}
	jobs := make([]Job, len(idx))
	for n, i := range idx {
		jobs[n] = r.work[i].Job
		r.at[jobs[n].DedupeKey()] = append(r.at[jobs[n].DedupeKey()], i)
	}
	p := r.p
	calls, over := p.plan(ctx, jobs)
	spill := func(j Job, reason string) { r.set(j, Outcome{Status: Spilled, Reason: reason}) }
	for _, j := range over {
		spill(j, ReasonQuota)
	}
	exhausted := map[string]string{} // quota kind -> code
	for _, c := range calls {
		if reason := p.stopReason(ctx); reason != "" {
			for _, j := range c.Jobs {
				spill(j, reason)
			}
			continue
		}
		if code, ok := exhausted[quotaKey(c)]; ok {
			for _, j := range c.Jobs {
				spill(j, code)
			}
			continue
		}
		splits := maxSplits
		p.submit(ctx, c, r, exhausted, &splits)
	}
}

// finish spills what was not done and records the tickets of what was.
func (r *round) finish(ctx context.Context) ([]Outcome, error) {
	p, outs := r.p, r.outs
	if len(r.tickets) > 0 && p.o.Ledger != nil {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), spillTimeout)
		err := p.o.Ledger.Append(lctx, r.tickets)
		cancel()
		if err != nil && p.o.LedgerError != nil {
			p.o.LedgerError(err) // the work is done; only its following is lost
		}
	}
	if len(r.pending) == 0 {
		return outs, nil
	}
	if p.o.Spiller == nil {
		fail(outs)
		return outs, fmt.Errorf("refresh: %d jobs could not be submitted and no spill store is configured", len(r.pending))
	}
	// The spill must happen even when the invocation's context has run
	// out: that is exactly when it is needed.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), spillTimeout)
	defer cancel()
	if err := p.o.Spiller.Spill(sctx, r.pending); err != nil {
		fail(outs)
		return outs, fmt.Errorf("refresh: spill %d jobs: %w", len(r.pending), err)
	}
	return outs, nil
}

// fail marks the spilled outcomes of outs Failed: the store did not keep
// them.
func fail(outs []Outcome) {
	for i := range outs {
		if outs[i].Status == Spilled || outs[i].Status == Waiting {
			outs[i].Status = Failed
		}
	}
}

// plan plans the jobs of each provider within that provider's quota:
// refresh calls of every provider first, then prefetch calls.
func (p *Pipeline) plan(ctx context.Context, jobs []Job) (calls []Call, over []Job) {
	var order []Provider
	byProvider := map[Provider][]Job{}
	for _, j := range jobs {
		pr := j.Provider.OrDefault()
		if _, ok := byProvider[pr]; !ok {
			order = append(order, pr)
		}
		byProvider[pr] = append(byProvider[pr], j)
	}
	for _, pr := range order {
		q := NoQuotaLimit
		if p.o.Quota != nil {
			if got, err := p.o.Quota(ctx, pr); err == nil {
				q = got
			}
		}
		pl := p.o.Planner
		if b, ok := pl.(BoundedPlanner); ok {
			if d, ok := ctx.Deadline(); ok {
				pl = b.Within(d.Sub(p.o.Now()) - p.o.DeadlineMargin)
			}
		}
		c, o := pl.Plan(byProvider[pr], q)
		calls, over = append(calls, c...), append(over, o...)
	}
	slices.SortStableFunc(calls, func(a, b Call) int {
		return compareAction(a.Action, b.Action)
	})
	return calls, over
}

func compareAction(a, b Action) int {
	rank := func(x Action) int {
		if x == ActionRefresh {
			return 0
		}
		return 1
	}
	return rank(a) - rank(b)
}

// Reasons recorded for jobs that did not come from an API error.
const (
	ReasonQuota    = "quota"    // spilled: the plan left them out, the daily quota would be exceeded
	ReasonDeadline = "deadline" // spilled: the invocation ran out of time before sending them
	// ReasonInDoubt: spilled, sent but not answered before the deadline:
	// the API may have accepted them. The drain asks the task API before
	// sending them again.
	ReasonInDoubt = "in_doubt"
	ReasonDeleted = "deleted after the change" // canceled: a deleted object is never prefetched
	// ReasonAfterPurge: waiting, a prefetch that follows a purge until the
	// purge's tasks complete (or PrefetchAfter passes).
	ReasonAfterPurge = "after_purge"
)

// DefaultPrefetchAfter is Options.PrefetchAfter's default.
const (
	DefaultPrefetchAfter = 6 * time.Minute
)

const spillTimeout = 10 * time.Second

// maxSplits bounds the halvings of one rejected call: enough to isolate a
// few bad URLs among a thousand (about 2·log2(1000) calls each), never the
// 2n calls a call of only bad URLs would take.
const maxSplits = 64

func (p *Pipeline) stopReason(ctx context.Context) string {
	if ctx.Err() != nil {
		return ReasonDeadline
	}
	if d, ok := ctx.Deadline(); ok && p.o.Now().Add(p.o.DeadlineMargin).After(d) {
		return ReasonDeadline
	}
	return ""
}

// submit sends c and records an outcome for each of its jobs, as the
// verdict of a failure says (see Verdict). When the API refuses a call of
// several URLs because of some of them, the call is split until the bad
// URLs or domains are alone, so that one bad URL never costs the valid
// ones; splits bounds the extra calls that costs.
func (p *Pipeline) submit(ctx context.Context, c Call, r *round, exhausted map[string]string, splits *int) {
	task, err := p.o.Submitter.Submit(ctx, c)
	if err == nil {
		for _, j := range c.Jobs {
			o := Outcome{Status: Submitted, TaskID: task}
			if c.Action == ActionRefresh && c.ObjectType == Directory {
				o.Via = carrier(j.URL, c.URLs)
				o.Reason = c.Notes[o.Via]
			}
			r.set(j, o)
		}
		r.accepted(c, task)
		return
	}
	verdict, code := FailureOf(err)
	all := func(s Status) {
		for _, j := range c.Jobs {
			r.set(j, Outcome{Status: s, Reason: code})
		}
	}
	switch {
	case verdict == Reject,
		verdict == SplitURLs && c.Size() == 1,
		verdict == SplitDomains && len(hosts(c.URLs)) == 1:
		all(Rejected)
	case verdict == SplitURLs || verdict == SplitDomains:
		if ctx.Err() != nil || *splits <= 0 {
			// Out of time or halvings: the valid URLs among these must
			// not be rejected along with the bad ones. Keep them all.
			all(Spilled)
			return
		}
		parts := split(c)
		*splits -= len(parts) - 1
		for _, part := range parts {
			p.submit(ctx, part, r, exhausted, splits)
		}
	default:
		switch {
		case verdict == QuotaSpent:
			exhausted[quotaKey(c)] = code
		case verdict == InDoubt:
			code = ReasonInDoubt
		case ctx.Err() != nil && code == "error":
			code = ReasonDeadline
		}
		all(Spilled)
	}
}

// split divides a call refused for some of its URLs: one part per domain
// when it spans several (a refused domain is then found in one step),
// else two halves.
func split(c Call) []Call {
	hs := hosts(c.URLs)
	if len(hs) < 2 {
		a, b := halve(c)
		return []Call{a, b}
	}
	parts := make([]Call, len(hs))
	at := make(map[string]int, len(hs))
	for i, h := range hs {
		parts[i] = c
		parts[i].URLs, parts[i].Jobs = nil, nil
		at[h] = i
	}
	for _, u := range c.URLs {
		i := at[Hostname(u)]
		parts[i].URLs = append(parts[i].URLs, u)
	}
	for _, j := range c.Jobs {
		i := at[Hostname(carrier(j.URL, c.URLs))]
		parts[i].Jobs = append(parts[i].Jobs, j)
	}
	return parts
}

// hosts lists the distinct domains of urls (Hostname: the API refuses a
// domain whatever the port) in first-seen order.
func hosts(urls []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, u := range urls {
		if h := Hostname(u); !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}

// halve splits a call's URLs in two, each half carrying the jobs whose URL
// it sends or whose URL lies under a directory it sends.
func halve(c Call) (Call, Call) {
	if c.ObjectType == CacheTag {
		return halveTags(c)
	}
	mid := len(c.URLs) / 2
	a, b := c, c
	a.URLs, b.URLs = c.URLs[:mid:mid], c.URLs[mid:]
	a.Jobs, b.Jobs = nil, nil
	inA := make(map[string]bool, mid)
	for _, u := range a.URLs {
		inA[u] = true
	}
	for _, j := range c.Jobs {
		if inA[carrier(j.URL, c.URLs)] {
			a.Jobs = append(a.Jobs, j)
		} else {
			b.Jobs = append(b.Jobs, j)
		}
	}
	return a, b
}

// carrier returns the URL among urls that carries out a job for u: u itself,
// else the longest directory URL that u lies under.
func carrier(u string, urls []string) string {
	best := ""
	u, _ = PrefixForm(u) // the planner compares directories in this form
	for _, x := range urls {
		fx, _ := PrefixForm(x)
		if fx == u {
			return x
		}
		if strings.HasSuffix(fx, "/") && strings.HasPrefix(u, fx) && len(x) > len(best) {
			best = x
		}
	}
	return best
}

// quotaKey names the daily quota a call draws on: provider and kind (CDN
// and DCDN count apart).
func quotaKey(c Call) string { return quotaKeyOf(c.Provider, c.QuotaKind()) }

// direct is the window of a pipeline built without one: each invocation
// flushes its own jobs at once, with duplicates inside it folded.
func direct(flush FlushFunc) Window { return directWindow(flush) }

type directWindow FlushFunc

func (w directWindow) Join(ctx context.Context, _ string, jobs []Job) ([]Outcome, error) {
	first := make(map[string]int, len(jobs))
	var unique []Job
	for _, j := range jobs {
		if _, ok := first[j.DedupeKey()]; !ok {
			first[j.DedupeKey()] = len(unique)
			unique = append(unique, j)
		}
	}
	got, err := w(ctx, unique)
	outs := make([]Outcome, len(jobs))
	used := make(map[string]bool, len(jobs))
	for i, j := range jobs {
		k := j.DedupeKey()
		o := got[first[k]]
		o.Job = j
		if used[k] && o.Status == Submitted {
			o.Status = Duplicate
		}
		used[k] = true
		outs[i] = o
	}
	return outs, err
}
