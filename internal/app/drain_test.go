package app_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/app/apptest"
	"github.com/cdnrefresh/cdnrefresh/internal/config"
	cdnemu "github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// request is one request the CDN emulator received, as the test saw it.
type request struct {
	Action, ObjectType, Status, Page, PageSize, Start string
	At                                                time.Time // on the App's clock
}

// world is an App wired to a CDN emulator on 127.0.0.1 and a spill
// directory of its own.
type world struct {
	emu   *cdnemu.Server
	app   *app.App
	clock *apptest.Clock

	mu       sync.Mutex
	requests []request
}

// worldConfig is the YAML of a world's App; the first %s is replaced by
// more rules, the second by more top-level keys.
const worldConfig = `
rules:
  - bucket: site
    domains: [static.example.com]
%s
%s
spill: {dir: "${SPILL_DIR}"}
`

func newWorld(t *testing.T, emu cdnemu.Options, extra string) *world {
	t.Helper()
	return newWorldRules(t, emu, "", extra)
}

func newWorldRules(t *testing.T, emu cdnemu.Options, rules, extra string) *world {
	t.Helper()
	clock := apptest.NewClock(time.Date(2025, 6, 1, 2, 0, 0, 0, time.UTC))
	if emu.Now == nil {
		emu.Now = clock.Now // one clock for the App and the account it talks to
	}
	w := &world{emu: cdnemu.New(emu), clock: clock}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err == nil {
			f := r.Form
			w.mu.Lock()
			w.requests = append(w.requests, request{
				Action: f.Get("Action"), ObjectType: f.Get("ObjectType"), Status: f.Get("Status"),
				Page: f.Get("PageNumber"), PageSize: f.Get("PageSize"), Start: f.Get("StartTime"), At: w.clock.Now(),
			})
			w.mu.Unlock()
		}
		w.emu.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	env := map[string]string{
		config.EnvCDNEndpoint:     srv.URL,
		config.EnvAccessKeyID:     cdnemu.AccessKeyID,
		config.EnvAccessKeySecret: cdnemu.AccessKeySecret,
		"SPILL_DIR":               t.TempDir(),
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(worldConfig, rules, extra)), func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config.Parse: %v", err)
	}
	w.app, err = app.New(context.Background(), cfg, w.clock.Options())
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	t.Cleanup(func() { w.app.Close() })
	return w
}

// seen returns the requests of action received so far.
func (w *world) seen(action string) []request {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []request
	for _, r := range w.requests {
		if r.Action == action {
			out = append(out, r)
		}
	}
	return out
}

// spillJobs stores n refresh jobs, https://static.example.com/f/00000.txt
// and on, first seen a second apart in that order, written newest first in
// objects of at most 1,000 entries (so that Load must sort them).
func (w *world) spillJobs(t *testing.T, n int, job func(i int) refresh.Job) {
	t.Helper()
	base := time.Date(2025, 5, 31, 0, 0, 0, 0, time.UTC)
	all := make([]refresh.Pending, n)
	for i := range all {
		all[i] = refresh.Pending{Job: job(i), Reason: "QuotaExceeded.Refresh", FirstSeen: base.Add(time.Duration(i) * time.Second)}
	}
	for hi := n; hi > 0; hi -= 1000 {
		if err := w.app.Spill.Spill(context.Background(), all[max(hi-1000, 0):hi]); err != nil {
			t.Fatalf("Spill: %v", err)
		}
	}
}

func fileJob(i int) refresh.Job {
	return refresh.Job{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.File, URL: jobURL("static.example.com", i)}
}

func jobURL(host string, i int) string { return fmt.Sprintf("https://%s/f/%05d.txt", host, i) }

// left is what remains in the spill: URL and attempts, oldest first.
type left struct {
	URL      string
	Attempts int
}

func (w *world) left(t *testing.T) []left {
	t.Helper()
	entries, err := w.app.Spill.Load(context.Background())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	out := []left{}
	for _, e := range entries {
		out = append(out, left{e.Pending.Job.URL, e.Pending.Attempts})
	}
	return out
}

// submitted returns every URL the emulator accepted a refresh or prefetch
// for, in order.
func (w *world) submitted() []string {
	var urls []string
	for _, c := range w.emu.Calls() {
		urls = append(urls, c.URLs...)
	}
	return urls
}

