package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	cdnemu "github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/notify"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/report"
)

// dcdnRule adds a DCDN rule to a world's config.
const dcdnRule = `  - bucket: other
    domains: [dcdn.example.com]
    provider: dcdn`

// failedTasks gives the emulator, relative to now: n failed CDN file
// tasks an hour old, a completed one, a failed one 30 hours old, two
// failed directory tasks, failed prefetch tasks (one task of two URLs, one
// of one) and m failed DCDN file tasks.
func failedTasks(emu *cdnemu.Server, now time.Time, n, m int) (preloadIDs []string) {
	for i := range n {
		id := emu.AddTask(cdnemu.Task{ObjectPath: fmt.Sprintf("https://static.example.com/f/%03d.txt", i), Created: now.Add(-time.Hour)})
		emu.FailTask(id, "OriginTimeout")
	}
	emu.AddTask(cdnemu.Task{ObjectPath: "https://static.example.com/ok.txt", Created: now.Add(-2 * time.Hour)})
	old := emu.AddTask(cdnemu.Task{ObjectPath: "https://static.example.com/old.txt", Created: now.Add(-30 * time.Hour)})
	emu.FailTask(old, "InternalError")
	for _, d := range []string{"a/", "b/"} {
		id := emu.AddTask(cdnemu.Task{ObjectPath: "https://static.example.com/" + d, ObjectType: "directory", Created: now.Add(-3 * time.Hour)})
		emu.FailTask(id, "OriginReturnStatusCode 5XX")
	}
	p1 := emu.AddTask(cdnemu.Task{ObjectPath: "https://static.example.com/p/a.jpg", ObjectType: "preload", Created: now.Add(-4 * time.Hour)})
	emu.AddTask(cdnemu.Task{ID: p1, ObjectPath: "https://static.example.com/p/b.jpg", ObjectType: "preload", Created: now.Add(-4 * time.Hour)})
	p2 := emu.AddTask(cdnemu.Task{ObjectPath: "https://static.example.com/p/c.jpg", ObjectType: "preload", Created: now.Add(-5 * time.Hour)})
	for _, id := range []string{p1, p2} {
		emu.FailTask(id, "OriginTimeout")
	}
	for i := range m {
		id := emu.AddTask(cdnemu.Task{Product: "dcdn", ObjectPath: fmt.Sprintf("https://dcdn.example.com/%03d.txt", i), Created: now.Add(-time.Hour)})
		emu.FailTask(id, "InternalError")
	}
	return []string{p1, p2}
}

// page is one DescribeRefreshTasks request: action, object type, page and
// page size.
type page struct{ Action, Type, Page, Size string }

func pages(rs []request) []page {
	var out []page
	for _, r := range rs {
		out = append(out, page{r.Action, r.ObjectType, r.Page, r.PageSize})
	}
	return out
}

