package window

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/window/redistest"
)

const pkgDir = "https://d.example.com/pkg/"

// carriedBy answers Submitted with task for every job, and says that the
// refresh of directory dir carried those beneath it, as the pipeline does
// for a directory call.
func carriedBy(dir string, jobs []refresh.Job, task string) []refresh.Outcome {
	outs := submitted(jobs, task)
	for i, j := range jobs {
		if strings.HasPrefix(j.URL, dir) {
			outs[i].Via = dir
		}
	}
	return outs
}

// joinNow joins js on w and expects an answer at once: no time passes on
// the fake clock, so a job that enters a window makes the test fail
// rather than hang.
func joinNow(t *testing.T, w refresh.Window, eventID string, js []refresh.Job) ([]refresh.Outcome, error) {
	t.Helper()
	select {
	case r := <-joinAsync(context.Background(), w, eventID, js):
		return r.outs, r.err
	case <-time.After(5 * time.Second):
		t.Fatalf("Join(%v) not answered at once: its jobs wait in a window", urlsOf(js))
		return nil, nil
	}
}

// flushLocal joins js on l and closes its window.
func flushLocal(t *testing.T, clk *fakeClock, l *Local, placed <-chan struct{}, eventID string, js []refresh.Job) result {
	t.Helper()
	r := joinAsync(context.Background(), l, eventID, js)
	waitJoined(t, placed, 1)
	clk.waitTimers(t, 1)
	clk.Advance(2 * time.Second)
	return recv(t, r)
}

func TestLocalCover(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	rec := &recorder{name: "t"}
	rec.answer = func(n int, js []refresh.Job) ([]refresh.Outcome, error) {
		if n > 0 {
			return submitted(js, rec.task(n)), nil
		}
		return carriedBy(pkgDir, js, rec.task(n)), nil
	}
	const ttl = 10 * time.Second
	l, placed := newTestLocal(clk, rec, Options{DedupeTTL: ttl})
	if r := flushLocal(t, clk, l, placed, "e0", jobs(pkgDir+"x.js")); r.err != nil {
		t.Fatalf("Join(e0) error = %v", r.err)
	}

	with := func(u string, f func(j *refresh.Job)) refresh.Job {
		j := job(u)
		f(&j)
		return j
	}
	tests := []struct {
		name    string
		job     refresh.Job
		covered bool
	}{
		{"file beneath", job(pkgDir + "a/b.js"), true},
		{"host in upper case, query", job("https://D.Example.COM/pkg/c.js?v=1"), true},
		{"IgnoreParams", with(pkgDir+"d.js", func(j *refresh.Job) { j.ObjectType = refresh.IgnoreParams }), true},
		{"no object type", with(pkgDir+"e.js", func(j *refresh.Job) { j.ObjectType = "" }), true},
		{"no provider", with(pkgDir+"f.js", func(j *refresh.Job) { j.Provider = "" }), true},
		{"directory beneath", with(pkgDir+"sub/", func(j *refresh.Job) { j.ObjectType = refresh.Directory }), true},
		{"another host", job("https://e.example.com/pkg/a/b.js"), false},
		{"a sibling with the same prefix", job("https://d.example.com/pkgs/a.js"), false},
		{"another provider", with(pkgDir+"a/b.js", func(j *refresh.Job) { j.Provider = refresh.DCDN }), false},
		{"prefetch", with(pkgDir+"a/b.js", func(j *refresh.Job) { j.Action = refresh.ActionPrefetch }), false},
		{"forcing, under a cover that does not force", with(pkgDir+"a/b.js", func(j *refresh.Job) { j.Force = true }), false},
		{"the directory itself", with(pkgDir, func(j *refresh.Job) { j.ObjectType = refresh.Directory }), false},
		{"regex", with(pkgDir+".*\\.js", func(j *refresh.Job) { j.ObjectType = refresh.Regex }), false},
		{"another Edge Routine", with(pkgDir+"a/b.js", func(j *refresh.Job) { j.Routine = "r.sub" }), false},
		{"changed before the cover's flush", with(pkgDir+"g.js", func(j *refresh.Job) { j.ChangeTime = clk.Now().Add(-3 * time.Second) }), true},
		{"changed after the cover's flush began", with(pkgDir+"h.js", func(j *refresh.Job) { j.ChangeTime = clk.Now().Add(time.Millisecond) }), false},
		{"a delete", with(pkgDir+"i.js", func(j *refresh.Job) { j.Op = refresh.OpDelete }), false},
	}
	var uncovered []refresh.Job
	for _, tt := range tests {
		if !tt.covered {
			uncovered = append(uncovered, tt.job)
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			got, err := joinNow(t, l, "", []refresh.Job{tt.job})
			<-placed
			want := []refresh.Outcome{{Job: tt.job, Status: refresh.Duplicate, TaskID: "t-0", Via: pkgDir}}
			if diff := cmp.Diff(want, got); diff != "" || err != nil {
				t.Errorf("Join(%s) = %v; diff (-want +got):\n%s", tt.job.URL, err, diff)
			}
		})
	}
	if n := len(rec.Calls()); n != 1 {
		t.Errorf("flush called %d times, want once: covered jobs are not flushed", n)
	}

	// The others are flushed.
	r := flushLocal(t, clk, l, placed, "e1", uncovered)
	if r.err != nil {
		t.Fatalf("Join(uncovered) error = %v", r.err)
	}
	for i, o := range r.outs {
		if o.Status != refresh.Submitted || o.TaskID != "t-1" {
			t.Errorf("%s: outcome %+v, want submitted by t-1", tests[i].name, o)
		}
	}
	if calls := rec.Calls(); len(calls) != 2 || len(calls[1]) != len(uncovered) {
		t.Errorf("flush calls %v, want the %d uncovered jobs in the second", calls, len(uncovered))
	}

	// The cover expires after the dedupe TTL.
	clk.Advance(ttl)
	r = flushLocal(t, clk, l, placed, "e2", jobs(pkgDir+"a/b.js"))
	if diff := cmp.Diff([]refresh.Outcome{out(pkgDir+"a/b.js", refresh.Submitted, "t-2")}, r.outs); diff != "" || r.err != nil {
		t.Errorf("Join after the dedupe TTL = %v; diff (-want +got):\n%s", r.err, diff)
	}
}