func TestDrainAcrossQuotaResets(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cdnemu.Options{URLQuota: 1000}, "limits: {dir_collapse_threshold: 0}") // spends the URL quota day by day
	w.spillJobs(t, 2500, fileJob)
	ctx := context.Background()

	steps := []struct {
		name       string
		resetQuota bool
		want       refresh.Drained
		wantLeft   int // entries left, the newest
	}{
		{"first drain spends the quota on the oldest", false,
			refresh.Drained{Replayed: refresh.Replayed{Submitted: 1000}, Kept: 1500}, 1500},
		{"no quota left: nothing touched", false, refresh.Drained{Kept: 1500}, 1500},
		{"after a reset", true, refresh.Drained{Replayed: refresh.Replayed{Submitted: 1000}, Kept: 500}, 500},
		{"after another reset the rest", true, refresh.Drained{Replayed: refresh.Replayed{Submitted: 500}}, 0},
	}
	for _, s := range steps {
		if s.resetQuota {
			// The next day: the account's quota and the App's cached view
			// of it both roll over at 00:00 UTC+8.
			w.clock.Advance(24 * time.Hour)
			w.emu.ResetQuota()
		}
		got, err := w.app.Drain(ctx, 0)
		if err != nil {
			t.Fatalf("%s: Drain: %v", s.name, err)
		}
		if diff := cmp.Diff(s.want, got, cmpopts.IgnoreFields(refresh.Drained{}, "Followed")); diff != "" {
			t.Errorf("%s: Drain mismatch (-want +got):\n%s", s.name, diff)
		}
		var want []left
		for i := 2500 - s.wantLeft; i < 2500; i++ {
			want = append(want, left{jobURL("static.example.com", i), 0})
		}
		if diff := cmp.Diff(want, w.left(t), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: spill left mismatch (-want +got):\n%s", s.name, diff)
		}
	}

	urls := w.submitted()
	var want []string
	for i := range 2500 {
		want = append(want, jobURL("static.example.com", i))
	}
	if diff := cmp.Diff(want, urls); diff != "" {
		t.Errorf("URLs submitted, in order, each once (-want +got):\n%s", diff)
	}
	if n := len(w.seen("RefreshObjectCaches")); n != 3 {
		t.Errorf("RefreshObjectCaches calls = %d, want 3 (one per 1,000 URLs, none refused)", n)
	}
}

// mapperFunc lets a function serve as a refresh.Mapper.
type mapperFunc func(refresh.Change) ([]refresh.Job, []refresh.Outcome, string)

func (f mapperFunc) Map(c refresh.Change) ([]refresh.Job, []refresh.Outcome, string) { return f(c) }

type spillerFunc func(context.Context, []refresh.Pending) error

func (f spillerFunc) Spill(ctx context.Context, p []refresh.Pending) error { return f(ctx, p) }

