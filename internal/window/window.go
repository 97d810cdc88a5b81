package window

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// Defaults applied to a zero (or negative) Options field; the config's
// window section defaults to the same values.
const (
	DefaultDuration = refresh.DefaultWindowDuration
	DefaultQuiet    = refresh.DefaultWindowQuiet
	DefaultEventTTL = refresh.DefaultEventTTL
	DefaultMaxBatch = refresh.DefaultMaxBatch
	DefaultMargin   = 3 * time.Second
)

// ReasonRedelivered is the Reason of the Duplicate outcomes Join returns for
// every job of an event that was already carried out.
const ReasonRedelivered = "redelivered"

// Options configure a window. A zero or negative field takes its default.
type Options struct {
	// Duration is how long a window stays open after its first job at
	// most (default 2 s).
	Duration time.Duration
	// Quiet closes a window once no new job has joined it for this long
	// (default 200 ms): an isolated change leaves after about Quiet, a
	// burst still coalesces for up to Duration.
	Quiet time.Duration
	// DedupeTTL is how long a submitted or spilled job makes later copies of
	// it Duplicate, and a submitted directory refresh covers the files
	// beneath it (default Duration).
	DedupeTTL time.Duration
	// EventTTL is how long a carried-out event id makes a redelivery of the
	// event Duplicate (default 10 min).
	EventTTL time.Duration
	// MaxBatch closes a window early as soon as this many unique jobs wait
	// in it, or, while an earlier window flushes, as soon as that flush
	// ends (default 1000). Quiet waits for that flush too.
	MaxBatch int
	// Margin is the time a flush gets at least to plan and submit: a
	// window closes no later than the earliest joined deadline less Margin
	// and less the flush's own margin (see FlushMargin) (default 3 s; keep
	// it above the pipeline's DeadlineMargin, under which no call starts).
	Margin time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// After is the timer (default time.After).
	After func(d time.Duration) <-chan time.Time
	// Logger receives warnings about the shared state (default: discard).
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Duration <= 0 {
		o.Duration = DefaultDuration
	}
	if o.Quiet <= 0 {
		o.Quiet = DefaultQuiet
	}
	if o.DedupeTTL <= 0 {
		o.DedupeTTL = o.Duration
	}
	if o.EventTTL <= 0 {
		o.EventTTL = DefaultEventTTL
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.Margin <= 0 {
		o.Margin = DefaultMargin
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Local is the in-process window: it coalesces the jobs of concurrent
// invocations on one instance. It is safe for concurrent use.
type Local struct {
	c *core
}

// NewLocal returns an in-process window whose closed windows are carried
// out by flush.
func NewLocal(opts Options, flush refresh.FlushFunc) *Local {
	return &Local{c: newCore(opts, flush, nil)}
}

// Join adds jobs to the open window and waits for its flush; see
// refresh.Window. A job already waiting in a window is not added again: the
// first joiner's outcome is the flush's, later copies get Duplicate with the
// same TaskID (a Rejected outcome stays Rejected for every copy). If ctx ends
// first, Join returns its error and the jobs are still flushed for the
// others.
func (l *Local) Join(ctx context.Context, eventID string, jobs []refresh.Job) ([]refresh.Outcome, error) {
	return l.c.join(ctx, eventID, jobs)
}

// shared is the state kept outside the process (Redis). Its methods never
// fail: on an error they fall back to in-process behaviour and say so.
type shared interface {
	// eventDone reports whether event id was already carried out.
	eventDone(ctx context.Context, id string) bool
	// claim tries to take ownership of keys for this instance.
	claim(ctx context.Context, eventID string, keys []string) []claimed
	// covered returns, for each of jobs, a live cover of any instance that
	// carries it out, if any.
	covered(ctx context.Context, jobs []refresh.Job) []*cover
	// settle records a flush's result: marks submitted and spilled jobs,
	// records the batch's covers and releases the other claims, or
	// releases every claim on failure.
	settle(ctx context.Context, b *batch)
	// release gives up claims that turned out not to be needed.
	release(ctx context.Context, keys, vals []string)
	// markEvent records that event id was carried out.
	markEvent(ctx context.Context, id string)
}

// claimed is the answer to one claim.
type claimed struct {
	// val is the claim held ("" when not held in the shared state, e.g.
	// while it is unreachable).
	val string
	// owned is false when another holder has the key; taskID then names
	// the holder's task if known.
	owned  bool
	taskID string
}

// core is the batching machinery shared by Local and Redis.
type core struct {
	o     Options
	flush refresh.FlushFunc
	sh    shared // nil: in-process only

	mu        sync.Mutex
	cur       *batch
	inflight  map[string]slot    // dedupe key -> its place in an open or flushing batch
	seen      map[string]seenURL // dedupe key -> marked until
	covers    map[string]cover   // coverKey -> directory refresh submitted
	events    map[string]time.Time
	nextPrune time.Time
	flushing  int    // closed windows not yet flushed
	last      *batch // the window whose flush started last

	// joined, when set (tests), is called once a Join has placed its jobs
	// and is about to wait, or is about to return without waiting.
	joined func()
}

type seenURL struct {
	until  time.Time
	taskID string
}

type slot struct {
	b *batch
	i int
}

// batch is one window: open until closed, then flushed once.
type batch struct {
	jobs   []refresh.Job
	keys   []string
	claims []string // shared-state claim per job, "" if none

	closeAt time.Time // at the latest: opened + Duration, or before a joiner's deadline
	quietAt time.Time // last job joined + Quiet
	closed  bool
	kick    chan struct{}

	// The flush runs on base's values without its cancellation, bounded by
	// the earliest deadline of the joiners less FlushMargin of that
	// joiner's time (none if none had one): it ends, its calls cut off
	// and its leftovers spilled, while every joiner can still answer —
	// no joiner gives up on a flush that then goes on to submit its jobs.
	base     context.Context
	earliest time.Time
	margin   time.Duration

	done   chan struct{} // closed once outs and err are set
	outs   []refresh.Outcome
	err    error
	covers map[string]cover // recorded by a successful flush, by key
}

func newCore(opts Options, flush refresh.FlushFunc, sh shared) *core {
	if flush == nil {
		flush = func(context.Context, []refresh.Job) ([]refresh.Outcome, error) {
			return nil, errors.New("window: no flush function configured")
		}
	}
	return &core{
		o:        opts.withDefaults(),
		flush:    flush,
		sh:       sh,
		inflight: make(map[string]slot),
		seen:     make(map[string]seenURL),
		covers:   make(map[string]cover),
		events:   make(map[string]time.Time),
	}
}

// ref says where the outcome of one of an invocation's jobs comes from.
type ref struct {
	b     *batch // nil: outcome already known
	i     int
	first bool // this invocation added the job to b
}

func (c *core) join(ctx context.Context, eventID string, jobs []refresh.Job) ([]refresh.Outcome, error) {
	outs := make([]refresh.Outcome, len(jobs))
	if len(jobs) == 0 {
		c.hook()
		return outs, nil
	}
	if err := ctx.Err(); err != nil {
		c.hook()
		return nil, fmt.Errorf("window: join: %w", err)
	}
	if c.eventDone(ctx, eventID) {
		for i, j := range jobs {
			outs[i] = refresh.Outcome{Job: j, Status: refresh.Duplicate, Reason: ReasonRedelivered}
		}
		c.hook()
		return outs, nil
	}

	keys := make([]string, len(jobs))
	for i, j := range jobs {
		keys[i] = j.DedupeKey()
	}
	refs := make([]ref, len(jobs))
	known := make([]bool, len(jobs))
	copyOf := make([]int, len(jobs)) // index of the earlier copy within jobs, or -1
	var fresh []int                  // jobs neither seen nor in flight here

	c.mu.Lock()
	now := c.o.Now()
	first := make(map[string]int, len(jobs))
	for i, k := range keys {
		copyOf[i] = -1
		if f, ok := first[k]; ok {
			copyOf[i] = f
			continue
		}
		first[k] = i
		if s, ok := c.seen[k]; ok && now.Before(s.until) {
			outs[i] = duplicate(jobs[i], s.taskID)
			known[i] = true
			continue
		}
		if sl, ok := c.inflight[k]; ok {
			refs[i] = ref{b: sl.b, i: sl.i}
			continue
		}
		if v, ok := c.coveredLocked(jobs[i], now); ok {
			outs[i] = coveredOutcome(jobs[i], v)
			known[i] = true
			continue
		}
		fresh = append(fresh, i)
	}
	if c.sh == nil {
		c.addLocked(ctx, jobs, keys, fresh, nil, refs)
		c.finishPlacingLocked(ctx, jobs, outs, refs, known, copyOf)
		c.mu.Unlock()
		return c.wait(ctx, eventID, jobs, outs, refs)
	}
	c.mu.Unlock()

	// Outside the lock: the covers of other instances, then the claims
	// of the fresh keys not covered, in the shared state.
	fj := make([]refresh.Job, len(fresh))
	for n, i := range fresh {
		fj[n] = jobs[i]
	}
	var fk []string
	var fi []int
	for n, v := range c.sh.covered(ctx, fj) {
		i := fresh[n]
		if v != nil {
			outs[i] = coveredOutcome(jobs[i], *v)
			known[i] = true
			continue
		}
		fk, fi = append(fk, keys[i]), append(fi, i)
	}
	var mine []int
	var mineVals []string
	for n, cl := range c.sh.claim(ctx, eventID, fk) {
		i := fi[n]
		if cl.owned {
			mine = append(mine, i)
			mineVals = append(mineVals, cl.val)
			continue
		}
		outs[i] = duplicate(jobs[i], cl.taskID)
		known[i] = true
	}
	c.mu.Lock()
	strayKeys, strayVals := c.addLocked(ctx, jobs, keys, mine, mineVals, refs)
	c.finishPlacingLocked(ctx, jobs, outs, refs, known, copyOf)
	c.mu.Unlock()
	if len(strayKeys) > 0 {
		c.sh.release(context.WithoutCancel(ctx), strayKeys, strayVals)
	}
	return c.wait(ctx, eventID, jobs, outs, refs)
}

// addLocked places the jobs at indices idx (first copies, owned by this
// instance) into the open window, opening or rotating windows as needed.
// A job that another invocation of this process placed or marked in the
// meantime is joined instead, and its claim, if any, returned as stray.
func (c *core) addLocked(ctx context.Context, jobs []refresh.Job, keys []string, idx []int, vals []string, refs []ref) (strayKeys, strayVals []string) {
	now := c.o.Now()
	for n, i := range idx {
		k := keys[i]
		val := ""
		if vals != nil {
			val = vals[n]
		}
		if sl, ok := c.inflight[k]; ok {
			refs[i] = ref{b: sl.b, i: sl.i}
			if val != "" {
				strayKeys, strayVals = append(strayKeys, k), append(strayVals, val)
			}
			continue
		}
		b := c.cur
		if b == nil || b.closed {
			b = c.openLocked(now)
		}
		b.jobs = append(b.jobs, jobs[i])
		b.keys = append(b.keys, k)
		b.quietAt = now.Add(c.o.Quiet)
		b.claims = append(b.claims, val)
		sl := slot{b: b, i: len(b.jobs) - 1}
		c.inflight[k] = sl
		refs[i] = ref{b: b, i: sl.i, first: true}
		c.noteJoinerLocked(b, ctx)
		if len(b.jobs) >= c.o.MaxBatch && c.flushing == 0 {
			// While an earlier window flushes, this one waits for its
			// covers (flushBatch closes it when that flush ends).
			c.closeLocked(b)
		}
	}
	return strayKeys, strayVals
}

// finishPlacingLocked resolves copies within one invocation and registers
// the invocation's deadline with every window it waits on.
func (c *core) finishPlacingLocked(ctx context.Context, jobs []refresh.Job, outs []refresh.Outcome, refs []ref, known []bool, copyOf []int) {
	for i, f := range copyOf {
		if f < 0 {
			continue
		}
		if known[f] {
			outs[i] = outs[f]
			outs[i].Job = jobs[i]
			known[i] = true
			continue
		}
		refs[i] = ref{b: refs[f].b, i: refs[f].i}
	}
	for _, r := range refs {
		if r.b != nil {
			c.noteJoinerLocked(r.b, ctx)
		}
	}
}

// openLocked starts a new window and its closer.
func (c *core) openLocked(now time.Time) *batch {
	b := &batch{
		closeAt: now.Add(c.o.Duration),
		quietAt: now.Add(c.o.Quiet),
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	c.cur = b
	go c.run(b)
	return b
}

// noteJoinerLocked lets a joiner's deadline close b early and bound the
// flush.
func (c *core) noteJoinerLocked(b *batch, ctx context.Context) {
	if b.closed {
		return
	}
	d, ok := ctx.Deadline()
	switch {
	case ok && (b.earliest.IsZero() || d.Before(b.earliest)):
		b.earliest, b.base = d, ctx
		b.margin = FlushMargin(d.Sub(c.o.Now()))
	case b.base == nil:
		b.base = ctx
	}
	if ok {
		if by := d.Add(-c.o.Margin - FlushMargin(d.Sub(c.o.Now()))); by.Before(b.closeAt) {
			// Even when by has passed, the closer (not this joiner) closes
			// the batch: the joiner places all its jobs first, so that a
			// late invocation's jobs leave in one flush, not one each.
			b.closeAt = by
			kick(b)
		}
	}
}

func (c *core) closeLocked(b *batch) {
	if b.closed {
		return
	}
	b.closed = true
	c.flushing++
	if c.cur == b {
		c.cur = nil
	}
	kick(b)
}

func kick(b *batch) {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// run closes b when its time comes (or when closed early) and flushes it.
func (c *core) run(b *batch) {
	for {
		c.mu.Lock()
		if !b.closed {
			at := b.closeAt
			if b.quietAt.Before(at) && c.flushing == 0 {
				// While an earlier window flushes, a quiet one waits for
				// its covers too (flushBatch kicks it when that ends).
				at = b.quietAt
			}
			if wait := at.Sub(c.o.Now()); wait > 0 {
				c.mu.Unlock()
				select {
				case <-c.o.After(wait):
				case <-b.kick:
				}
				continue
			}
			c.closeLocked(b)
		}
		ctx, cancel := c.flushContext(b)
		prev := c.last
		c.last = b
		c.mu.Unlock()
		c.after(ctx, prev)
		c.flushBatch(ctx, b)
		cancel()
		return
	}
}

// after waits for the flush of prev, the window closed before, so that
// the directories it refreshed cover this window's files — but no longer
// than leaves this flush Margin before its deadline (Duration when it has
// none): flushes that cannot wait for each other run side by side.
func (c *core) after(ctx context.Context, prev *batch) {
	if prev == nil {
		return
	}
	wait := c.o.Duration
	if d, ok := ctx.Deadline(); ok {
		wait = d.Sub(c.o.Now()) - c.o.Margin
	}
	if wait <= 0 {
		return
	}
	select {
	case <-prev.done:
	case <-c.o.After(wait):
	}
}

func (c *core) flushContext(b *batch) (context.Context, context.CancelFunc) {
	base := b.base
	if base == nil {
		base = context.Background()
	}
	ctx := context.WithoutCancel(base)
	if b.earliest.IsZero() {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, b.earliest.Add(-b.margin))
}

// MinFlushMargin is the least time a flush ends before the earliest
// deadline of its joiners.
const MinFlushMargin = 2 * time.Second

// FlushMargin is how long before a joiner's deadline, left is the time it
// had when it joined, the flush of its window ends: the larger of
// MinFlushMargin and a tenth of left. That time is kept for the flush to
// spill what it did not submit (and to record in doubt the calls it cut
// off) and for the joiner to answer.
func FlushMargin(left time.Duration) time.Duration {
	return max(MinFlushMargin, left/10)
}

func (c *core) flushBatch(ctx context.Context, b *batch) {
	// Jobs a cover recorded since they joined carries out (one of the
	// window flushed just before, say, or another instance's) are
	// Duplicate and not flushed.
	outs := make([]refresh.Outcome, len(b.jobs))
	rest := make([]refresh.Job, 0, len(b.jobs))
	var restAt []int // index in b.jobs of each job in rest
	var shared []*cover
	if c.sh != nil {
		shared = c.sh.covered(ctx, b.jobs)
	}
	c.mu.Lock()
	now := c.o.Now()
	start := now
	for i, j := range b.jobs {
		if v, ok := c.coveredLocked(j, now); ok {
			outs[i] = coveredOutcome(j, v)
			continue
		}
		if shared != nil && shared[i] != nil {
			outs[i] = coveredOutcome(j, *shared[i])
			continue
		}
		rest = append(rest, j)
		restAt = append(restAt, i)
	}
	c.mu.Unlock()

	var got []refresh.Outcome
	var err error
	if len(rest) > 0 {
		got, err = c.callFlush(ctx, rest)
		if err == nil && len(got) != len(rest) {
			err = fmt.Errorf("window: flush returned %d outcomes for %d jobs", len(got), len(rest))
		}
	}
	if len(got) == len(rest) {
		for n, o := range got {
			outs[restAt[n]] = o
		}
	} else {
		outs = nil
	}
	b.outs, b.err = outs, err
	if err == nil {
		b.covers = coversOf(b.jobs, outs, start, c.o.Now().Add(c.o.DedupeTTL))
	}
	if c.sh != nil {
		c.sh.settle(context.WithoutCancel(ctx), b)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	now = c.o.Now()
	for i, k := range b.keys {
		if sl, ok := c.inflight[k]; ok && sl.b == b {
			delete(c.inflight, k)
		}
		if err == nil && marks(outs[i].Status) {
			c.seen[k] = seenURL{until: now.Add(c.o.DedupeTTL), taskID: outs[i].TaskID}
		}
	}
	for k, v := range b.covers {
		c.covers[k] = v
	}
	c.pruneLocked(now)
	c.flushing--
	if n := c.cur; n != nil && c.flushing == 0 {
		if len(n.jobs) >= c.o.MaxBatch {
			c.closeLocked(n) // held while this flush ran: it leaves now
		} else {
			kick(n) // its quiet time may have passed meanwhile
		}
	}
	close(b.done)
}

// coveredLocked returns a live cover that carries out j, if any.
func (c *core) coveredLocked(j refresh.Job, now time.Time) (cover, bool) {
	if len(c.covers) == 0 {
		return cover{}, false
	}
	for _, k := range coverCandidates(j) {
		if v, ok := c.covers[k]; ok && v.carries(j, now) {
			return v, true
		}
	}
	return cover{}, false
}

// callFlush runs the flush, turning a panic into an error so that the
// joiners are answered rather than left waiting.
func (c *core) callFlush(ctx context.Context, jobs []refresh.Job) (outs []refresh.Outcome, err error) {
	defer func() {
		if r := recover(); r != nil {
			outs, err = nil, fmt.Errorf("window: flush of %d jobs panicked: %v", len(jobs), r)
		}
	}()
	return c.flush(ctx, jobs)
}

const pruneEvery = 30 * time.Second

func (c *core) pruneLocked(now time.Time) {
	if now.Before(c.nextPrune) {
		return
	}
	c.nextPrune = now.Add(pruneEvery)
	for k, s := range c.seen {
		if !now.Before(s.until) {
			delete(c.seen, k)
		}
	}
	for k, v := range c.covers {
		if !now.Before(v.until) {
			delete(c.covers, k)
		}
	}
	for id, until := range c.events {
		if !now.Before(until) {
			delete(c.events, id)
		}
	}
}

// wait waits for the windows holding the invocation's jobs and assembles
// its outcomes.
func (c *core) wait(ctx context.Context, eventID string, jobs []refresh.Job, outs []refresh.Outcome, refs []ref) ([]refresh.Outcome, error) {
	c.hook()
	waited := make(map[*batch]bool)
	for _, r := range refs {
		if r.b == nil || waited[r.b] {
			continue
		}
		waited[r.b] = true
		select {
		case <-r.b.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("window: wait for flush: %w", ctx.Err())
		}
	}

	var errs []error
	complete := true
	for b := range waited {
		if b.err != nil {
			errs = append(errs, b.err)
		}
		if b.outs == nil {
			complete = false
		}
	}
	if !complete {
		return nil, errors.Join(errs...)
	}
	for i, r := range refs {
		if r.b == nil {
			continue
		}
		o := r.b.outs[r.i]
		o.Job = jobs[i]
		if !r.first && marks(o.Status) {
			o = duplicate(jobs[i], o.TaskID)
		}
		outs[i] = o
	}
	if len(errs) > 0 {
		return outs, errors.Join(errs...)
	}
	if eventID != "" {
		c.mu.Lock()
		c.events[eventID] = c.o.Now().Add(c.o.EventTTL)
		c.mu.Unlock()
		if c.sh != nil {
			c.sh.markEvent(context.WithoutCancel(ctx), eventID)
		}
	}
	return outs, nil
}

func (c *core) eventDone(ctx context.Context, id string) bool {
	if id == "" {
		return false
	}
	c.mu.Lock()
	until, ok := c.events[id]
	done := ok && c.o.Now().Before(until)
	c.mu.Unlock()
	if !done && c.sh != nil {
		done = c.sh.eventDone(ctx, id)
	}
	return done
}

func (c *core) hook() {
	if c.joined != nil {
		c.joined()
	}
}

// marks reports whether an outcome makes later copies of its job Duplicate.
func marks(s refresh.Status) bool {
	return s == refresh.Submitted || s == refresh.Spilled || s == refresh.Waiting
}

func duplicate(j refresh.Job, taskID string) refresh.Outcome {
	return refresh.Outcome{Job: j, Status: refresh.Duplicate, TaskID: taskID}
}