// TestLocalCoverForcing: a forcing cover carries forcing and other jobs.
func TestLocalCoverForcing(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	rec := &recorder{name: "t"}
	rec.answer = func(n int, js []refresh.Job) ([]refresh.Outcome, error) {
		return carriedBy(pkgDir, js, rec.task(n)), nil
	}
	l, placed := newTestLocal(clk, rec, Options{DedupeTTL: time.Minute})
	dir := refresh.Job{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.Directory, URL: pkgDir, Force: true}
	if r := flushLocal(t, clk, l, placed, "e0", []refresh.Job{dir}); r.err != nil {
		t.Fatalf("Join(e0) error = %v", r.err)
	}
	forcing := job(pkgDir + "a.js")
	forcing.Force = true
	for _, j := range []refresh.Job{forcing, job(pkgDir + "b.js")} {
		got, err := joinNow(t, l, "", []refresh.Job{j})
		<-placed
		want := []refresh.Outcome{{Job: j, Status: refresh.Duplicate, TaskID: "t-0", Via: pkgDir}}
		if diff := cmp.Diff(want, got); diff != "" || err != nil {
			t.Errorf("Join(%s, force %v) = %v; diff (-want +got):\n%s", j.URL, j.Force, err, diff)
		}
	}
}

// blockingRecorder is a recorder whose first flush waits for release, and
// answers as carriedBy(pkgDir).
func blockingRecorder() (rec *recorder, started, release chan struct{}) {
	rec = &recorder{name: "t"}
	started, release = make(chan struct{}, 1), make(chan struct{})
	rec.answer = func(n int, js []refresh.Job) ([]refresh.Outcome, error) {
		if n == 0 {
			started <- struct{}{}
			<-release
		}
		return carriedBy(pkgDir, js, rec.task(n)), nil
	}
	return rec, started, release
}

