package app_test

// The acceptance tests of issue #4: whatever the CDN API does — throttle,
// fail, answer slowly, run out of quota — and however an invocation ends,
// every changed object ends submitted exactly once or spilled, and the
// spilled ones are submitted by the next report run.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/app/apptest"
	"github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/functions"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/spill"
	"github.com/cdnrefresh/cdnrefresh/internal/window"
)

// traceConfig maps three prefixes of bucket site to three CDN domains,
// under the documented default rate limits. Collapsing is off: the trace
// follows every file URL to the API (TestPackageBurst covers collapsing).
const traceConfig = `
rules:
  - {bucket: site, prefix: img/, domains: [img.example.com]}
  - {bucket: site, prefix: css/, domains: [css.example.com]}
  - {bucket: site, prefix: js/, domains: [js.example.com]}
window: {duration: 500ms}
limits: {dir_collapse_threshold: 0}
`

// trace returns n OSS-like events of k changed objects each (every fifth
// one a delete), every key once, spread over traceConfig's three domains,
// and the URL each key maps to.
func trace(n, k int) ([]refresh.Event, []string) {
	dirs := []string{"img", "css", "js"}
	at := time.Date(2025, 6, 1, 1, 0, 0, 0, time.UTC)
	evs := make([]refresh.Event, n)
	urls := make([]string, 0, n*k)
	for i := range evs {
		dir := dirs[i%len(dirs)]
		evs[i].ID = fmt.Sprintf("oss:trace-%05d", i)
		for j := range k {
			key := fmt.Sprintf("%s/r%05d/f%02d.bin", dir, i, j)
			op := refresh.OpCreate
			if j%5 == 4 {
				op = refresh.OpDelete
			}
			evs[i].Changes = append(evs[i].Changes, refresh.Change{
				Source: "oss", EventID: fmt.Sprintf("663DA2EF%08X/%s", i, key),
				Bucket: "site", Key: key, Op: op, ETag: fmt.Sprintf("%032X", i*k+j),
				Time: at.Add(time.Duration(i) * time.Millisecond),
			})
			urls = append(urls, "https://"+dir+".example.com/"+key)
		}
	}
	return evs, urls
}

// runAll runs evs through p from workers goroutines at once and returns
// the reports, in event order.
func runAll(ctx context.Context, p *refresh.Pipeline, evs []refresh.Event, workers int) ([]refresh.Report, error) {
	reports := make([]refresh.Report, len(evs))
	errs := make([]error, len(evs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				reports[i], errs[i] = p.Run(ctx, evs[i])
			}
		})
	}
	for i := range evs {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return reports, fmt.Errorf("event %s: %w", evs[i].ID, err)
		}
	}
	return reports, nil
}

// refreshed counts, per URL, the File refreshes the emulator accepted.
func refreshed(calls []cdn.Call) map[string]int {
	n := map[string]int{}
	for _, c := range calls {
		if c.Action == "RefreshObjectCaches" && c.ObjectType == "File" {
			for _, u := range c.URLs {
				n[u]++
			}
		}
	}
	return n
}

// spilledURLs counts, per URL, the entries of store.
func spilledURLs(t *testing.T, store *spill.Store) map[string]int {
	t.Helper()
	entries, err := store.Load(context.Background())
	if err != nil {
		t.Fatalf("load the spill: %v", err)
	}
	n := map[string]int{}
	for _, e := range entries {
		n[e.Pending.Job.URL]++
	}
	return n
}

// outcomeURLs returns the URLs the reports list with status s.
func outcomeURLs(reports []refresh.Report, s refresh.Status) map[string]int {
	n := map[string]int{}
	for _, r := range reports {
		for _, o := range r.Outcomes {
			if o.Status == s {
				n[o.Job.URL]++
			}
		}
	}
	return n
}

// counts are a report's counts.
type counts struct {
	Changes, Ignored, Submitted, Duplicate, Spilled, Rejected int
}

func countsOf(r refresh.Report) counts {
	return counts{r.Changes, r.Ignored, r.Submitted, r.Duplicate, r.Spilled, r.Rejected}
}

