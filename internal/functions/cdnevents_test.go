package functions_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/app/apptest"
	"github.com/cdnrefresh/cdnrefresh/internal/config"
	"github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	ossemu "github.com/cdnrefresh/cdnrefresh/internal/emulator/oss"
	"github.com/cdnrefresh/cdnrefresh/internal/functions"
	"github.com/cdnrefresh/cdnrefresh/internal/platform/fc"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/report"
	"github.com/cdnrefresh/cdnrefresh/internal/window/redistest"
)

// followConfig purges and then warms every object of bucket site; the
// spill (and its task ledger) is a directory, or an OSS prefix with the
// window shared through Redis (sharedConfig).
const (
	followConfig = `
rules:
  - {bucket: site, domains: [d.example.com], on_create: both}
window: {duration: 10ms}
spill: {dir: "${SPILL}"}
`
	sharedConfig = `
rules:
  - {bucket: site, exclude: [.cdnrefresh/], domains: [d.example.com], on_create: both}
window: {duration: 10ms, redis_url: "${REDIS}"}
spill: {oss: {bucket: site, prefix: .cdnrefresh/spill/}}
`
)

// taskTime is how long the emulator's tasks take.
const taskTime = 3 * time.Second

// deployment is the functions of one account on one fake clock: the
// oss-refresh function's App, the cdn-events function's (served over FC's
// protocol, where the emulator posts its CDN events when asked) and the
// CDN API emulator, sharing one spill directory.
type deployment struct {
	clock  *apptest.Clock
	emu    *cdn.Server
	oss    *app.App // oss-refresh, and the report function's drain
	events *app.App // cdn-events
}

// store says where the deployment keeps its spill and ledger.
type store int

const (
	files  store = iota // a directory, in-process window
	shared              // OSS (the emulator), window shared through redis-server
)

func newDeployment(t *testing.T, withEvents bool, faults cdn.Faults) *deployment {
	return newDeploymentOn(t, files, withEvents, faults)
}

func newDeploymentOn(t *testing.T, where store, withEvents bool, faults cdn.Faults) *deployment {
	t.Helper()
	clock := apptest.NewClock(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	var fn http.Handler = http.NotFoundHandler()
	var mu sync.Mutex
	fnSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := fn
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(fnSrv.Close)
	o := cdn.Options{Now: clock.Now, TaskDuration: taskTime, DomainURLsPerMinute: -1}
	if withEvents {
		o.EventTarget = fnSrv.URL
	}
	emu, endpoint := apptest.Emulator(t, o)
	emu.Inject(faults)
	env, cfg := map[string]string{"SPILL": t.TempDir()}, followConfig
	if where == shared {
		addr, _ := redistest.Start(t)
		ossSrv := httptest.NewServer(ossemu.New(ossemu.Options{Keys: map[string]string{cdn.AccessKeyID: cdn.AccessKeySecret}, Buckets: []string{"site"}}))
		t.Cleanup(ossSrv.Close)
		env, cfg = map[string]string{"REDIS": "redis://" + addr, config.EnvOSSEndpoint: ossSrv.URL}, sharedConfig
	}
	d := &deployment{clock: clock, emu: emu,
		oss:    apptest.NewApp(t, cfg, endpoint, env, clock.Options()),
		events: apptest.NewApp(t, cfg, endpoint, env, clock.Options())}
	mu.Lock()
	h, err := functions.CDNEvents(d.events)
	if err != nil {
		t.Fatal(err)
	}
	fn = &fc.Server{Event: h.Event}
	mu.Unlock()
	return d
}

// change runs an OSS event of op on keys through oss-refresh, at the
// clock's time.
func (d *deployment) change(t *testing.T, op refresh.Op, keys ...string) refresh.Report {
	t.Helper()
	ev := refresh.Event{ID: fmt.Sprint(op, keys, d.clock.Now())}
	for _, k := range keys {
		ev.Changes = append(ev.Changes, refresh.Change{Source: "oss", Bucket: "site", Key: k, Op: op, Time: d.clock.Now()})
	}
	r, err := d.oss.Pipeline.Run(context.Background(), ev)
	if err != nil {
		t.Fatalf("oss-refresh: %v", err)
	}
	return r
}

// tasks returns the emulator's task records of kind (file, preload) by URL.
func (d *deployment) tasks(kind string) map[string][]cdn.Task {
	out := map[string][]cdn.Task{}
	for _, task := range d.emu.Tasks() {
		if task.ObjectType == kind {
			out[task.ObjectPath] = append(out[task.ObjectPath], task)
		}
	}
	return out
}

func urlOf(key string) string { return "https://d.example.com/" + key }

// TestPrefetchAfterPurge: with on_create: both, the prefetch of each URL
// reaches the API only after that URL's refresh task is Complete — learned
// from a CDN event, or by polling alone — and never for a URL whose object
// was deleted meanwhile.
func TestPrefetchAfterPurge(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		where  store
		events bool
	}{
		{"CDN events", files, true},
		{"polling only", files, false},
		{"CDN events, OSS and Redis", shared, true},
		{"polling only, OSS and Redis", shared, false},
	} {
		events := tt.events
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newDeploymentOn(t, tt.where, events, cdn.Faults{})
			if r := d.change(t, refresh.OpCreate, "a.js", "b.js", "gone.js"); r.Submitted != 3 || r.Waiting != 3 {
				t.Fatalf("create: %+v; want 3 refreshes submitted, 3 prefetches waiting", r)
			}
			d.clock.Advance(time.Second)
			if r := d.change(t, refresh.OpDelete, "gone.js"); r.Submitted != 1 {
				t.Fatalf("delete: %+v; want its refresh submitted", r)
			}
			if n := len(d.tasks("preload")); n != 0 {
				t.Fatalf("%d prefetches reached the API before any purge completed", n)
			}

			d.clock.Advance(taskTime)
			if events {
				if n := d.emu.DeliverEvents(context.Background()); n == 0 {
					t.Fatal("the emulator delivered no CDN event")
				}
			} else {
				d.clock.Advance(2 * time.Minute) // the timer's next drain polls the tasks
				if dr, err := d.oss.Drain(context.Background(), 0); err != nil || dr.Followed.Completed == 0 {
					t.Fatalf("Drain = %+v, %v; want the tasks followed to completion", dr.Followed, err)
				}
			}

			refreshed, warmed := d.tasks("file"), d.tasks("preload")
			for _, k := range []string{"a.js", "b.js"} {
				w, r := warmed[urlOf(k)], refreshed[urlOf(k)]
				if len(w) != 1 || len(r) == 0 {
					t.Errorf("%s: %d prefetches, %d refreshes; want one prefetch after its refresh", k, len(w), len(r))
					continue
				}
				if w[0].Created.Before(r[0].Completed) {
					t.Errorf("%s: prefetched at %v, before its refresh completed at %v", k, w[0].Created, r[0].Completed)
				}
			}
			if w := warmed[urlOf("gone.js")]; len(w) != 0 {
				t.Errorf("gone.js, deleted meanwhile, was prefetched %d times", len(w))
			}
		})
	}
}