func waitStarted(t *testing.T, started <-chan struct{}) {
	t.Helper()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("flush did not start within 10s")
	}
}

// TestLocalMaxBatchWhileFlushing: with MaxBatch 2, the jobs that join
// while the first window flushes wait in one window, whatever their
// number, and leave as soon as that flush ends.
func TestLocalMaxBatchWhileFlushing(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	rec, started, release := blockingRecorder()
	l, placed := newTestLocal(clk, rec, Options{MaxBatch: 2})
	var rs []<-chan result
	for i := range 7 {
		rs = append(rs, joinAsync(context.Background(), l, fmt.Sprint("e", i), jobs(fmt.Sprintf("https://x.example.com/%d", i))))
		waitJoined(t, placed, 1)
		if i == 1 {
			waitStarted(t, started)
		}
	}
	if n := len(rec.Calls()); n != 1 {
		t.Fatalf("%d flushes while the first one runs, want 1", n)
	}
	close(release) // no time passes: the held window closes at once
	for i, r := range rs {
		if got := recv(t, r); got.err != nil {
			t.Errorf("Join %d error = %v", i, got.err)
		}
	}
	var sizes []int
	for _, c := range rec.Calls() {
		sizes = append(sizes, len(c))
	}
	if diff := cmp.Diff([]int{2, 5}, sizes); diff != "" {
		t.Errorf("flush sizes mismatch (-want +got):\n%s", diff)
	}
}

// TestLocalCoverAtFlush: jobs that joined the next window before the
// cover was recorded are not flushed: the cover answers them at flush
// time.
func TestLocalCoverAtFlush(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	rec, started, release := blockingRecorder()
	l, placed := newTestLocal(clk, rec, Options{MaxBatch: 2, DedupeTTL: time.Minute})
	a := joinAsync(context.Background(), l, "e1", jobs(pkgDir+"a.js", pkgDir+"b.js"))
	waitJoined(t, placed, 1)
	waitStarted(t, started)
	b := joinAsync(context.Background(), l, "e2", jobs(pkgDir+"c/d.js", "https://o.example.com/e.js", pkgDir+"f.js"))
	waitJoined(t, placed, 1)
	close(release)

	if r := recv(t, a); r.err != nil {
		t.Fatalf("Join(e1) error = %v", r.err)
	}
	r := recv(t, b)
	want := []refresh.Outcome{
		{Job: job(pkgDir + "c/d.js"), Status: refresh.Duplicate, TaskID: "t-0", Via: pkgDir},
		out("https://o.example.com/e.js", refresh.Submitted, "t-1"),
		{Job: job(pkgDir + "f.js"), Status: refresh.Duplicate, TaskID: "t-0", Via: pkgDir},
	}
	if diff := cmp.Diff(want, r.outs); diff != "" || r.err != nil {
		t.Errorf("Join(e2) = %v; diff (-want +got):\n%s", r.err, diff)
	}
	want2 := [][]string{{pkgDir + "a.js", pkgDir + "b.js"}, {"https://o.example.com/e.js"}}
	if diff := cmp.Diff(want2, callURLs(rec)); diff != "" {
		t.Errorf("flush calls mismatch (-want +got):\n%s", diff)
	}
}

