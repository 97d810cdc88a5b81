package window

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

func newTestLocal(clk *fakeClock, rec *recorder, o Options) (*Local, <-chan struct{}) {
	o.Now, o.After = clk.Now, clk.After
	if o.Duration == 0 {
		o.Duration = 2 * time.Second
	}
	l := NewLocal(o, rec.flush)
	return l, joined(l.c)
}

func TestLocalCoalesces(t *testing.T) {
	t.Parallel()
	clk, rec := newFakeClock(), &recorder{name: "t"}
	l, placed := newTestLocal(clk, rec, Options{DedupeTTL: 10 * time.Second})
	ctx := context.Background()

	a := joinAsync(ctx, l, "e1", jobs("u1", "u2", "u1"))
	waitJoined(t, placed, 1)
	b := joinAsync(ctx, l, "e2", jobs("u2", "u3"))
	waitJoined(t, placed, 1)
	clk.waitTimers(t, 1)
	clk.Advance(2 * time.Second)

	tests := []struct {
		name string
		got  result
		want []refresh.Outcome
	}{
		{"first joiner", recv(t, a), []refresh.Outcome{
			out("u1", refresh.Submitted, "t-0"),
			out("u2", refresh.Submitted, "t-0"),
			out("u1", refresh.Duplicate, "t-0"),
		}},
		{"later joiner", recv(t, b), []refresh.Outcome{
			out("u2", refresh.Duplicate, "t-0"),
			out("u3", refresh.Submitted, "t-0"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got.err != nil {
				t.Fatalf("Join error = %v, want nil", tt.got.err)
			}
			if diff := cmp.Diff(tt.want, tt.got.outs); diff != "" {
				t.Errorf("Join outcomes mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if diff := cmp.Diff([][]string{{"u1", "u2", "u3"}}, callURLs(rec)); diff != "" {
		t.Errorf("flush calls mismatch (-want +got):\n%s", diff)
	}

	// Within the dedupe TTL a job is Duplicate at once, without a flush.
	got, err := l.Join(ctx, "e3", jobs("u3", "u3"))
	if err != nil {
		t.Fatalf("Join(e3) error = %v", err)
	}
	if diff := cmp.Diff([]refresh.Outcome{out("u3", refresh.Duplicate, "t-0"), out("u3", refresh.Duplicate, "t-0")}, got); diff != "" {
		t.Errorf("Join(e3) within dedupe TTL mismatch (-want +got):\n%s", diff)
	}

	// After it, the job is flushed again.
	clk.Advance(10 * time.Second)
	<-placed // e3
	c := joinAsync(ctx, l, "e4", jobs("u3"))
	waitJoined(t, placed, 1)
	clk.waitTimers(t, 1)
	clk.Advance(2 * time.Second)
	r := recv(t, c)
	if diff := cmp.Diff([]refresh.Outcome{out("u3", refresh.Submitted, "t-1")}, r.outs); diff != "" || r.err != nil {
		t.Errorf("Join(e4) after dedupe TTL = %v, %v; diff (-want +got):\n%s", r.outs, r.err, diff)
	}
}

func callURLs(r *recorder) [][]string {
	var got [][]string
	for _, c := range r.Calls() {
		got = append(got, urlsOf(c))
	}
	return got
}

func TestLocalEventRedelivered(t *testing.T) {
	t.Parallel()
	clk, rec := newFakeClock(), &recorder{name: "t"}
	l, placed := newTestLocal(clk, rec, Options{})
	ctx := context.Background()

	first := joinAsync(ctx, l, "e1", jobs("u1", "u2"))
	waitJoined(t, placed, 1)
	clk.waitTimers(t, 1)
	clk.Advance(2 * time.Second)
	if r := recv(t, first); r.err != nil {
		t.Fatalf("Join(e1) error = %v", r.err)
	}
	clk.Advance(time.Minute) // past the dedupe TTL, within the event TTL

	got, err := l.Join(ctx, "e1", jobs("u1", "u2"))
	if err != nil {
		t.Fatalf("Join(e1) again error = %v", err)
	}
	want := []refresh.Outcome{
		{Job: job("u1"), Status: refresh.Duplicate, Reason: ReasonRedelivered},
		{Job: job("u2"), Status: refresh.Duplicate, Reason: ReasonRedelivered},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Join(e1) redelivered mismatch (-want +got):\n%s", diff)
	}
	if n := len(rec.Calls()); n != 1 {
		t.Errorf("flush called %d times, want 1", n)
	}
}

func TestLocalFailedFlush(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	errSpill := errors.New("spill store down")
	rec := &recorder{name: "t", answer: func(n int, js []refresh.Job) ([]refresh.Outcome, error) {
		if n == 0 {
			outs := make([]refresh.Outcome, len(js))
			for i, j := range js {
				outs[i] = refresh.Outcome{Job: j, Status: refresh.Spilled, Reason: "Throttling"}
			}
			return outs, errSpill
		}
		return submitted(js, fmt.Sprint("t-", n)), nil
	}}
	l, placed := newTestLocal(clk, rec, Options{DedupeTTL: time.Hour})
	ctx := context.Background()

	a := joinAsync(ctx, l, "e1", jobs("u1"))
	waitJoined(t, placed, 1)
	b := joinAsync(ctx, l, "e2", jobs("u1", "u2"))
	waitJoined(t, placed, 1)
	clk.waitTimers(t, 1)
	clk.Advance(2 * time.Second)
	for _, r := range []result{recv(t, a), recv(t, b)} {
		if !errors.Is(r.err, errSpill) {
			t.Errorf("Join with a failed flush: error = %v, want %v", r.err, errSpill)
		}
	}

	// The redelivery is carried out, not answered as a duplicate.
	c := joinAsync(ctx, l, "e1", jobs("u1"))
	waitJoined(t, placed, 1)
	clk.waitTimers(t, 1)
	clk.Advance(2 * time.Second)
	r := recv(t, c)
	if r.err != nil {
		t.Fatalf("Join(e1) redelivered error = %v", r.err)
	}
	if diff := cmp.Diff([]refresh.Outcome{out("u1", refresh.Submitted, "t-1")}, r.outs); diff != "" {
		t.Errorf("Join(e1) redelivered mismatch (-want +got):\n%s", diff)
	}
}

func TestLocalOutcomesNotMarked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status refresh.Status
		marked bool
	}{
		{"submitted is marked", refresh.Submitted, true},
		{"spilled is marked", refresh.Spilled, true},
		{"rejected is not marked", refresh.Rejected, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			rec := &recorder{name: "t", answer: func(n int, js []refresh.Job) ([]refresh.Outcome, error) {
				return []refresh.Outcome{{Job: js[0], Status: tt.status, TaskID: "t"}}, nil
			}}
			l, placed := newTestLocal(clk, rec, Options{DedupeTTL: time.Hour})
			for i := range 2 {
				r := joinAsync(t.Context(), l, fmt.Sprint("e", i), jobs("u1"))
				waitJoined(t, placed, 1)
				if i == 1 && tt.marked {
					break
				}
				clk.waitTimers(t, 1)
				clk.Advance(2 * time.Second)
				recv(t, r)
			}
			want := 2
			if tt.marked {
				want = 1
			}
			if n := len(rec.Calls()); n != want {
				t.Errorf("after a %s outcome the next copy was flushed: calls = %d, want %d", tt.status, n, want)
			}
		})
	}
}

func TestLocalRejectedCopies(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	rec := &recorder{name: "t", answer: func(n int, js []refresh.Job) ([]refresh.Outcome, error) {
		return []refresh.Outcome{{Job: js[0], Status: refresh.Rejected, Reason: "InvalidObjectPath.Malformed"}}, nil
	}}
	l, placed := newTestLocal(clk, rec, Options{})
	a := joinAsync(t.Context(), l, "e1", jobs("bad"))
	waitJoined(t, placed, 1)
	b := joinAsync(t.Context(), l, "e2", jobs("bad"))
	waitJoined(t, placed, 1)
	clk.waitTimers(t, 1)
	clk.Advance(2 * time.Second)
	want := []refresh.Outcome{{Job: job("bad"), Status: refresh.Rejected, Reason: "InvalidObjectPath.Malformed"}}
	for i, r := range []result{recv(t, a), recv(t, b)} {
		if diff := cmp.Diff(want, r.outs); diff != "" || r.err != nil {
			t.Errorf("joiner %d: Join = %v, %v; want every copy rejected (-want +got):\n%s", i, r.outs, r.err, diff)
		}
	}
}

func TestLocalBadFlush(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		flush refresh.FlushFunc
	}{
		{"too few outcomes", func(context.Context, []refresh.Job) ([]refresh.Outcome, error) { return nil, nil }},
		{"panic", func(context.Context, []refresh.Job) ([]refresh.Outcome, error) { panic("boom") }},
		{"nil flush", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			l := NewLocal(Options{Now: clk.Now, After: clk.After}, tt.flush)
			placed := joined(l.c)
			r := joinAsync(t.Context(), l, "e1", jobs("u1"))
			waitJoined(t, placed, 1)
			clk.waitTimers(t, 1)
			clk.Advance(DefaultDuration)
			got := recv(t, r)
			if got.err == nil || got.outs != nil {
				t.Errorf("Join = %v, %v; want nil outcomes and an error", got.outs, got.err)
			}
		})
	}
}