func TestDrainKeepsEntriesWhenTheSpillFails(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cdnemu.Options{}, "")
	w.spillJobs(t, 5, fileJob)
	// The replay cannot spill again what fails: the old entries must stay.
	p, err := refresh.NewPipeline(refresh.Options{
		Mapper:    mapperFunc(func(refresh.Change) ([]refresh.Job, []refresh.Outcome, string) { return nil, nil, "" }),
		Planner:   w.app.Planner,
		Submitter: w.app.CDN,
		Spiller: spillerFunc(func(context.Context, []refresh.Pending) error {
			return errors.New("disk full")
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	w.app.Pipeline = p
	w.emu.Inject(cdnemu.Faults{Throttle: 1})
	got, err := w.app.Drain(context.Background(), 0)
	if err == nil {
		t.Fatalf("Drain = %+v, nil error; want the spill's error", got)
	}
	if want := (refresh.Drained{Kept: 5}); !cmp.Equal(want, got, cmpopts.IgnoreFields(refresh.Drained{}, "Notes", "Followed")) {
		t.Errorf("Drain = %+v, want %+v", got, want)
	}
	var want []left
	for i := range 5 {
		want = append(want, left{jobURL("static.example.com", i), 0})
	}
	if diff := cmp.Diff(want, w.left(t)); diff != "" {
		t.Errorf("spill left mismatch (-want +got):\n%s", diff)
	}
}

func TestDrain(t *testing.T) {
	t.Parallel()
	prefetch := func(i int) refresh.Job {
		j := fileJob(i)
		j.Action = refresh.ActionPrefetch
		return j
	}
	tests := []struct {
		name      string
		emu       cdnemu.Options
		faults    cdnemu.Faults
		extra     string // config
		n         int
		job       func(i int) refresh.Job
		limit     int
		timeout   time.Duration // of the drain's context; 0: none
		want      refresh.Drained
		wantNotes int
		wantLeft  []left
	}{
		{
			name: "limit takes the oldest",
			n:    5, job: fileJob, limit: 2,
			want:     refresh.Drained{Replayed: refresh.Replayed{Submitted: 2}, Kept: 3},
			wantLeft: []left{{jobURL("static.example.com", 2), 0}, {jobURL("static.example.com", 3), 0}, {jobURL("static.example.com", 4), 0}},
		},
		{
			name: "URL reserve is kept",
			emu:  cdnemu.Options{URLQuota: 12}, extra: "limits: {quota_reserve: 10}",
			n: 3, job: fileJob,
			want:     refresh.Drained{Replayed: refresh.Replayed{Submitted: 2}, Kept: 1},
			wantLeft: []left{{jobURL("static.example.com", 2), 0}},
		},
		{
			name: "prefetch quota",
			emu:  cdnemu.Options{PreloadQuota: 1},
			n:    3, job: prefetch,
			want:     refresh.Drained{Replayed: refresh.Replayed{Submitted: 1}, Kept: 2},
			wantLeft: []left{{jobURL("static.example.com", 1), 0}, {jobURL("static.example.com", 2), 0}},
		},
		{
			name: "a refused URL is rejected and removed",
			emu:  cdnemu.Options{Domains: []string{"static.example.com"}},
			n:    3,
			job: func(i int) refresh.Job {
				j := fileJob(i)
				if i == 1 {
					j.URL = jobURL("other.example.com", i)
				}
				return j
			},
			want: refresh.Drained{Replayed: refresh.Replayed{
				Submitted: 2, Rejected: 1, ByReason: map[string]int{"InvalidDomain.NotFound": 1},
			}},
			wantLeft: []left{},
		},
		{
			name:   "throttled: spilled again with one more attempt",
			faults: cdnemu.Faults{Throttle: 1},
			n:      2, job: fileJob,
			want: refresh.Drained{Replayed: refresh.Replayed{
				Spilled: 2, ByReason: map[string]int{"TooManyRequests": 2},
			}},
			wantNotes: 1, // the quota could not be read either
			wantLeft:  []left{{jobURL("static.example.com", 0), 1}, {jobURL("static.example.com", 1), 1}},
		},
		{
			name: "no time left: nothing touched",
			n:    2, job: fileJob, timeout: 2 * time.Second,
			want:     refresh.Drained{Kept: 2},
			wantLeft: []left{{jobURL("static.example.com", 0), 0}, {jobURL("static.example.com", 1), 0}},
		},
		{
			name:     "empty spill",
			want:     refresh.Drained{},
			wantLeft: []left{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, tt.emu, tt.extra)
			if tt.n > 0 {
				w.spillJobs(t, tt.n, tt.job)
			}
			w.emu.Inject(tt.faults)
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			got, err := w.app.Drain(ctx, tt.limit)
			if err != nil {
				t.Fatalf("Drain: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(refresh.Drained{}, "Notes", "Followed")); diff != "" {
				t.Errorf("Drain mismatch (-want +got):\n%s", diff)
			}
			if len(got.Notes) != tt.wantNotes {
				t.Errorf("Drain notes = %q, want %d", got.Notes, tt.wantNotes)
			}
			if diff := cmp.Diff(tt.wantLeft, w.left(t)); diff != "" {
				t.Errorf("spill left mismatch (-want +got):\n%s", diff)
			}
			// Every URL submitted is one the spill held and no longer holds.
			held := map[string]bool{}
			for _, l := range w.left(t) {
				held[l.URL] = true
			}
			urls := w.submitted()
			sort.Strings(urls)
			if i := slices.IndexFunc(urls, func(u string) bool { return held[u] }); i >= 0 {
				t.Errorf("URL %s was submitted and is still spilled", urls[i])
			}
			if n := len(slices.Compact(urls)); n != len(urls) {
				t.Errorf("%d URLs submitted, %d distinct", len(urls), n)
			}
		})
	}
}

func TestDrainReportsUnreadableSpill(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cdnemu.Options{}, "")
	w.spillJobs(t, 2, fileJob)
	dir := w.app.Config.Spill.Dir
	name := fmt.Sprintf("%020d-%016x.json", 1, 1)
	if err := os.WriteFile(filepath.Join(dir, name), []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := w.app.Drain(context.Background(), 0)
	if err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if got.Submitted != 2 || len(got.Notes) != 1 {
		t.Errorf("Drain = %+v, want 2 submitted and a note on the unreadable object", got)
	}
}

// TestSmallDomainBudget: with limits.domain_urls_per_minute under the
// API's 1,000 URLs a call, calls are planned within it, so the limiter
// never refuses one outright and the work goes through.
func TestSmallDomainBudget(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cdnemu.Options{}, "limits: {domain_urls_per_minute: 500}")
	var work []refresh.Pending
	for i := range 600 {
		work = append(work, refresh.Pending{Job: fileJob(i), Reason: "quota", FirstSeen: w.clock.Now()})
	}
	if err := w.app.Spill.Spill(context.Background(), work); err != nil {
		t.Fatal(err)
	}
	d, err := w.app.Drain(context.Background(), 0)
	if err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if d.Submitted != 600 || d.Spilled != 0 {
		t.Errorf("Drain = %d submitted, %d spilled again; want all 600 submitted", d.Submitted, d.Spilled)
	}
	if n := len(w.seen("RefreshObjectCaches")); n != 2 {
		t.Errorf("%d RefreshObjectCaches calls, want 2 (500 + 100)", n)
	}
}
