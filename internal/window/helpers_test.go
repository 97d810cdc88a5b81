package window

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/testrun"
)

var (
	_ refresh.Window  = (*Local)(nil)
	_ refresh.Window  = (*Redis)(nil)
	_ refresh.Limiter = (*LocalLimiter)(nil)
	_ refresh.Limiter = (*RedisLimiter)(nil)
)

// fakeClock is a clock whose timers fire only when the test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

// newFakeClock starts at the real time, so that real context deadlines
// compare sensibly with it.
func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, fakeTimer{at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves the clock and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
			continue
		}
		t.ch <- c.now
	}
	c.timers = kept
}

// waitTimers waits (in real time) until n timers are pending.
func (c *fakeClock) waitTimers(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		got := len(c.timers)
		c.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("fake clock: %d timers pending after 5s, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// sleepClock is a clock on which every wait passes at once, moving the
// clock by the wait: for pacing tests of sequential callers.
type sleepClock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
}

func newSleepClock() *sleepClock { return &sleepClock{now: time.Now()} }

func (c *sleepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *sleepClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept += d
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func (c *sleepClock) Slept() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slept
}

// recorder is a flush that records its calls and answers Submitted with a
// task id naming the recorder and the call.
type recorder struct {
	name string
	// answer, when set, decides the outcome of call n (0-based).
	answer func(n int, jobs []refresh.Job) ([]refresh.Outcome, error)

	// now, when set, times each flush into at.
	now func() time.Time

	mu    sync.Mutex
	calls [][]refresh.Job
	ctxs  []context.Context
	errs  []error // each call's ctx.Err() when it was made
	at    []time.Time
}

func (r *recorder) flush(ctx context.Context, jobs []refresh.Job) ([]refresh.Outcome, error) {
	r.mu.Lock()
	n := len(r.calls)
	r.calls = append(r.calls, slices.Clone(jobs))
	r.ctxs = append(r.ctxs, ctx)
	r.errs = append(r.errs, ctx.Err())
	if r.now != nil {
		r.at = append(r.at, r.now())
	}
	r.mu.Unlock()
	if r.answer != nil {
		return r.answer(n, jobs)
	}
	return submitted(jobs, r.task(n)), nil
}

func (r *recorder) task(n int) string { return fmt.Sprintf("%s-%d", r.name, n) }

func (r *recorder) Calls() [][]refresh.Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func submitted(jobs []refresh.Job, task string) []refresh.Outcome {
	outs := make([]refresh.Outcome, len(jobs))
	for i, j := range jobs {
		outs[i] = refresh.Outcome{Job: j, Status: refresh.Submitted, TaskID: task}
	}
	return outs
}

func job(url string) refresh.Job {
	return refresh.Job{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.File, URL: url}
}

func jobs(urls ...string) []refresh.Job {
	js := make([]refresh.Job, len(urls))
	for i, u := range urls {
		js[i] = job(u)
	}
	return js
}

func urlsOf(js []refresh.Job) []string {
	us := make([]string, len(js))
	for i, j := range js {
		us[i] = j.URL
	}
	return us
}

func out(url string, s refresh.Status, task string) refresh.Outcome {
	return refresh.Outcome{Job: job(url), Status: s, TaskID: task}
}

type result struct {
	outs []refresh.Outcome
	err  error
}

func joinAsync(ctx context.Context, w refresh.Window, eventID string, js []refresh.Job) <-chan result {
	ch := make(chan result, 1)
	go func() {
		outs, err := w.Join(ctx, eventID, js)
		ch <- result{outs, err}
	}()
	return ch
}

// joined returns a channel that receives once per Join that has placed
// its jobs (or returned without waiting).
func joined(c *core) <-chan struct{} {
	ch := make(chan struct{}, 10000)
	c.joined = func() { ch <- struct{}{} }
	return ch
}

func waitJoined(t *testing.T, ch <-chan struct{}, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for i := range n {
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("%d of %d joins placed after 10s", i, n)
		}
	}
}

func recv(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("Join did not return within 10s")
		return result{}
	}
}

// openWindows counts the windows open in cores.
func openWindows(cs ...*core) int {
	n := 0
	for _, c := range cs {
		c.mu.Lock()
		if c.cur != nil {
			n++
		}
		c.mu.Unlock()
	}
	return n
}

// logBuffer is a logger's output, safe for concurrent writes.
type logBuffer struct{ testrun.Buffer }

func (l *logBuffer) count(s string) int { return strings.Count(l.String(), s) }

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, nil))
}