// TestLocalCoverAtFlushAll: when the cover carries every job of a window,
// the flush is not called at all.
func TestLocalCoverAtFlushAll(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	rec, started, release := blockingRecorder()
	l, placed := newTestLocal(clk, rec, Options{MaxBatch: 1, DedupeTTL: time.Minute})
	a := joinAsync(context.Background(), l, "e1", jobs(pkgDir+"a.js"))
	waitJoined(t, placed, 1)
	waitStarted(t, started)
	b := joinAsync(context.Background(), l, "e2", jobs(pkgDir+"b.js"))
	c := joinAsync(context.Background(), l, "e3", jobs(pkgDir+"b.js"))
	waitJoined(t, placed, 2)
	close(release)
	recv(t, a)
	for _, r := range []result{recv(t, b), recv(t, c)} {
		want := []refresh.Outcome{{Job: job(pkgDir + "b.js"), Status: refresh.Duplicate, TaskID: "t-0", Via: pkgDir}}
		if diff := cmp.Diff(want, r.outs); diff != "" || r.err != nil {
			t.Errorf("Join(b.js) = %v; diff (-want +got):\n%s", r.err, diff)
		}
	}
	if n := len(rec.Calls()); n != 1 {
		t.Errorf("flush called %d times, want once", n)
	}
}

// TestRedisCoverAcrossInstances: a directory refresh submitted by one
// instance answers the later joins of files beneath it on another.
func TestRedisCoverAcrossInstances(t *testing.T) {
	t.Parallel()
	addr, _ := redistest.Start(t)
	clk := newFakeClock()
	is := newInstances(t, addr, 2, Options{Now: clk.Now, After: clk.After, DedupeTTL: time.Hour})
	is[0].rec.answer = func(n int, js []refresh.Job) ([]refresh.Outcome, error) {
		return carriedBy(pkgDir, js, is[0].rec.task(n)), nil
	}
	if r := flushOne(t, clk, is[0], "e1", jobs(pkgDir+"a.js")); r.err != nil {
		t.Fatalf("Join(e1) error = %v", r.err)
	}
	rdb := testClient(t, addr)
	key := dirKey(coverKey(job(pkgDir), false, pkgDir))
	if ttl, err := rdb.PTTL(context.Background(), key).Result(); err != nil || ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("PTTL(%s) = %v, %v; want about an hour", key, ttl, err)
	}

	u := pkgDir + "sub/b.js"
	got, err := joinNow(t, is[1].w, "e2", jobs(u))
	<-is[1].placed
	want := []refresh.Outcome{{Job: job(u), Status: refresh.Duplicate, TaskID: "i0-0", Via: pkgDir}}
	if diff := cmp.Diff(want, got); diff != "" || err != nil {
		t.Errorf("Join(e2) on another instance = %v; diff (-want +got):\n%s", err, diff)
	}
	if n := len(is[1].rec.Calls()); n != 0 {
		t.Errorf("instance 1 flushed %d times, want 0", n)
	}
	if n, err := rdb.Exists(context.Background(), urlKey(job(u).DedupeKey())).Result(); n != 0 || err != nil {
		t.Errorf("a covered job left a claim (%d, %v), want none", n, err)
	}

	// A forcing job is not carried by that cover: instance 1 flushes it.
	f := job(u)
	f.Force = true
	r := flushOne(t, clk, is[1], "e3", []refresh.Job{f})
	if r.err != nil || r.outs[0].Status != refresh.Submitted || r.outs[0].TaskID != "i1-0" {
		t.Errorf("Join(forcing) = %v, %v; want submitted by i1-0", r.outs, r.err)
	}
}

// TestRedisCoverAtFlushReleases: the claim of a job a cover carried out at
// flush time is released; the cover key answers later copies.
func TestRedisCoverAtFlushReleases(t *testing.T) {
	t.Parallel()
	addr, _ := redistest.Start(t)
	clk := newFakeClock()
	rdb := testClient(t, addr)
	rec, started, release := blockingRecorder()
	w, err := NewRedis(t.Context(), Options{Now: clk.Now, After: clk.After, MaxBatch: 1, DedupeTTL: time.Hour}, rdb, "i0", rec.flush)
	if err != nil {
		t.Fatal(err)
	}
	placed := joined(w.c)
	a := joinAsync(context.Background(), w, "e1", jobs(pkgDir+"a.js"))
	waitJoined(t, placed, 1)
	waitStarted(t, started)
	b := joinAsync(context.Background(), w, "e2", jobs(pkgDir+"b.js"))
	waitJoined(t, placed, 1)
	claim := urlKey(job(pkgDir + "b.js").DedupeKey())
	if n, _ := rdb.Exists(context.Background(), claim).Result(); n != 1 {
		t.Fatalf("b.js not claimed while waiting")
	}
	close(release)
	recv(t, a)
	r := recv(t, b)
	want := []refresh.Outcome{{Job: job(pkgDir + "b.js"), Status: refresh.Duplicate, TaskID: "t-0", Via: pkgDir}}
	if diff := cmp.Diff(want, r.outs); diff != "" || r.err != nil {
		t.Errorf("Join(e2) = %v; diff (-want +got):\n%s", r.err, diff)
	}
	if n, err := rdb.Exists(context.Background(), claim).Result(); n != 0 || err != nil {
		t.Errorf("claim of a job covered at flush time remains (%d, %v), want released", n, err)
	}
}