func TestLocalEmpty(t *testing.T) {
	t.Parallel()
	rec := &recorder{name: "t"}
	l := NewLocal(Options{}, rec.flush)
	got, err := l.Join(t.Context(), "e1", nil)
	if err != nil || len(got) != 0 {
		t.Errorf("Join(no jobs) = %v, %v; want no outcomes, nil", got, err)
	}
	if n := len(rec.Calls()); n != 0 {
		t.Errorf("flush called %d times for no jobs", n)
	}
}

func TestLocalMaxBatch(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	// Task ids name the first URL of their call: the order of concurrent
	// flushes is not fixed.
	rec := &recorder{name: "t", answer: func(_ int, js []refresh.Job) ([]refresh.Outcome, error) {
		return submitted(js, "t-"+js[0].URL), nil
	}}
	l, placed := newTestLocal(clk, rec, Options{MaxBatch: 3})
	ctx := context.Background()

	// Three unique jobs close the window at once, with no time passing.
	var rs []<-chan result
	for i, u := range []string{"u1", "u2", "u1", "u3"} {
		rs = append(rs, joinAsync(ctx, l, fmt.Sprint("e", i), jobs(u)))
		waitJoined(t, placed, 1)
	}
	for i, r := range rs {
		if got := recv(t, r); got.err != nil {
			t.Errorf("Join %d error = %v", i, got.err)
		}
	}
	// One invocation bigger than a window spans two windows.
	big := joinAsync(ctx, l, "big", jobs("v1", "v2", "v3", "v4", "v5"))
	waitJoined(t, placed, 1)
	clk.waitTimers(t, 1)
	clk.Advance(2 * time.Second)
	r := recv(t, big)
	want := []refresh.Outcome{
		out("v1", refresh.Submitted, "t-v1"),
		out("v2", refresh.Submitted, "t-v1"),
		out("v3", refresh.Submitted, "t-v1"),
		out("v4", refresh.Submitted, "t-v4"),
		out("v5", refresh.Submitted, "t-v4"),
	}
	if diff := cmp.Diff(want, r.outs); diff != "" || r.err != nil {
		t.Errorf("Join(5 jobs, MaxBatch 3) = %v; diff (-want +got):\n%s", r.err, diff)
	}
	got := callURLs(rec)
	slices.SortFunc(got, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	if diff := cmp.Diff([][]string{{"u1", "u2", "u3"}, {"v1", "v2", "v3"}, {"v4", "v5"}}, got); diff != "" {
		t.Errorf("flush calls mismatch (-want +got):\n%s", diff)
	}
}

func TestLocalDeadline(t *testing.T) {
	t.Parallel()
	clk, rec := newFakeClock(), &recorder{name: "t"}
	l, placed := newTestLocal(clk, rec, Options{Duration: 10 * time.Second, Margin: time.Second})

	// Opened by a joiner without a deadline: would close after 10 s.
	a := joinAsync(context.Background(), l, "e1", jobs("u1"))
	waitJoined(t, placed, 1)
	// A joiner due in 8 s makes it close after 5 s: 8 s less the margin
	// (1 s) less the flush margin (2 s: a tenth of 8 s is less).
	short, cancel := context.WithDeadline(context.Background(), clk.Now().Add(8*time.Second))
	defer cancel()
	b := joinAsync(short, l, "e2", jobs("u2"))
	waitJoined(t, placed, 1)
	clk.waitTimers(t, 2)
	clk.Advance(5 * time.Second)
	for i, r := range []result{recv(t, a), recv(t, b)} {
		if r.err != nil {
			t.Errorf("joiner %d: Join error = %v", i, r.err)
		}
	}
	// The flush ends the flush margin before the one joined deadline.
	wantShort, _ := short.Deadline()
	if got, ok := rec.ctxs[0].Deadline(); !ok || !got.Equal(wantShort.Add(-MinFlushMargin)) {
		t.Errorf("flush deadline = %v, %v; want %v, 2 s before the joined deadline", got, ok, wantShort.Add(-MinFlushMargin))
	}

	// A joiner already within the margin closes the window at once.
	late, cancel2 := context.WithDeadline(context.Background(), clk.Now().Add(500*time.Millisecond))
	defer cancel2()
	later, cancel3 := context.WithDeadline(context.Background(), clk.Now().Add(time.Hour))
	defer cancel3()
	c := joinAsync(later, l, "e3", jobs("u3"))
	waitJoined(t, placed, 1)
	d := joinAsync(late, l, "e4", jobs("u4"))
	for i, r := range []result{recv(t, c), recv(t, d)} {
		if r.err != nil {
			t.Errorf("joiner %d: Join error = %v", i, r.err)
		}
	}
	if diff := cmp.Diff([][]string{{"u1", "u2"}, {"u3", "u4"}}, callURLs(rec)); diff != "" {
		t.Errorf("flush calls mismatch (-want +got):\n%s", diff)
	}
	// The flush is bounded by the earliest joined deadline, less its margin.
	wantDL, _ := late.Deadline()
	if got, ok := rec.ctxs[1].Deadline(); !ok || !got.Equal(wantDL.Add(-MinFlushMargin)) {
		t.Errorf("flush deadline = %v, %v; want 2 s before the earliest joined deadline %v", got, ok, wantDL)
	}
}

func TestFlushMargin(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ left, want time.Duration }{
		{time.Second, 2 * time.Second},
		{3 * time.Second, 2 * time.Second},
		{20 * time.Second, 2 * time.Second},
		{60 * time.Second, 6 * time.Second},
		{10 * time.Minute, time.Minute},
	} {
		if got := FlushMargin(tt.left); got != tt.want {
			t.Errorf("FlushMargin(%v) = %v, want %v", tt.left, got, tt.want)
		}
	}
}

