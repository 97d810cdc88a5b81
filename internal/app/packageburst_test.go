package app_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/app/apptest"
	"github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/report"
	"github.com/cdnrefresh/cdnrefresh/internal/window"
)

// packageConfig is the default config: one rule, nothing else set — the
// window, the documented limits and dir_collapse_threshold: auto.
const packageConfig = `
rules:
  - {bucket: site, domains: [cdn.example.com]}
`

// packageKeys returns the object keys of one npm package version landing
// in a bucket at once, shaped like a real large package: dist and lib
// hold nearly all files, each of their utils directories one.
func packageKeys(dist, lib int) []string {
	keys := make([]string, 0, dist+lib+2)
	for i := range dist {
		keys = append(keys, fmt.Sprintf("npm/pkg@2.0.0/dist/chunk-%05d.js", i))
	}
	for i := range lib {
		keys = append(keys, fmt.Sprintf("npm/pkg@2.0.0/lib/module-%05d.js", i))
	}
	return append(keys, "npm/pkg@2.0.0/dist/utils/index.js", "npm/pkg@2.0.0/lib/utils/index.js")
}

// packageEvents spreads keys over n invocations, interleaved, each an OSS
// event of the keys' PutObject records, all written just now.
func packageEvents(keys []string, n int) []refresh.Event {
	written := time.Now()
	evs := make([]refresh.Event, n)
	for i, k := range keys {
		e := &evs[i%n]
		e.ID = fmt.Sprintf("oss:package-%04d", i%n)
		e.Changes = append(e.Changes, refresh.Change{
			Source: "oss", EventID: fmt.Sprintf("%s/%d", e.ID, i), Bucket: "site", Key: k,
			Op: refresh.OpCreate, ETag: fmt.Sprintf("%032X", i), Time: written,
		})
	}
	return evs
}

// packageRun is what one replay of a package landing measured.
type packageRun struct {
	reports  []refresh.Report
	slowest  time.Duration
	dirUnits int // directory paths the API accepted
	urlUnits int // file paths the API accepted
	calls    int // refresh calls the API accepted
	wall     time.Duration
	app      *app.App
}

// landPackage sends evs to one instance at once, each in its own
// invocation with FC's default 60 s timeout, against an emulator with the
// documented account limits.
func landPackage(t testing.TB, config string, evs []refresh.Event) packageRun {
	emu, endpoint := apptest.Emulator(t, cdn.Options{TaskDuration: -1})
	a := apptest.NewApp(t, config, endpoint, nil, app.Options{})
	run := packageRun{reports: make([]refresh.Report, len(evs)), app: a}
	took := make([]time.Duration, len(evs))
	start := time.Now()
	var wg sync.WaitGroup
	for i := range evs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			t0 := time.Now()
			r, err := a.Pipeline.Run(ctx, evs[i])
			took[i] = time.Since(t0)
			if err != nil {
				t.Errorf("invocation %s: %v", evs[i].ID, err)
			}
			run.reports[i] = r
		})
	}
	wg.Wait()
	run.wall = time.Since(start)
	for _, d := range took {
		run.slowest = max(run.slowest, d)
	}
	for _, c := range emu.Calls() {
		if c.Action != "RefreshObjectCaches" || c.TaskID == "" {
			continue
		}
		run.calls++
		if c.ObjectType == "Directory" {
			run.dirUnits += len(c.URLs)
		} else {
			run.urlUnits += len(c.URLs)
		}
	}
	return run
}