func TestCoverCandidates(t *testing.T) {
	t.Parallel()
	j := job("https://Cdn.Example.com/a/b/c.js?x=1")
	var dirs []string
	for _, k := range coverCandidates(j) {
		dirs = append(dirs, k[strings.Index(k, "https://"):])
	}
	want := []string{
		"https://cdn.example.com/", "https://cdn.example.com/",
		"https://cdn.example.com/a/", "https://cdn.example.com/a/",
		"https://cdn.example.com/a/b/", "https://cdn.example.com/a/b/",
	}
	if diff := cmp.Diff(want, dirs); diff != "" {
		t.Errorf("coverCandidates(%s) directories mismatch (-want +got):\n%s", j.URL, diff)
	}
	at := time.UnixMilli(1764000000123)
	for _, v := range []cover{{dir: pkgDir, taskID: "123", at: at}, {dir: "https://d/x:y/", taskID: "", at: at}, {dir: pkgDir, taskID: "a:b|c", at: at}} {
		got, ok := parseCover(coverValue(v))
		if !ok || got.taskID != v.taskID || got.dir != v.dir || !got.at.Equal(at) {
			t.Errorf("parseCover(coverValue(%+v)) = %+v, %v", v, got, ok)
		}
	}
	if coverCandidates(refresh.Job{Action: refresh.ActionRefresh, Op: refresh.OpDelete, URL: pkgDir + "a.js"}) != nil {
		t.Error("a delete's refresh has cover candidates; want none (it is work apart)")
	}
}

// TestLocalFlushOrder: a window held while the one before flushes closes
// when that flush ends if it went quiet meanwhile; and when the flush
// before hangs, the next one waits for it only until its own deadline
// less Margin, then flushes anyway and answers its joiner.
func TestLocalFlushOrder(t *testing.T) {
	t.Parallel()
	t.Run("quiet waits for the flush before", func(t *testing.T) {
		t.Parallel()
		clk := newFakeClock()
		rec, started, release := blockingRecorder()
		l, placed := newTestLocal(clk, rec, Options{MaxBatch: 1, Quiet: 100 * time.Millisecond})
		a := joinAsync(context.Background(), l, "e1", jobs("https://x.example.com/1"))
		waitJoined(t, placed, 1)
		waitStarted(t, started)
		b := joinAsync(context.Background(), l, "e2", jobs("https://x.example.com/2", "https://x.example.com/3"))
		waitJoined(t, placed, 1)
		clk.waitTimers(t, 1)
		clk.Advance(time.Second) // quiet, long since: held while the first flush runs
		time.Sleep(20 * time.Millisecond)
		if n := len(rec.Calls()); n != 1 {
			t.Fatalf("%d flushes while the first one runs, want 1", n)
		}
		close(release)
		for _, r := range []<-chan result{a, b} {
			if got := recv(t, r); got.err != nil {
				t.Fatal(got.err)
			}
		}
		if diff := cmp.Diff([][]string{{"https://x.example.com/1"}, {"https://x.example.com/2", "https://x.example.com/3"}}, callURLs(rec)); diff != "" {
			t.Errorf("flush calls (-want +got):\n%s", diff)
		}
	})
	t.Run("the flush before hangs: not past the deadline less Margin", func(t *testing.T) {
		t.Parallel()
		clk := newFakeClock()
		rec, started, release := blockingRecorder()
		defer close(release)
		l, placed := newTestLocal(clk, rec, Options{MaxBatch: 1, Margin: 3 * time.Second})
		_ = joinAsync(context.Background(), l, "e1", jobs("https://x.example.com/1"))
		waitJoined(t, placed, 1)
		waitStarted(t, started)
		ctx, cancel := context.WithDeadline(context.Background(), clk.Now().Add(time.Minute))
		defer cancel()
		b := joinAsync(ctx, l, "e2", jobs("https://x.example.com/2"))
		waitJoined(t, placed, 1)
		clk.waitTimers(t, 1)
		clk.Advance(2 * time.Second) // the window's Duration: it closes, and waits for the first flush
		clk.waitTimers(t, 1)
		clk.Advance(40 * time.Second) // still short of 60 s less the margins
		time.Sleep(20 * time.Millisecond)
		if n := len(rec.Calls()); n != 1 {
			t.Fatalf("%d flushes 42 s in, want 1: the second waits for the first", n)
		}
		clk.Advance(16 * time.Second) // past the deadline less Margin: it goes
		got := recv(t, b)
		if got.err != nil || len(got.outs) != 1 || got.outs[0].Status != refresh.Submitted {
			t.Errorf("Join(e2) = %+v; want submitted by a flush that did not wait for the hung one", got)
		}
	})
}