func TestGatherReadsEverything(t *testing.T) {
	t.Parallel()
	for _, allowed := range []bool{false, true} {
		t.Run(fmt.Sprintf("DescribePreloadDetailById allowed=%v", allowed), func(t *testing.T) {
			w := newWorldRules(t, cdnemu.Options{URLQuota: 1000, PreloadDetailAllowed: allowed}, dcdnRule, "")
			now := w.clock.Now()
			preloadIDs := failedTasks(w.emu, now, 250, 60)
			w.spillJobs(t, 2, fileJob)

			replay := refresh.Replayed{Submitted: 3}
			r, err := w.app.Reporter().Gather(context.Background(), time.Time{}, replay)
			if err != nil {
				t.Fatalf("Gather: %v", err)
			}

			// 250 file + 2 directory + 3 prefetch records on CDN, 60 on DCDN;
			// not the completed task, nor the one older than the lookback.
			if r.FailedTotal != 315 || len(r.Failed) != 315 {
				t.Errorf("FailedTotal = %d, tasks read = %d, want 315 and 315", r.FailedTotal, len(r.Failed))
			}
			for i := 1; i < len(r.Failed); i++ {
				if r.Failed[i].Created.After(r.Failed[i-1].Created) {
					t.Fatalf("Failed[%d] created %v after Failed[%d] %v: want newest first", i, r.Failed[i].Created, i-1, r.Failed[i-1].Created)
				}
			}

			wantQuotas := []report.Quota{
				{Provider: refresh.CDN, Kind: report.KindURL, Total: 1000, Remain: 1000},
				{Provider: refresh.CDN, Kind: report.KindDir, Total: 100, Remain: 100},
				{Provider: refresh.CDN, Kind: report.KindRegex, Total: 20, Remain: 20},
				{Provider: refresh.CDN, Kind: report.KindIgnoreParams, Total: 100, Remain: 100},
				{Provider: refresh.CDN, Kind: report.KindPreload, Total: 1000, Remain: 1000},
				{Provider: refresh.CDN, Kind: report.KindPreloadEdge, Total: 20, Remain: 20},
				{Provider: refresh.CDN, Kind: report.KindBlock, Total: 100, Remain: 100},
				{Provider: refresh.DCDN, Kind: report.KindURL, Total: 1000, Remain: 1000},
				{Provider: refresh.DCDN, Kind: report.KindDir, Total: 100, Remain: 100},
				{Provider: refresh.DCDN, Kind: report.KindRegex, Total: 20, Remain: 20},
				{Provider: refresh.DCDN, Kind: report.KindIgnoreParams, Total: 100, Remain: 100},
				{Provider: refresh.DCDN, Kind: report.KindPreload, Total: 1000, Remain: 1000},
				{Provider: refresh.DCDN, Kind: report.KindBlock, Total: 100, Remain: 100},
			}
			if diff := cmp.Diff(wantQuotas, r.Quotas); diff != "" {
				t.Errorf("Quotas mismatch (-want +got):\n%s", diff)
			}
			if r.Spill.Count != 2 || !cmp.Equal(r.Replay, replay) {
				t.Errorf("Spill = %+v, Replay = %+v; want 2 waiting and the replay given", r.Spill, r.Replay)
			}
			wantProblems := []string{"315 failed tasks", r.Spill.String()}
			if diff := cmp.Diff(wantProblems, r.Problems); diff != "" {
				t.Errorf("Problems mismatch (-want +got):\n%s", diff)
			}

			// Every page of each object type, 100 a page on CDN and 50 on DCDN.
			var wantPages []page
			for _, p := range []struct {
				action, size string
				files        int
			}{{"DescribeRefreshTasks", "100", 3}, {"DescribeDcdnRefreshTasks", "50", 2}} {
				for i := 1; i <= p.files; i++ {
					wantPages = append(wantPages, page{p.action, "file", fmt.Sprint(i), p.size})
				}
				for _, typ := range []string{"directory", "regex", "preload"} {
					wantPages = append(wantPages, page{p.action, typ, "1", p.size})
				}
			}
			got := pages(append(w.seen("DescribeRefreshTasks"), w.seen("DescribeDcdnRefreshTasks")...))
			if diff := cmp.Diff(wantPages, got); diff != "" {
				t.Errorf("task pages asked for (-want +got):\n%s", diff)
			}
			for _, r := range w.seen("DescribeRefreshTasks") {
				if r.Status != "Failed" {
					t.Errorf("DescribeRefreshTasks Status = %q, want Failed", r.Status)
				}
			}
			// Within 10 calls a second, on the App's clock.
			tasks := w.seen("DescribeRefreshTasks")
			for i := 1; i < len(tasks); i++ {
				if gap := tasks[i].At.Sub(tasks[i-1].At); gap < 100*time.Millisecond {
					t.Errorf("DescribeRefreshTasks %d came %v after the one before; want at least 100ms", i, gap)
				}
			}

			details := map[string][]string{}
			for _, f := range r.Failed {
				if f.ObjectType == "preload" {
					details[f.URL] = f.Details
				}
			}
			forbidden := slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, "DescribePreloadDetailById is not open") })
			lookups := len(w.seen("DescribePreloadDetailById"))
			if allowed {
				want := map[string][]string{
					"https://static.example.com/p/a.jpg": {"/p/a.jpg 0%: OriginTimeout"},
					"https://static.example.com/p/b.jpg": {"/p/b.jpg 0%: OriginTimeout"},
					"https://static.example.com/p/c.jpg": {"/p/c.jpg 0%: OriginTimeout"},
				}
				if diff := cmp.Diff(want, details); diff != "" {
					t.Errorf("prefetch details mismatch (-want +got):\n%s", diff)
				}
				if forbidden || lookups != len(preloadIDs) {
					t.Errorf("notes %q, %d detail lookups; want no refusal and %d lookups", r.Notes, lookups, len(preloadIDs))
				}
			} else if !forbidden || lookups != 1 {
				t.Errorf("notes %q, %d detail lookups; want the refusal noted after one lookup", r.Notes, lookups)
			}
		})
	}
}

func TestGatherSince(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		since     time.Duration // before now; 0: the default
		wantTotal int
		wantStart time.Duration // StartTime asked for, before now
	}{
		{"default lookback", 0, 255, report.DefaultLookback},
		{"two days includes the old task", 48 * time.Hour, 256, 48 * time.Hour},
		{"ten days is cut to three", 240 * time.Hour, 256, report.TaskRetention - time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, cdnemu.Options{}, "")
			now := w.clock.Now()
			failedTasks(w.emu, now, 250, 0)
			var since time.Time
			if tt.since > 0 {
				since = now.Add(-tt.since)
			}
			r, err := w.app.Reporter().Gather(context.Background(), since, refresh.Replayed{})
			if err != nil {
				t.Fatalf("Gather: %v", err)
			}
			if r.FailedTotal != tt.wantTotal {
				t.Errorf("FailedTotal = %d, want %d", r.FailedTotal, tt.wantTotal)
			}
			start, err := time.Parse("2006-01-02T15:04:05Z", w.seen("DescribeRefreshTasks")[0].Start)
			if err != nil {
				t.Fatal(err)
			}
			if d := now.Add(-tt.wantStart).Sub(start); d < -2*time.Second || d > 2*time.Second {
				t.Errorf("StartTime = %v, want about %v", start, now.Add(-tt.wantStart).UTC())
			}
		})
	}
}