// TestNothingLostUnderFaults replays a 10,000-URL trace (1,000 events of
// 10 objects on three domains, 32 invocations at a time) against the
// emulator while it throttles 30% of the requests, fails 10% with a 5xx,
// answers 20% slowly, and runs out of daily quota (6,000 URLs) in the
// middle. Every URL must end accepted by the API exactly once or spilled,
// never both, never twice, and the answers must say which. After the
// quota resets, one drain submits every spilled URL, exactly once.
//
// The App runs on a fake clock shared with the emulator: backoff, rate
// limiter and window waits move it forward instead of sleeping.
func TestNothingLostUnderFaults(t *testing.T) {
	t.Parallel()
	const events, keys, quota = 1000, 10, 6000
	clock := apptest.NewClock(time.Date(2025, 6, 1, 1, 0, 0, 0, time.UTC)) // 09:00 UTC+8: the quota day lasts
	emu, endpoint := apptest.Emulator(t, cdn.Options{Now: clock.Now, URLQuota: quota, TaskDuration: -1, Seed: 4})
	emu.Inject(cdn.Faults{Throttle: 0.3, ServerError: 0.1, Delay: 3 * time.Millisecond, DelayProb: 0.2})
	a := apptest.NewApp(t, traceConfig, endpoint, nil, clock.Options())
	ctx := context.Background() // no deadline: the fake clock would pass it
	evs, urls := trace(events, keys)

	start := time.Now()
	reports, err := runAll(ctx, a.Pipeline, evs, 32)
	if err != nil {
		t.Fatalf("run the trace: %v", err)
	}
	st := emu.Stats()
	t.Logf("trace: %d events in %v (%v on the fake clock): %d requests, %d accepted, refused %v",
		events, time.Since(start).Round(time.Millisecond), clock.Waited(), st.Requests, st.Accepted, st.Refused)
	for _, code := range []string{"TooManyRequests", "InternalError"} {
		if st.Refused[code] == 0 {
			t.Errorf("the emulator answered no %s: the trace did not exercise it", code)
		}
	}

	var sum refresh.Report
	for i, r := range reports {
		if got, want := r.Submitted+r.Spilled, len(evs[i].Changes); got != want || r.Changes != want {
			t.Errorf("Run(%s) = %+v; want %d changes, each submitted or spilled", evs[i].ID, countsOf(r), want)
		}
		sum.Merge(r)
	}
	accepted := refreshed(emu.Calls())
	spilled := spilledURLs(t, a.Spill)
	if diff := cmp.Diff(counts{Changes: len(urls), Submitted: len(accepted), Spilled: len(spilled)}, countsOf(sum)); diff != "" {
		t.Errorf("the answers' counts do not match what the API accepted and what was spilled (-want +got):\n%s", diff)
	}
	// The quota runs out: the plan leaves out what the quota it read
	// cannot cover ("quota"), and the API refuses calls over what remains.
	if sum.SpilledBy[refresh.ReasonQuota]+sum.SpilledBy["QuotaExceeded.Refresh"] == 0 {
		t.Errorf("answers spilled %v; want some for the quota (it ran out mid-trace)", sum.SpilledBy)
	}
	if len(accepted) < quota-1000 || len(accepted) > quota {
		t.Errorf("the API accepted %d URLs before its quota of %d ran out; want %d to %d", len(accepted), quota, quota-1000, quota)
	}
	if diff := cmp.Diff(accepted, outcomeURLs(reports, refresh.Submitted)); diff != "" {
		t.Errorf("URLs the answers call submitted differ from those the API accepted (-accepted +answered):\n%s", diff)
	}
	if diff := cmp.Diff(spilled, outcomeURLs(reports, refresh.Spilled)); diff != "" {
		t.Errorf("URLs the answers call spilled differ from those in the spill (-stored +answered):\n%s", diff)
	}
	checkEach(t, "after the trace", urls, accepted, spilled)

	// The next day's report run: the quota is back (it resets at midnight
	// UTC+8, by the emulator's clock) and the storm has passed, but the API
	// still answers slowly at times.
	clock.Advance(24 * time.Hour)
	emu.Inject(cdn.Faults{Delay: 3 * time.Millisecond, DelayProb: 0.2})
	start = time.Now()
	d, err := a.Drain(ctx, 0)
	if err != nil {
		t.Fatalf("Drain: %v (%s)", err, drained(d))
	}
	t.Logf("drain: %d submitted in %v", d.Submitted, time.Since(start).Round(time.Millisecond))
	if d.Submitted != len(spilled) || d.Spilled != 0 || d.Rejected != 0 || d.Kept != 0 {
		t.Errorf("Drain = %s; want all %d spilled URLs submitted", drained(d), len(spilled))
	}
	if left := spilledURLs(t, a.Spill); len(left) != 0 {
		t.Errorf("after the drain %d URLs are still spilled, though the drain submitted them: the next drain would submit them twice", len(left))
	}
	checkEach(t, "after the drain", urls, refreshed(emu.Calls()), nil)
}