// TestRedisCoverAtFlushAcrossInstances: a job already waiting in one
// instance's window when another instance's flush records a cover above
// it is carried by that cover: its own flush does not send it.
func TestRedisCoverAtFlushAcrossInstances(t *testing.T) {
	t.Parallel()
	addr, _ := redistest.Start(t)
	clk := newFakeClock()
	rec0 := &recorder{name: "i0"}
	rec0.answer = func(n int, js []refresh.Job) ([]refresh.Outcome, error) {
		return carriedBy(pkgDir, js, rec0.task(n)), nil
	}
	rec1 := &recorder{name: "i1"}
	open := func(id string, d time.Duration, rec *recorder) (*Redis, <-chan struct{}) {
		w, err := NewRedis(t.Context(), Options{Now: clk.Now, After: clk.After, Duration: d, Quiet: d, DedupeTTL: time.Hour}, testClient(t, addr), id, rec.flush)
		if err != nil {
			t.Fatal(err)
		}
		return w, joined(w.c)
	}
	w0, placed0 := open("i0", time.Second, rec0)
	w1, placed1 := open("i1", 5*time.Second, rec1)

	changed := clk.Now().Add(-time.Second) // before either flush
	c := job(pkgDir + "c.js")
	c.ChangeTime = changed
	r1 := joinAsync(context.Background(), w1, "e2", []refresh.Job{c})
	waitJoined(t, placed1, 1)
	a := job(pkgDir + "a.js")
	a.ChangeTime = changed
	r0 := joinAsync(context.Background(), w0, "e1", []refresh.Job{a})
	waitJoined(t, placed0, 1)
	clk.waitTimers(t, 2)
	clk.Advance(time.Second) // instance 0's window closes and records the cover
	if got := recv(t, r0); got.err != nil || got.outs[0].Via != pkgDir {
		t.Fatalf("Join(e1) = %+v; want submitted via %s", got, pkgDir)
	}
	clk.Advance(4 * time.Second) // instance 1's window closes
	got := recv(t, r1)
	want := []refresh.Outcome{{Job: c, Status: refresh.Duplicate, TaskID: "i0-0", Via: pkgDir}}
	if diff := cmp.Diff(want, got.outs); diff != "" || got.err != nil {
		t.Errorf("Join(e2) = %v; diff (-want +got):\n%s", got.err, diff)
	}
	if n := len(rec1.Calls()); n != 0 {
		t.Errorf("instance 1 flushed %d times; want 0: the other's cover carried its job", n)
	}
}
