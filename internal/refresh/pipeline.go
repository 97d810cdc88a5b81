package refresh

import (
	"context"
	"errors"
	"fmt"
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
}

// NewPipeline returns a pipeline built from o.
func NewPipeline(o Options) (*Pipeline, error) {
	if o.Mapper == nil || o.Planner == nil || o.Submitter == nil {
		return nil, errors.New("refresh: NewPipeline needs a Mapper, a Planner and a Submitter")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.DeadlineMargin == 0 {
		o.DeadlineMargin = 500 * time.Millisecond
	}
	p := &Pipeline{o: o}
	if o.Window != nil {
		p.window = o.Window(p.Flush)
	} else {
		p.window = direct(p.Flush)
	}
	return p, nil
}

// Report is the answer of one invocation. Changes counts the records of
// the event (or the items of a request), each once; Ignored counts those of
// them that need no CDN work (the decoder's and the rules' alike). Every
// job a change became is counted once in exactly one of Submitted,
// Duplicate, Spilled, Rejected, Canceled or Failed.
type Report struct {
	Changes    int            `json:"changes"`
	Ignored    int            `json:"ignored"`
	Submitted  int            `json:"submitted"`
	Duplicate  int            `json:"duplicate"`
	Spilled    int            `json:"spilled"`
	Rejected   int            `json:"rejected"`
	Canceled   int            `json:"canceled,omitempty"`
	Failed     int            `json:"failed,omitempty"`
	Tasks      []string       `json:"tasks"`
	SpilledBy  map[string]int `json:"spilled_by,omitempty"`
	RejectedBy map[string]int `json:"rejected_by,omitempty"`
	// IgnoredKeys lists the ignored changes with their reasons, and
	// Outcomes what became of each job, at most MaxListed of each;
	// Truncated counts the entries of both lists left out.
	IgnoredKeys []Ignored `json:"ignored_keys,omitempty"`
	Outcomes    []Outcome `json:"outcomes,omitempty"`
	Truncated   int       `json:"truncated,omitempty"`
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
			for _, id := range strings.Split(o.TaskID, ",") {
				if id = strings.TrimSpace(id); id != "" && !seen[id] {
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

// Merge adds the counts and lists of o to r.
func (r *Report) Merge(o Report) {
	r.Changes += o.Changes
	r.Ignored += o.Ignored
	r.Submitted += o.Submitted
	r.Duplicate += o.Duplicate
	r.Spilled += o.Spilled
	r.Rejected += o.Rejected
	r.Canceled += o.Canceled
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
// among work, or one this pipeline saw recently (last change wins). A
// deleted object is never prefetched.
func (p *Pipeline) superseded(work []Pending) []bool {
	out := make([]bool, len(work))
	last := map[string]time.Time{}
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
func (p *Pipeline) carryOut(ctx context.Context, work []Pending) ([]Outcome, error) {
	outs := make([]Outcome, len(work))
	jobs := make([]Job, 0, len(work))
	at := make(map[string][]int, len(work))
	for i, gone := range p.superseded(work) {
		w := work[i]
		if gone {
			outs[i] = Outcome{Job: w.Job, Status: Canceled, Reason: ReasonDeleted}
			continue
		}
		jobs = append(jobs, w.Job)
		outs[i] = Outcome{Job: w.Job}
		at[w.Job.DedupeKey()] = append(at[w.Job.DedupeKey()], i)
	}
	var pending []Pending
	recorded := make([]bool, len(work))
	set := func(j Job, o Outcome) {
		for _, i := range at[j.DedupeKey()] {
			if recorded[i] {
				continue // a duplicate job the plan lists twice
			}
			recorded[i] = true
			o.Job = work[i].Job
			outs[i] = o
			if o.Status == Spilled {
				w := work[i]
				w.Reason = o.Reason
				pending = append(pending, w)
			}
		}
	}

	calls, over := p.plan(ctx, jobs)
	spill := func(j Job, reason string) { set(j, Outcome{Status: Spilled, Reason: reason}) }
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
		p.submit(ctx, c, set, exhausted, &splits)
	}

	if len(pending) == 0 {
		return outs, nil
	}
	if p.o.Spiller == nil {
		fail(outs)
		return outs, fmt.Errorf("refresh: %d jobs could not be submitted and no spill store is configured", len(pending))
	}
	// The spill must happen even when the invocation's context has run
	// out: that is exactly when it is needed.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), spillTimeout)
	defer cancel()
	if err := p.o.Spiller.Spill(sctx, pending); err != nil {
		fail(outs)
		return outs, fmt.Errorf("refresh: spill %d jobs: %w", len(pending), err)
	}
	return outs, nil
}

// fail marks the spilled outcomes of outs Failed: the store did not keep
// them.
func fail(outs []Outcome) {
	for i := range outs {
		if outs[i].Status == Spilled {
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
		c, o := p.o.Planner.Plan(byProvider[pr], q)
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
func (p *Pipeline) submit(ctx context.Context, c Call, record func(Job, Outcome), exhausted map[string]string, splits *int) {
	task, err := p.o.Submitter.Submit(ctx, c)
	if err == nil {
		for _, j := range c.Jobs {
			record(j, Outcome{Status: Submitted, TaskID: task})
		}
		return
	}
	verdict, code := FailureOf(err)
	all := func(s Status) {
		for _, j := range c.Jobs {
			record(j, Outcome{Status: s, Reason: code})
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
			p.submit(ctx, part, record, exhausted, splits)
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
	for _, x := range urls {
		if x == u {
			return x
		}
		if strings.HasSuffix(x, "/") && strings.HasPrefix(u, x) && len(x) > len(best) {
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