// drained describes what a drain did.
func drained(d refresh.Drained) string {
	return fmt.Sprintf("%s, %d kept (by reason %v; notes %q)", d.Replayed, d.Kept, d.ByReason, d.Notes)
}

// checkEach checks that every URL of urls was accepted exactly once or
// spilled exactly once, and that nothing else was.
func checkEach(t *testing.T, when string, urls []string, accepted, spilled map[string]int) {
	t.Helper()
	var bad []string
	for _, u := range urls {
		if a, s := accepted[u], spilled[u]; a+s != 1 {
			bad = append(bad, fmt.Sprintf("%s accepted %d times, spilled %d times", u, a, s))
		}
	}
	want := make(map[string]bool, len(urls))
	for _, u := range urls {
		want[u] = true
	}
	for _, m := range []map[string]int{accepted, spilled} {
		for u := range m {
			if !want[u] {
				bad = append(bad, u+" is not in the trace")
			}
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		t.Errorf("%s, %d URLs are not accounted for exactly once; the first: %s", when, len(bad), strings.Join(bad[:min(len(bad), 10)], "; "))
	}
}

// deadlineConfig has one domain whose per-minute budget the test does not
// reach, and a dedupe TTL that outlasts the test.
const deadlineConfig = `
rules:
  - {bucket: site, domains: [d.example.com]}
window: {duration: 200ms, dedupe_ttl: 1m}
limits: {domain_urls_per_minute: 100000, refresh_qps: 1000}
`

// TestSlowAPIAtTheDeadline invokes oss-refresh over FC's protocol with a
// 5-second function timeout while the CDN API holds every refresh call for
// 3.5 s. The flush ends its margin (window.MinFlushMargin, 2 s) before the
// deadline, at 3 s, and no call starts in the last 500 ms of it (the
// pipeline's DeadlineMargin): a call starts before 2.5 s and is still in
// flight when the flush ends. Those 2.5 s from arrival to call are slack
// for a loaded machine: with 500 ms (a 3-second timeout) a CI run, and
// with 1.5 s two test suites at once on 2 cores, overran them — every URL
// spilled by "deadline", nothing sent. The invocation must answer 200, on
// time, with every URL spilled — in doubt when its call was sent and cut
// off. The API carries out a call cut off (nobody is left to hear it), as
// the real one may; the timer's drain then asks the task API before it
// sends again, so that across the invocation, the spill and the drain
// each URL reaches the API exactly once.
func TestSlowAPIAtTheDeadline(t *testing.T) {
	t.Parallel()
	const n = 1000 // five invocations of 200: one call of 1,000 URLs
	env := apptest.Start(t, deadlineConfig, apptest.Options{
		CDN: cdn.Options{DomainURLsPerMinute: -1, TaskDuration: -1},
		App: app.Options{Sleep: apptest.NoSleep},
	}, functions.OSSRefresh)
	keys := make([]string, n)
	urls := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("assets/%04d.js", i)
		urls[i] = "https://d.example.com/" + keys[i]
	}
	ctx := t.Context()

	// Five invocations of 200 objects each, at once: they share a window.
	const timeout = 5 * time.Second
	const flushEnd = timeout - window.MinFlushMargin
	env.CDN.Inject(cdn.Faults{Delay: flushEnd + 500*time.Millisecond, Actions: []string{"RefreshObjectCaches"}})
	const invocations = 5
	reports := make([]refresh.Report, invocations)
	var wg sync.WaitGroup
	for i := range invocations {
		wg.Go(func() {
			event := apptest.OSSEvent("site", fmt.Sprintf("663DA2EF9C0E4B3837A1C2F%d", i), keys[i*n/invocations:(i+1)*n/invocations]...)
			start := time.Now()
			status, body, err := env.Post(ctx, apptest.Invocation{RequestID: fmt.Sprint("req-", i), Timeout: int(timeout / time.Second)}, event)
			took := time.Since(start)
			if err != nil {
				t.Error(err)
				return
			}
			if status != 200 || json.Unmarshal(body, &reports[i]) != nil {
				t.Errorf("invocation %d: x-fc-status %d, %.300s; want 200 and a report", i, status, body)
			}
			if took >= timeout {
				t.Errorf("invocation %d answered after %v, at or past the %v deadline", i, took, timeout)
			}
		})
	}
	wg.Wait()
	var r refresh.Report
	for _, ri := range reports {
		r.Merge(ri)
	}
	if r.Changes != n || r.Spilled != n || r.SpilledBy[refresh.ReasonInDoubt] == 0 {
		t.Errorf("answers = %+v, spilled by %v, %d calls sent; want all %d spilled, some in doubt", countsOf(r), r.SpilledBy, len(env.CDN.Calls()), n)
	}

	// The API carries out each call it held once its client is gone.
	env.CDN.Inject(cdn.Faults{})
	sent := len(env.CDN.Calls())
	waitFor(t, 5*time.Second, func() bool { return len(refreshed(env.CDN.Calls())) >= r.SpilledBy[refresh.ReasonInDoubt] })
	if sent == 0 {
		t.Fatal("no refresh call reached the API: nothing was in doubt")
	}

	// The timer's report run, with its own role's credentials.
	creds := refresh.Credentials{AccessKeyID: cdn.AccessKeyID, AccessKeySecret: cdn.AccessKeySecret}
	d, err := env.App.Drain(refresh.WithCredentials(ctx, creds), 0)
	if err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if d.Submitted != n || d.Kept != 0 {
		t.Errorf("Drain = %s; want all %d submitted (the accepted in-doubt ones confirmed, not sent)", drained(d), n)
	}
	if left := spilledURLs(t, env.App.Spill); len(left) != 0 {
		t.Errorf("%d URLs still spilled after the drain", len(left))
	}
	final := refreshed(env.CDN.Calls())
	for _, u := range urls {
		if final[u] != 1 {
			t.Errorf("%s reached the API %d times, want exactly once", u, final[u])
		}
	}
}

