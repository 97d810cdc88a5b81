package window

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/window/redisconn"
	"github.com/cdnrefresh/cdnrefresh/internal/window/redistest"
)

// instance is one simulated FC instance: its own client, window and flush.
type instance struct {
	w      *Redis
	rec    *recorder
	placed <-chan struct{}
}

func newInstances(t *testing.T, addr string, n int, o Options) []*instance {
	t.Helper()
	var is []*instance
	for i := range n {
		rdb := testClient(t, addr)
		rec := &recorder{name: fmt.Sprint("i", i)}
		w, err := NewRedis(t.Context(), o, rdb, rec.name, rec.flush)
		if err != nil {
			t.Fatalf("NewRedis: %v", err)
		}
		is = append(is, &instance{w: w, rec: rec, placed: joined(w.c)})
	}
	return is
}

// testClient returns a client of the Redis at addr as the functions make
// it, closed with the test. (It goes through Dial rather than a
// redis.Options literal: naming that type makes a package compile some
// 1,700 functions of go-redis's Client again.)
func testClient(t *testing.T, addr string) redis.Cmdable {
	c, err := redisconn.Dial("redis://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.Cmd
}

// TestRedisInstances: 2,000 concurrent invocations carrying 200 distinct
// URLs (10 copies each), spread over 4 instances sharing Redis. Each URL
// reaches a flush exactly once, each instance flushes once for its one
// window, and every answer marks its URL submitted or duplicate.
func TestRedisInstances(t *testing.T) {
	t.Parallel()
	addr, _ := redistest.Start(t)
	clk := newFakeClock()
	is := newInstances(t, addr, 4, Options{Now: clk.Now, After: clk.After})

	const invocations, distinct = 2000, 200
	results := make([]result, invocations)
	var wg sync.WaitGroup
	for i := range invocations {
		wg.Go(func() {
			in := is[i%len(is)]
			u := fmt.Sprintf("https://cdn.example.com/%d", (i/len(is))%distinct)
			outs, err := in.w.Join(context.Background(), fmt.Sprint("evt-", i), jobs(u))
			results[i] = result{outs, err}
		})
	}
	var cores []*core
	for _, in := range is {
		waitJoined(t, in.placed, invocations/len(is))
		cores = append(cores, in.w.c)
	}
	clk.waitTimers(t, openWindows(cores...))
	clk.Advance(DefaultDuration)
	wg.Wait()

	counts := map[refresh.Status]int{}
	for i, r := range results {
		if r.err != nil || len(r.outs) != 1 {
			t.Fatalf("invocation %d: Join = %v, %v; want one outcome", i, r.outs, r.err)
		}
		counts[r.outs[0].Status]++
	}
	if diff := cmp.Diff(map[refresh.Status]int{refresh.Submitted: distinct, refresh.Duplicate: invocations - distinct}, counts); diff != "" {
		t.Errorf("outcome counts mismatch (-want +got):\n%s", diff)
	}
	flushed := map[string]int{}
	for n, in := range is {
		calls := in.rec.Calls()
		if len(calls) > 1 {
			t.Errorf("instance %d flushed %d times in one window, want at most 1", n, len(calls))
		}
		for _, c := range calls {
			for _, j := range c {
				flushed[j.URL]++
			}
		}
	}
	if len(flushed) != distinct {
		t.Errorf("%d distinct URLs reached a flush, want %d", len(flushed), distinct)
	}
	for u, n := range flushed {
		if n != 1 {
			t.Errorf("URL %s reached a flush %d times, want 1", u, n)
		}
	}
}

// TestRedisInstancesRealTime runs invocations against real timers and
// 30 ms windows: no URL reaches two flushes.
func TestRedisInstancesRealTime(t *testing.T) {
	t.Parallel()
	addr, _ := redistest.Start(t)
	is := newInstances(t, addr, 3, Options{Duration: 30 * time.Millisecond, DedupeTTL: time.Minute})
	var wg sync.WaitGroup
	errs := make(chan error, 300)
	for i := range 300 {
		wg.Go(func() {
			time.Sleep(time.Duration(i%10) * 5 * time.Millisecond) // spread over a few windows
			u := fmt.Sprintf("https://cdn.example.com/%d", i%60)
			outs, err := is[i%3].w.Join(context.Background(), fmt.Sprint("evt-", i), jobs(u))
			if err == nil && outs[0].Status != refresh.Submitted && outs[0].Status != refresh.Duplicate {
				err = fmt.Errorf("outcome %v", outs[0])
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Join: %v", err)
		}
	}
	flushed := map[string]int{}
	for _, in := range is {
		for _, c := range in.rec.Calls() {
			for _, j := range c {
				flushed[j.URL]++
			}
		}
	}
	for u, n := range flushed {
		if n != 1 {
			t.Errorf("URL %s reached a flush %d times, want 1", u, n)
		}
	}
	if len(flushed) != 60 {
		t.Errorf("%d distinct URLs reached a flush, want 60", len(flushed))
	}
}

// flushOne joins on in and closes its window.
func flushOne(t *testing.T, clk *fakeClock, in *instance, eventID string, js []refresh.Job) result {
	t.Helper()
	r := joinAsync(context.Background(), in.w, eventID, js)
	waitJoined(t, in.placed, 1)
	if openWindows(in.w.c) > 0 {
		clk.waitTimers(t, 1)
		clk.Advance(DefaultDuration)
	}
	return recv(t, r)
}

func TestRedisEventRedelivered(t *testing.T) {
	t.Parallel()
	addr, _ := redistest.Start(t)
	clk := newFakeClock()
	is := newInstances(t, addr, 2, Options{Now: clk.Now, After: clk.After})

	if r := flushOne(t, clk, is[0], "e1", jobs("u1", "u2")); r.err != nil {
		t.Fatalf("Join(e1) error = %v", r.err)
	}
	clk.Advance(time.Minute) // the dedupe TTL has passed; the event TTL has not
	got, err := is[1].w.Join(context.Background(), "e1", jobs("u1", "u2"))
	if err != nil {
		t.Fatalf("Join(e1) redelivered error = %v", err)
	}
	want := []refresh.Outcome{
		{Job: job("u1"), Status: refresh.Duplicate, Reason: ReasonRedelivered},
		{Job: job("u2"), Status: refresh.Duplicate, Reason: ReasonRedelivered},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Join(e1) redelivered to another instance mismatch (-want +got):\n%s", diff)
	}
	if n := len(is[1].rec.Calls()); n != 0 {
		t.Errorf("redelivered event flushed %d times, want 0", n)
	}
	ttl, err := testClient(t, addr).PTTL(context.Background(), eventKey("e1")).Result()
	if err != nil || ttl <= DefaultEventTTL-time.Minute || ttl > DefaultEventTTL {
		t.Errorf("PTTL(%s) = %v, %v; want about %v", eventKey("e1"), ttl, err, DefaultEventTTL)
	}
}

func TestRedisTaskIDOfOtherInstance(t *testing.T) {
	t.Parallel()
	addr, _ := redistest.Start(t)
	clk := newFakeClock()
	is := newInstances(t, addr, 2, Options{Now: clk.Now, After: clk.After, DedupeTTL: time.Hour})
	if r := flushOne(t, clk, is[0], "e1", jobs("u1")); r.err != nil {
		t.Fatalf("Join(e1) error = %v", r.err)
	}
	got, err := is[1].w.Join(context.Background(), "e2", jobs("u1"))
	if diff := cmp.Diff([]refresh.Outcome{out("u1", refresh.Duplicate, "i0-0")}, got); diff != "" || err != nil {
		t.Errorf("Join(e2) on another instance = %v; diff (-want +got):\n%s", err, diff)
	}
}

func TestRedisFailedFlushReleases(t *testing.T) {
	t.Parallel()
	addr, _ := redistest.Start(t)
	clk := newFakeClock()
	is := newInstances(t, addr, 2, Options{Now: clk.Now, After: clk.After, DedupeTTL: time.Hour})
	errSpill := errors.New("spill store down")
	is[0].rec.answer = func(int, []refresh.Job) ([]refresh.Outcome, error) { return nil, errSpill }

	if r := flushOne(t, clk, is[0], "e1", jobs("u1", "u2")); !errors.Is(r.err, errSpill) {
		t.Fatalf("Join(e1) with a failed flush: error = %v, want %v", r.err, errSpill)
	}
	rdb := testClient(t, addr)
	if n, err := rdb.Exists(context.Background(), urlKey(job("u1").DedupeKey()), eventKey("e1")).Result(); n != 0 || err != nil {
		t.Errorf("after a failed flush %d claim or event keys remain (%v), want 0", n, err)
	}
	// The redelivery, on another instance, is carried out.
	r := flushOne(t, clk, is[1], "e1", jobs("u1", "u2"))
	want := []refresh.Outcome{out("u1", refresh.Submitted, "i1-0"), out("u2", refresh.Submitted, "i1-0")}
	if diff := cmp.Diff(want, r.outs); diff != "" || r.err != nil {
		t.Errorf("Join(e1) redelivered = %v; diff (-want +got):\n%s", r.err, diff)
	}
}

func TestRedisRejectedReleases(t *testing.T) {
	t.Parallel()
	addr, _ := redistest.Start(t)
	clk := newFakeClock()
	is := newInstances(t, addr, 2, Options{Now: clk.Now, After: clk.After, DedupeTTL: time.Hour})
	is[0].rec.answer = func(_ int, js []refresh.Job) ([]refresh.Outcome, error) {
		return []refresh.Outcome{{Job: js[0], Status: refresh.Rejected, Reason: "InvalidObjectPath.Malformed"}}, nil
	}
	if r := flushOne(t, clk, is[0], "e1", jobs("bad")); r.err != nil || r.outs[0].Status != refresh.Rejected {
		t.Fatalf("Join(e1) = %v, %v; want rejected", r.outs, r.err)
	}
	r := flushOne(t, clk, is[1], "e2", jobs("bad"))
	if diff := cmp.Diff([]refresh.Outcome{out("bad", refresh.Submitted, "i1-0")}, r.outs); diff != "" || r.err != nil {
		t.Errorf("Join(e2) after a rejection = %v; want it flushed again (-want +got):\n%s", r.err, diff)
	}
}

// TestRedisClaimTakeover: a claim left pending by an instance that died
// is taken over by a redelivery of the same event, and only by it.
func TestRedisClaimTakeover(t *testing.T) {
	t.Parallel()
	addr, _ := redistest.Start(t)
	clk := newFakeClock()
	is := newInstances(t, addr, 1, Options{Now: clk.Now, After: clk.After})
	rdb := testClient(t, addr)
	dead := pendingPrefix("e1") + "dead#1"
	if err := rdb.Set(context.Background(), urlKey(job("u1").DedupeKey()), dead, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := is[0].w.Join(context.Background(), "e2", jobs("u1"))
	if diff := cmp.Diff([]refresh.Outcome{out("u1", refresh.Duplicate, "")}, got); diff != "" || err != nil {
		t.Errorf("Join(e2) of a URL claimed by e1 = %v; diff (-want +got):\n%s", err, diff)
	}
	<-is[0].placed
	r := flushOne(t, clk, is[0], "e1", jobs("u1"))
	if diff := cmp.Diff([]refresh.Outcome{out("u1", refresh.Submitted, "i0-0")}, r.outs); diff != "" || r.err != nil {
		t.Errorf("Join(e1) redelivered over its own pending claim = %v; diff (-want +got):\n%s", r.err, diff)
	}
}

// TestRedisStoppedMidTest: with Redis gone, invocations still succeed on
// in-process state, one warning is logged, and the shared state resumes
// when Redis is back.
func TestRedisStoppedMidTest(t *testing.T) {
	t.Parallel()
	addr, stop := redistest.Start(t)
	clk := newFakeClock()
	var logs logBuffer
	is := newInstances(t, addr, 1, Options{Now: clk.Now, After: clk.After, DedupeTTL: time.Hour, Logger: logs.logger()})
	in := is[0]
	rdb := testClient(t, addr)

	if r := flushOne(t, clk, in, "e1", jobs("u1")); r.err != nil {
		t.Fatalf("Join(e1) error = %v", r.err)
	}
	if n, _ := rdb.Exists(context.Background(), eventKey("e1")).Result(); n != 1 {
		t.Fatalf("event key not in Redis before the outage")
	}

	stop()
	for i, u := range []string{"u2", "u3"} {
		r := flushOne(t, clk, in, fmt.Sprint("e", i+2), jobs(u))
		if r.err != nil || r.outs[0].Status != refresh.Submitted {
			t.Errorf("Join(%s) with Redis stopped = %v, %v; want submitted", u, r.outs, r.err)
		}
	}
	// In-process dedupe still holds.
	got, err := in.w.Join(context.Background(), "e9", jobs("u2"))
	if err != nil || got[0].Status != refresh.Duplicate {
		t.Errorf("Join(u2 again) with Redis stopped = %v, %v; want duplicate", got, err)
	}
	<-in.placed
	if n := logs.count("level=WARN"); n != 1 {
		t.Errorf("%d warnings logged for one outage, want 1:\n%s", n, logs.String())
	}

	// Redis comes back on the same address; after the retry pause the
	// window uses it again.
	redistest.StartOn(t, addr)
	clk.Advance(retryEvery)
	if r := flushOne(t, clk, in, "e10", jobs("u10")); r.err != nil {
		t.Fatalf("Join(e10) after Redis returned: error = %v", r.err)
	}
	if n, err := rdb.Exists(context.Background(), eventKey("e10"), urlKey(job("u10").DedupeKey())).Result(); n != 2 {
		t.Errorf("after Redis returned, %d of 2 keys written (%v)", n, err)
	}
	if n := logs.count("reachable again"); n != 1 {
		t.Errorf("%d recovery notices logged, want 1", n)
	}
}

func TestRedisUnreachableAtStart(t *testing.T) {
	t.Parallel()
	addr, stop := redistest.Start(t)
	stop()
	var logs logBuffer
	clk := newFakeClock()
	rec := &recorder{name: "t"}
	rdb := testClient(t, addr)
	w, err := NewRedis(t.Context(), Options{Now: clk.Now, After: clk.After, Logger: logs.logger()}, rdb, "", rec.flush)
	if err != nil {
		t.Fatalf("NewRedis with Redis down: error = %v, want a working window", err)
	}
	if logs.count("level=WARN") != 1 {
		t.Errorf("no warning logged for an unreachable Redis:\n%s", logs.String())
	}
	in := &instance{w: w, rec: rec, placed: joined(w.c)}
	if r := flushOne(t, clk, in, "e1", jobs("u1")); r.err != nil || r.outs[0].Status != refresh.Submitted {
		t.Errorf("Join with Redis down = %v, %v; want submitted", r.outs, r.err)
	}
}

func TestNewRedisErrors(t *testing.T) {
	t.Parallel()
	if _, err := NewRedis(t.Context(), Options{}, nil, "i", nil); err == nil {
		t.Error("NewRedis(nil client) error = nil, want one")
	}
}

// TestRedisStoppedWhileWindowOpen: Redis dies between the claims and the
// flush; the joiners are still answered.
func TestRedisStoppedWhileWindowOpen(t *testing.T) {
	t.Parallel()
	addr, stop := redistest.Start(t)
	clk := newFakeClock()
	var logs logBuffer
	is := newInstances(t, addr, 1, Options{Now: clk.Now, After: clk.After, Logger: logs.logger()})
	in := is[0]
	a := joinAsync(context.Background(), in.w, "e1", jobs("u1", "u2"))
	b := joinAsync(context.Background(), in.w, "e2", jobs("u2", "u3"))
	waitJoined(t, in.placed, 2)
	stop()
	clk.waitTimers(t, 1)
	clk.Advance(DefaultDuration)
	counts := map[refresh.Status]int{}
	for _, r := range []result{recv(t, a), recv(t, b)} {
		if r.err != nil {
			t.Fatalf("Join with Redis stopped before the flush: error = %v", r.err)
		}
		for _, o := range r.outs {
			counts[o.Status]++
		}
	}
	if diff := cmp.Diff(map[refresh.Status]int{refresh.Submitted: 3, refresh.Duplicate: 1}, counts); diff != "" {
		t.Errorf("outcome counts mismatch (-want +got):\n%s", diff)
	}
	if n := logs.count("level=WARN"); n != 1 {
		t.Errorf("%d warnings logged for one outage, want 1", n)
	}
}