func TestLocalCancel(t *testing.T) {
	t.Parallel()
	clk, rec := newFakeClock(), &recorder{name: "t"}
	l, placed := newTestLocal(clk, rec, Options{})

	ctx, cancel := context.WithCancel(context.Background())
	a := joinAsync(ctx, l, "e1", jobs("u1"))
	waitJoined(t, placed, 1)
	b := joinAsync(context.Background(), l, "e2", jobs("u1"))
	waitJoined(t, placed, 1)
	cancel()
	if r := recv(t, a); !errors.Is(r.err, context.Canceled) || r.outs != nil {
		t.Errorf("cancelled Join = %v, %v; want nil, context.Canceled", r.outs, r.err)
	}
	if n := len(rec.Calls()); n != 0 {
		t.Fatalf("flush called %d times before the window closed", n)
	}
	clk.waitTimers(t, 1)
	clk.Advance(2 * time.Second)
	r := recv(t, b)
	if diff := cmp.Diff([]refresh.Outcome{out("u1", refresh.Duplicate, "t-0")}, r.outs); diff != "" || r.err != nil {
		t.Errorf("other joiner's Join = %v; diff (-want +got):\n%s", r.err, diff)
	}
	if err := rec.errs[0]; err != nil {
		t.Errorf("flush context error = %v, want nil: one joiner's cancellation must not cancel the flush", err)
	}

	// A context already done joins nothing.
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if got, err := l.Join(done, "e3", jobs("u9")); !errors.Is(err, context.Canceled) || got != nil {
		t.Errorf("Join(done ctx) = %v, %v; want nil, context.Canceled", got, err)
	}
}