// TestFailedTasksResubmittedOnce: with 20% of the tasks ending Failed,
// the URLs of each failed task are sent again exactly once; those that
// fail again are reported, with the API's description, and never sent a
// third time.
func TestFailedTasksResubmittedOnce(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, false, cdn.Faults{TaskFail: 0.2})
	var keys []string
	for i := range 200 {
		keys = append(keys, fmt.Sprintf("f/%03d.css", i))
	}
	d.change(t, refresh.OpDelete, keys...) // refresh only
	for range 3 {                          // three runs of the 10-minute drain
		d.clock.Advance(10 * time.Minute)
		if _, err := d.oss.Drain(context.Background(), 0); err != nil {
			t.Fatal(err)
		}
	}
	sent := map[string]int{}
	failedOnce := 0
	for u, recs := range d.tasks("file") {
		sent[u] = len(recs)
		if recs[0].Failed {
			failedOnce++
		}
	}
	var twice []string
	for _, k := range keys {
		recs := d.tasks("file")[urlOf(k)]
		switch {
		case len(recs) == 0 || len(recs) > 2:
			t.Errorf("%s sent %d times", k, len(recs))
		case recs[0].Failed && len(recs) != 2:
			t.Errorf("%s failed, then was sent %d times in all; want 2", k, len(recs))
		case !recs[0].Failed && len(recs) != 1:
			t.Errorf("%s did not fail, yet was sent %d times", k, len(recs))
		case len(recs) == 2 && recs[1].Failed:
			twice = append(twice, urlOf(k))
		}
	}
	if failedOnce == 0 {
		t.Fatal("no task failed: the test shows nothing")
	}

	r, err := d.oss.Reporter().Gather(context.Background(), d.clock.Now().Add(-time.Hour), refresh.Replayed{})
	if err != nil {
		t.Fatal(err)
	}
	var reported []string
	for _, f := range r.Following.FailedForGood {
		u, why, _ := strings.Cut(f, ": ")
		reported = append(reported, u)
		if why == "" {
			t.Errorf("failed for good %q: no description", f)
		}
	}
	slices.Sort(reported)
	slices.Sort(twice)
	if !slices.Equal(reported, twice) {
		t.Errorf("the report lists %d URLs as failed for good; the emulator failed %d twice:\n%v\n%v", len(reported), len(twice), reported, twice)
	}
	t.Logf("%d of %d URLs failed once and were sent again; %d failed twice; report: %s", failedOnce, len(keys), len(twice), r.Following)
	if !strings.Contains(report.Text(r), "failed for good") && len(twice) > 0 {
		t.Errorf("the report text does not list the URLs that failed for good:\n%s", report.Text(r))
	}
}

// TestFreshnessInTheReport: the report's change → complete percentiles
// per domain are those of the emulator's own completion times.
func TestFreshnessInTheReport(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, true, cdn.Faults{})
	start := d.clock.Now()
	changed := map[string]time.Time{}
	for i := range 20 {
		k := fmt.Sprintf("p/%02d.html", i)
		changed[urlOf(k)] = d.clock.Now()
		d.change(t, refresh.OpDelete, k)
		d.clock.Advance(time.Duration(i) * 100 * time.Millisecond)
	}
	d.clock.Advance(taskTime + time.Minute)
	d.emu.DeliverEvents(context.Background())
	// change → complete by the emulator's completion times, to the second
	// the CDN event gives them in (completeTime is Unix seconds).
	var want []time.Duration
	for _, task := range d.emu.Tasks() {
		want = append(want, task.Completed.Truncate(time.Second).Sub(changed[task.ObjectPath]))
	}
	slices.Sort(want)
	r, err := d.oss.Reporter().Gather(context.Background(), start, refresh.Replayed{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Freshness) != 1 {
		t.Fatalf("freshness = %+v; want one domain", r.Freshness)
	}
	f := r.Freshness[0]
	if f.Tasks != 20 || f.P50 != want[9] || f.P95 != want[18] || f.Max != want[19] {
		t.Errorf("freshness = %+v; want 20 tasks, p50 %v, p95 %v, max %v (the emulator's)", f, want[9], want[18], want[19])
	}
	if !strings.Contains(report.Text(r), "d.example.com: 20 tasks, change → complete p50") {
		t.Errorf("the report text lacks the freshness line:\n%s", report.Text(r))
	}
}