// TestPackageBurst lands the 31,842 files of one package version at once
// (three times the daily URL quota) in 1,000 concurrent invocations on the
// default config: the auto collapse spends a few directory units instead
// of leaving two thirds of the package stale until tomorrow.
func TestPackageBurst(t *testing.T) {
	// Not parallel: the answer times are measured.
	keys := packageKeys(21228, 10612)
	run := landPackage(t, packageConfig, packageEvents(keys, 1000))

	var sum refresh.Report
	for _, r := range run.reports {
		sum.Merge(r)
	}
	if sum.Spilled != 0 || sum.Rejected != 0 || sum.Failed != 0 {
		t.Errorf("spilled %d (%v), rejected %d, failed %d; want nothing spilled", sum.Spilled, sum.SpilledBy, sum.Rejected, sum.Failed)
	}
	if run.dirUnits > 4 {
		t.Errorf("%d directory units spent; want at most 4", run.dirUnits)
	}
	// Under the race detector the CPU-bound joining of 31,842 jobs takes
	// longer: the bound is stretched by raceSlowdown.
	if limit := (window.DefaultDuration + time.Second) * raceSlowdown; run.slowest > limit {
		t.Errorf("slowest invocation answered after %v; want within one window plus 1 s (%v)", run.slowest, limit)
	}
	// Every file URL is accounted for: submitted with its task, or a
	// duplicate naming the task of the directory refresh that covers it.
	accounted := 0
	for _, r := range run.reports {
		if r.Truncated > 0 {
			t.Fatalf("report of %d outcomes truncated", len(r.Outcomes))
		}
		for _, o := range r.Outcomes {
			switch {
			case o.Status == refresh.Submitted && o.TaskID != "":
			case o.Status == refresh.Duplicate && o.TaskID != "" && o.Via != "" && strings.HasPrefix(o.Job.URL, o.Via):
			default:
				t.Errorf("%s: %s (task %q, via %q, %s); want submitted, or a duplicate with the covering task", o.Job.URL, o.Status, o.TaskID, o.Via, o.Reason)
				continue
			}
			accounted++
		}
	}
	if accounted != len(keys) {
		t.Errorf("%d of %d file URLs accounted for", accounted, len(keys))
	}
	if len(sum.Collapsed) == 0 || !strings.Contains(sum.Collapsed[0], "quota pressure") {
		t.Errorf("answers' collapsed = %q; want the collapses with their reason", sum.Collapsed)
	}
	// The report lists the collapses with their cost.
	rep, err := run.app.Reporter().Gatherer.Gather(context.Background(), time.Now().Add(-time.Hour), refresh.Replayed{})
	if err != nil {
		t.Fatalf("gather the report: %v", err)
	}
	text := report.Text(rep)
	if len(rep.Following.Collapses) != run.dirUnits || !strings.Contains(text, "1 directory unit: collapsed ") {
		t.Errorf("report lists %d collapses for %d directory units:\n%s", len(rep.Following.Collapses), run.dirUnits, text)
	}
	t.Logf("%d files in %d invocations: %d calls, %d URL units, %d directory units, slowest answer %v, wall %v; %q",
		len(keys), len(run.reports), run.calls, run.urlUnits, run.dirUnits, run.slowest, run.wall, sum.Collapsed)
}

// TestPackageAmpleQuota: with the URL quota ample, auto never collapses.
func TestPackageAmpleQuota(t *testing.T) {
	t.Parallel()
	keys := packageKeys(99, 1)[:100]
	run := landPackage(t, packageConfig, packageEvents(keys, 10))
	if run.dirUnits != 0 || run.urlUnits != 100 {
		t.Errorf("%d directory units, %d URL units; want 0 and 100", run.dirUnits, run.urlUnits)
	}
}

// BenchmarkPackageBurst lands the package of TestPackageBurst (31,842
// files, three times the daily URL quota, in 1,000 concurrent invocations
// of 60 s each) on one instance against the emulator with the documented
// limits, in real time: on the default config (auto) and with collapsing
// off. wall_s is the time until every invocation has answered; what is
// spilled waits for the drain, and for tomorrow's quota.
func BenchmarkPackageBurst(b *testing.B) {
	keys := packageKeys(21228, 10612)
	for _, bc := range []struct{ name, config string }{
		{"auto", packageConfig},
		{"off", packageConfig + "limits: {dir_collapse_threshold: 0}\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var calls, urls, dirs, spilled int
			var wall, slowest time.Duration
			for range b.N {
				evs := packageEvents(keys, 1000)
				run := landPackage(b, bc.config, evs)
				calls += run.calls
				urls += run.urlUnits
				dirs += run.dirUnits
				wall += run.wall
				slowest = max(slowest, run.slowest)
				for _, r := range run.reports {
					spilled += r.Spilled
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(calls)/n, "api_calls")
			b.ReportMetric(float64(urls)/n, "url_units")
			b.ReportMetric(float64(dirs)/n, "dir_units")
			b.ReportMetric(float64(spilled)/n, "urls_spilled")
			b.ReportMetric(wall.Seconds()/n, "wall_s")
			b.ReportMetric(slowest.Seconds(), "slowest_answer_s")
		})
	}
}