// waitFor polls cond every 10 ms until it holds or d has passed.
func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("not within %v", d)
		}
	}
}

// TestDirectoryCollapse: 300 changed files under /img/ in one window, with
// dir_collapse_threshold 100, become one Directory refresh of /img/ and no
// File refresh there; the 5 files elsewhere stay File refreshes. The
// changes arrive as 61 concurrent FC invocations of 5 objects each; the
// window closes when the last of them has joined (max_batch), never
// earlier: with the default quiet (200 ms) a loaded machine's gap between
// two invocations closed it early and left the later ones' files to a
// File call of their own.
func TestDirectoryCollapse(t *testing.T) {
	t.Parallel()
	const cfg = `
rules:
  - {bucket: site, domains: [d]}
window: {duration: 1h, quiet: 1h, max_batch: 305}
limits: {dir_collapse_threshold: 100, refresh_qps: 1000}
`
	env := apptest.Start(t, cfg, apptest.Options{CDN: cdn.Options{TaskDuration: -1}}, functions.OSSRefresh)
	var keys []string
	for i := range 300 {
		keys = append(keys, fmt.Sprintf("img/%03d.png", i))
	}
	css := []string{"css/a.css", "css/b.css", "css/c.css", "css/d.css", "css/e.css"}
	keys = append(keys, css...)

	ctx := t.Context()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var sum refresh.Report
	var errs []string
	for i := 0; i < len(keys); i += 5 {
		wg.Go(func() {
			id := fmt.Sprintf("req-%02d", i/5)
			status, body, err := env.Post(ctx, apptest.Invocation{RequestID: id}, apptest.OSSEvent("site", id, keys[i:i+5]...))
			var r refresh.Report
			if err == nil && (status != 200 || json.Unmarshal(body, &r) != nil) {
				err = fmt.Errorf("%s: x-fc-status %d, %s", id, status, body)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err.Error())
				return
			}
			sum.Merge(r)
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("invocations failed: %s", strings.Join(errs, "; "))
	}
	if diff := cmp.Diff(counts{Changes: 305, Submitted: 305}, countsOf(sum)); diff != "" {
		t.Errorf("answers' counts (-want +got):\n%s", diff)
	}

	type call struct {
		Action, ObjectType string
		URLs               []string
	}
	var got []call
	for _, c := range env.CDN.Calls() {
		if c.Action == "DescribeRefreshQuota" {
			continue // read before planning
		}
		got = append(got, call{c.Action, c.ObjectType, slices.Sorted(slices.Values(c.URLs))})
	}
	sort.Slice(got, func(i, j int) bool { return got[i].ObjectType < got[j].ObjectType })
	cssURLs := make([]string, len(css))
	for i, k := range css {
		cssURLs[i] = "https://d/" + k
	}
	want := []call{
		{"RefreshObjectCaches", "Directory", []string{"https://d/img/"}},
		{"RefreshObjectCaches", "File", cssURLs},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("calls the CDN API received (-want +got):\n%s", diff)
	}
}