// TestLocalBurst: with one instance, a burst of 1,000 events for 1,000
// distinct URLs reaches the flush in one call, whether it comes as 1,000
// concurrent single-URL invocations or, with instance concurrency 100, as
// 100 invocations of 10 event records each.
func TestLocalBurst(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		invocations, urls int
	}{
		{"1000 invocations of 1 URL", 1000, 1},
		{"concurrency 100, 10 URLs each", 100, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk, rec := newFakeClock(), &recorder{name: "t"}
			l, _ := newTestLocal(clk, rec, Options{})
			var wg sync.WaitGroup
			errs := make(chan error, tt.invocations)
			for i := range tt.invocations {
				wg.Go(func() {
					var js []refresh.Job
					for k := range tt.urls {
						js = append(js, job(fmt.Sprintf("https://cdn.example.com/%d/%d", i, k)))
					}
					outs, err := l.Join(context.Background(), fmt.Sprint("e", i), js)
					if err == nil {
						for _, o := range outs {
							if o.Status != refresh.Submitted {
								err = fmt.Errorf("outcome %v, want submitted", o)
							}
						}
					}
					errs <- err
				})
			}
			wg.Wait() // no time passes: the full window closes itself
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			calls := rec.Calls()
			if len(calls) != 1 || len(calls[0]) != 1000 {
				sizes := make([]int, len(calls))
				for i, c := range calls {
					sizes[i] = len(c)
				}
				t.Errorf("flush calls carried %v jobs, want one call of 1000", sizes)
			}
		})
	}
}