func TestGatherNamesWhatItCouldNotRead(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cdnemu.Options{}, "")
	w.emu.Inject(cdnemu.Faults{Next: []string{"Forbidden.RAM", "Forbidden.RAM"}}) // quota, then file tasks
	r, err := w.app.Reporter().Gather(context.Background(), time.Time{}, refresh.Replayed{})
	if err == nil {
		t.Fatal("Gather: nil error, want one naming the quota and the file tasks")
	}
	want := []string{"could not read CDN quota: ", "could not read failed CDN file tasks: "}
	if len(r.Problems) != len(want) {
		t.Fatalf("Problems = %q, want %d", r.Problems, len(want))
	}
	for i, p := range r.Problems {
		if !strings.HasPrefix(p, want[i]) || !strings.Contains(p, "Forbidden.RAM") {
			t.Errorf("Problems[%d] = %q, want %q… naming the code", i, p, want[i])
		}
	}
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		extra string
		want  report.Policy
	}{
		{"defaults", "", report.Policy{When: report.WhenProblems, Thresholds: thresholds(report.Threshold{Percent: 20})}},
		{"always, count", `report: {when: always, quota_threshold: "500"}`,
			report.Policy{When: report.WhenAlways, Thresholds: thresholds(report.Threshold{Absolute: 500})}},
		{"off", `report: {quota_threshold: "0"}`,
			report.Policy{When: report.WhenProblems, Thresholds: thresholds(report.Threshold{})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, cdnemu.Options{}, tt.extra)
			if diff := cmp.Diff(tt.want, w.app.Policy()); diff != "" {
				t.Errorf("Policy() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func thresholds(t report.Threshold) map[string]report.Threshold {
	return map[string]report.Threshold{report.KindURL: t, report.KindDir: t, report.KindPreload: t}
}

func TestRunReportTasks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		drain       bool
		report      bool
		wantRefresh int // RefreshObjectCaches calls
	}{
		{"both", true, true, 1},
		{"drain only", true, false, 1},
		{"report only", false, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, cdnemu.Options{}, "")
			w.spillJobs(t, 3, fileJob)
			res, err := w.app.Reporter().Run(context.Background(), report.RunOptions{Drain: tt.drain, Report: tt.report})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := res.Replay != nil; got != tt.drain {
				t.Errorf("drained = %v, want %v", got, tt.drain)
			}
			if got := res.Report != nil; got != tt.report {
				t.Errorf("reported = %v, want %v", got, tt.report)
			}
			if n := len(w.seen("RefreshObjectCaches")); n != tt.wantRefresh {
				t.Errorf("RefreshObjectCaches calls = %d, want %d", n, tt.wantRefresh)
			}
			if tt.drain && tt.report && (res.Backlog.Count != 0 || res.Report.Replay.Submitted != 3) {
				t.Errorf("backlog %+v, replay %+v: want the report to follow the drain", res.Backlog, res.Report.Replay)
			}
			if len(res.Sent) != 0 {
				t.Errorf("Sent = %q with no channels", res.Sent)
			}
		})
	}
}

// TestReportStartsWhereThePreviousEnded: the second report asks for failed
// tasks since the first report was made, not a fixed lookback.
func TestReportStartsWhereThePreviousEnded(t *testing.T) {
	t.Parallel()
	got := 0
	robot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got++ }))
	defer robot.Close()
	w := newWorld(t, cdnemu.Options{}, "report: {when: always}")
	chans, err := notify.New([]notify.ChannelConfig{{Type: "webhook", URL: robot.URL}}, robot.Client(), w.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	run := func() time.Time {
		before := len(w.seen("DescribeRefreshTasks"))
		if _, err := w.app.Reporter().Run(context.Background(), report.RunOptions{Report: true, Channels: chans}); err != nil {
			t.Fatalf("Run: %v", err)
		}
		start, err := time.Parse("2006-01-02T15:04:05Z", w.seen("DescribeRefreshTasks")[before].Start)
		if err != nil {
			t.Fatal(err)
		}
		return start
	}
	first := w.clock.Now()
	if start := run(); !start.Equal(first.Add(-report.DefaultLookback).Truncate(time.Second)) {
		t.Errorf("first report starts at %v, want %v (the default lookback)", start, first.Add(-report.DefaultLookback))
	}
	w.clock.Advance(6 * time.Hour)
	if start := run(); !start.Equal(first.Truncate(time.Second)) {
		t.Errorf("second report starts at %v, want %v (when the first was made)", start, first)
	}
	if got != 2 {
		t.Errorf("robot got %d reports, want 2 (report.when: always)", got)
	}
}