func BenchmarkLocalJoin(b *testing.B) {
	l := NewLocal(Options{Duration: 5 * time.Millisecond, MaxBatch: 64}, func(_ context.Context, js []refresh.Job) ([]refresh.Outcome, error) {
		return submitted(js, "t"), nil
	})
	var n sync.Mutex
	i := 0
	b.SetParallelism(64)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n.Lock()
			i++
			u := fmt.Sprintf("https://cdn.example.com/%d", i%5000)
			n.Unlock()
			if _, err := l.Join(context.Background(), "", jobs(u)); err != nil {
				b.Error(err)
			}
		}
	})
}

// TestLocalQuiet: a window closes once no job has joined it for Quiet —
// an isolated change does not wait out Duration — while jobs that keep
// coming keep it open until Duration.
func TestLocalQuiet(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	rec := &recorder{name: "t", now: clk.Now}
	l, placed := newTestLocal(clk, rec, Options{Duration: 2 * time.Second, Quiet: 200 * time.Millisecond})

	// One isolated job: flushed after 200 ms.
	opened := clk.Now()
	a := joinAsync(context.Background(), l, "e1", jobs("u1"))
	waitJoined(t, placed, 1)
	clk.waitTimers(t, 1)
	clk.Advance(199 * time.Millisecond)
	clk.waitTimers(t, 1) // still open: the closer waits again
	clk.Advance(time.Millisecond)
	if r := recv(t, a); r.err != nil {
		t.Fatalf("Join: %v", r.err)
	}
	if got := rec.at[0].Sub(opened); got != 200*time.Millisecond {
		t.Errorf("an isolated job was flushed %v after it joined, want 200ms", got)
	}

	// A job every 150 ms: the window stays open for its full 2 s.
	opened = clk.Now()
	var rs []<-chan result
	for i := range 20 {
		rs = append(rs, joinAsync(context.Background(), l, fmt.Sprint("b", i), jobs(fmt.Sprint("v", i))))
		waitJoined(t, placed, 1)
		clk.waitTimers(t, 1)
		clk.Advance(150 * time.Millisecond)
		if i == 13 { // past 2 s: the window closes before the next job comes
			waitFlushes(t, rec, 2)
		}
	}
	clk.waitTimers(t, 1)
	clk.Advance(200 * time.Millisecond) // the last six, quiet at last
	for _, r := range rs {
		if res := recv(t, r); res.err != nil {
			t.Fatalf("Join: %v", res.err)
		}
	}
	if len(rec.calls) != 3 || len(rec.calls[1]) != 14 || len(rec.calls[2]) != 6 {
		t.Errorf("flushes of %v jobs; want 1, then the 14 jobs of the first 2 s in one flush, then the last 6", flushSizes(rec))
	}
	// The clock steps 150 ms at a time: the timer due at 2 s fires at 2.1 s.
	if got := rec.at[1].Sub(opened); got < 2*time.Second || got > 2100*time.Millisecond {
		t.Errorf("a busy window was flushed %v after it opened, want at its 2 s (the step that reaches it)", got)
	}
}

// waitFlushes waits (in real time) until r has been called n times.
func waitFlushes(t *testing.T, r *recorder, n int) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); len(flushSizes(r)) < n; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%d flushes after 5 s, want %d", len(flushSizes(r)), n)
		}
	}
}

func flushSizes(r *recorder) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n []int
	for _, c := range r.calls {
		n = append(n, len(c))
	}
	return n
}

// BenchmarkIsolatedChange measures, on the real clock, how long one
// change that nothing else joins waits before its flush: with the
// adaptive window (window.quiet, default 200 ms) and with a fixed 2 s
// window (quiet as long as the window), side by side.
func BenchmarkIsolatedChange(b *testing.B) {
	for _, bb := range []struct {
		name  string
		quiet time.Duration
	}{
		{"adaptive", 0}, // DefaultQuiet
		{"fixed-2s", DefaultDuration},
	} {
		b.Run(bb.name, func(b *testing.B) {
			var mu sync.Mutex
			var flushedAt time.Time
			l := NewLocal(Options{Quiet: bb.quiet}, func(_ context.Context, js []refresh.Job) ([]refresh.Outcome, error) {
				mu.Lock()
				flushedAt = time.Now()
				mu.Unlock()
				return submitted(js, "t"), nil
			})
			var total time.Duration
			for i := 0; b.Loop(); i++ {
				start := time.Now()
				if _, err := l.Join(context.Background(), "", jobs(fmt.Sprint("https://cdn.example.com/", i))); err != nil {
					b.Fatal(err)
				}
				mu.Lock()
				total += flushedAt.Sub(start)
				mu.Unlock()
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms_to_submit")
		})
	}
}
