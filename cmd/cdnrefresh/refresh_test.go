package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	emu "github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/window/redistest"
)

// counts are the counts of a refresh result.
type counts struct {
	URLs, Submitted, Duplicate, Spilled, Rejected, Calls int
}

func countsOf(t *testing.T, stdout string) (counts, refreshResult) {
	t.Helper()
	var r refreshResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("--json output %q: %v", stdout, err)
	}
	return counts{r.URLs, r.Submitted, r.Duplicate, r.Spilled, r.Rejected, r.Calls}, r
}

// TestRefreshInput runs refresh and prefetch on URLs given every way the
// CLI takes them, and checks the exit code, the counts, the URLs the API
// got (in canonical spelling, once) and the leftovers, each named by
// where it was given.
func TestRefreshInput(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.yaml", "rules:\n  - {bucket: my-site, domains: [static.example.com]}\n")
	list := writeFile(t, dir, "urls.txt", "# deploy 42\nhttps://static.example.com/a.css\n\n"+
		"HTTPS://Static.Example.com:443/./b%7e.js   # the same as the next\nhttps://static.example.com/b~.js\nhtp://static.example.com/c\n")
	tests := []struct {
		name      string
		stdin     string
		args      []string
		wantCode  int
		want      counts
		wantAPI   []string   // refreshed URLs
		wantCalls []string   // when set: the API's calls, as "Action ObjectType Force"
		wantLeft  []leftover // without reasons
		wantInErr string
	}{
		{
			name: "arguments, no config", args: []string{"refresh", "https://a.example.com/x", "https://b.example.com/y"},
			want:    counts{URLs: 2, Submitted: 2, Calls: 1},
			wantAPI: []string{"https://a.example.com/x", "https://b.example.com/y"},
		},
		{
			name: "file: comments, canonical spelling, duplicates, a malformed line", args: []string{"refresh", "--file", list},
			wantCode: 1,
			want:     counts{URLs: 4, Submitted: 2, Duplicate: 1, Rejected: 1, Calls: 1},
			wantAPI:  []string{"https://static.example.com/a.css", "https://static.example.com/b~.js"},
			wantLeft: []leftover{{Where: "line 6", URL: "htp://static.example.com/c", Action: refresh.ActionRefresh, Status: refresh.Rejected}},
		},
		{
			name: "stdin, with a config: its domains only", stdin: "https://static.example.com/a.css\nhttps://evil.example.net/x\n",
			args:     []string{"refresh", "--config", cfg},
			wantCode: 1,
			want:     counts{URLs: 2, Submitted: 1, Rejected: 1, Calls: 1},
			wantAPI:  []string{"https://static.example.com/a.css"},
			wantLeft: []leftover{{Where: "line 2", URL: "https://evil.example.net/x", Action: refresh.ActionRefresh, Status: refresh.Rejected}},
		},
		{
			name: "flags after the URLs; - reads stdin", stdin: "https://static.example.com/d.css\n", args: []string{"refresh", "-", "--type", "file"},
			want:    counts{URLs: 1, Submitted: 1, Calls: 1},
			wantAPI: []string{"https://static.example.com/d.css"},
		},
		{
			name: "directory", args: []string{"refresh", "--type", "directory", "https://static.example.com/img"},
			want:    counts{URLs: 1, Submitted: 1, Calls: 1},
			wantAPI: []string{"https://static.example.com/img/"},
		},
		{
			name: "prefetch", args: []string{"prefetch", "--area", "overseas", "https://static.example.com/a.css"},
			want:      counts{URLs: 1, Submitted: 1, Calls: 1},
			wantCalls: []string{"PushObjectCache  false overseas"},
		},
		{
			// The prefetch goes once the purge's task is complete (the
			// task API is asked meanwhile, not listed here).
			name: "both: refresh, then prefetch", args: []string{"refresh", "--both", "https://static.example.com/a.css"},
			want:      counts{URLs: 2, Submitted: 2, Calls: 2},
			wantAPI:   []string{"https://static.example.com/a.css"},
			wantCalls: []string{"RefreshObjectCaches File false ", "PushObjectCache  false "},
		},
		{
			name: "both, not waiting for the purge", args: []string{"refresh", "--both", "--no-wait", "https://static.example.com/a.css"},
			wantCode:  1,
			want:      counts{URLs: 2, Submitted: 1, Spilled: 1, Calls: 1},
			wantAPI:   []string{"https://static.example.com/a.css"},
			wantCalls: []string{"RefreshObjectCaches File false "},
			wantLeft:  []leftover{{Where: "argument 1", URL: "https://static.example.com/a.css", Action: refresh.ActionPrefetch, Status: refresh.Waiting}},
		},
		{
			name: "DCDN, forced regex", args: []string{"refresh", "--provider", "dcdn", "--type", "regex", "--force", "https://static.example.com/img/.*\\.png"},
			want:      counts{URLs: 1, Submitted: 1, Calls: 1},
			wantCalls: []string{"RefreshDcdnObjectCaches Regex true "},
		},
		{
			name: "dry run sends nothing", args: []string{"refresh", "--dry-run", "https://static.example.com/a.css", "https://static.example.com/a.css"},
			want: counts{URLs: 2, Duplicate: 1, Calls: 1},
		},
		{name: "no URLs", args: []string{"refresh"}, wantCode: 2, wantInErr: "no URLs given"},
		{name: "bad type", args: []string{"refresh", "--type", "dir", "https://a.example.com/"}, wantCode: 2, wantInErr: `--type "dir"`},
		{name: "bad flag", args: []string{"refresh", "--typo", "https://a.example.com/"}, wantCode: 2, wantInErr: "flag provided but not defined"},
		{name: "missing file", args: []string{"refresh", "--file", filepath.Join(dir, "none.txt")}, wantCode: 2, wantInErr: "none.txt"},
		{name: "bad config", args: []string{"refresh", "--config", list, "https://a.example.com/"}, wantCode: 2, wantInErr: "config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStand(t, emu.Options{})
			left := filepath.Join(t.TempDir(), "left.txt")
			args := append(slices.Clone(tt.args), "--json", "--leftovers", left)
			code, stdout, stderr := s.run(t, tt.stdin, args...)
			if code != tt.wantCode {
				t.Fatalf("cdnrefresh %s: exit %d, want %d; stderr:\n%s", strings.Join(args, " "), code, tt.wantCode, stderr)
			}
			if tt.wantInErr != "" {
				if !strings.Contains(stderr, tt.wantInErr) {
					t.Errorf("stderr %q lacks %q", stderr, tt.wantInErr)
				}
				return
			}
			got, r := countsOf(t, stdout)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("counts mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantAPI, s.refreshed()); diff != "" {
				t.Errorf("URLs the API refreshed (-want +got):\n%s", diff)
			}
			if tt.wantCalls != nil {
				var calls []string
				for _, c := range s.emu.Calls() {
					if !strings.HasPrefix(c.Action, "Describe") {
						calls = append(calls, fmt.Sprintf("%s %s %v %s", c.Action, c.ObjectType, c.Force, c.Area))
					}
				}
				if diff := cmp.Diff(tt.wantCalls, calls); diff != "" {
					t.Errorf("API calls (-want +got):\n%s", diff)
				}
			}
			for i := range r.Leftovers {
				r.Leftovers[i].Reason = ""
			}
			if diff := cmp.Diff(tt.wantLeft, r.Leftovers, cmp.Comparer(func(a, b []leftover) bool { return len(a)+len(b) == 0 || cmp.Equal(a, b) })); diff != "" {
				t.Errorf("leftovers (-want +got):\n%s", diff)
			}
			if len(tt.wantLeft) > 0 {
				var want []string
				for _, l := range tt.wantLeft {
					want = append(want, l.URL)
					if !strings.Contains(stderr, l.Where+": "+l.URL) {
						t.Errorf("stderr does not name %s: %s:\n%s", l.Where, l.URL, stderr)
					}
				}
				if diff := cmp.Diff(want, readLeftovers(t, left)); diff != "" {
					t.Errorf("leftovers file (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestRefresh2500 is the first "done when": 2,500 URLs, 100 of
// them repeated and one malformed, make 3 calls, name the malformed line by
// its number and exit 1 with it in the leftovers file; 2,500 good URLs
// exit 0.
func TestRefresh2500(t *testing.T) {
	good := urlList("a.example.com", 2500)
	tests := []struct {
		name          string
		lines         []string
		wantCode      int
		wantCalls     int
		wantRefreshed int
		wantLeft      []string
		wantNamed     string
	}{
		{"100 repeated, 1 malformed", append(append(slices.Clone(good[:2399]), good[:100]...), "https://a.example.com/bad\x7fpath"), 1, 3, 2399,
			[]string{"https://a.example.com/bad\x7fpath"}, "line 2500: https://a.example.com/bad\x7fpath (contains a control character)"},
		{"2,500 good", good, 0, 3, 2500, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStand(t, emu.Options{})
			left := filepath.Join(t.TempDir(), "left.txt")
			code, stdout, stderr := s.run(t, strings.Join(tt.lines, "\n")+"\n", "refresh", "--leftovers", left)
			if code != tt.wantCode {
				t.Fatalf("refresh: exit %d, want %d\n%s\n%s", code, tt.wantCode, stdout, stderr)
			}
			if n := len(s.emu.Calls()) - 1; n != tt.wantCalls { // the other call reads the quota
				t.Errorf("refresh calls = %d, want %d", n, tt.wantCalls)
			}
			if got := len(s.refreshed()); got != tt.wantRefreshed {
				t.Errorf("URLs refreshed = %d, want %d", got, tt.wantRefreshed)
			}
			if tt.wantLeft == nil {
				return
			}
			if !strings.Contains(stderr, tt.wantNamed) {
				t.Errorf("stderr does not name %q:\n%s", tt.wantNamed, stderr)
			}
			if !strings.Contains(stdout, "100 duplicates skipped") {
				t.Errorf("stdout does not count the 100 duplicates:\n%s", stdout)
			}
			if diff := cmp.Diff(tt.wantLeft, readLeftovers(t, left)); diff != "" {
				t.Errorf("leftovers file (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRefreshPacing is the second "done when": 2,500 URLs on one
// domain with the minute budget at 1,000 go out in 3 calls, every one
// accepted (no QuotaPerMinuteExceeded), within 125 s of simulated time;
// with one 500 answer in the middle, within 130 s. The requests take
// time to reach the API, the first longer than the others, as on a real
// network: a limiter that counted the minute from when it let a call go
// would send the next one before the API's minute had passed.
func TestRefreshPacing(t *testing.T) {
	tests := []struct {
		name    string
		fail500 bool
		within  time.Duration
	}{
		{"no faults", false, 125 * time.Second},
		{"one 500 in the middle", true, 130 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStand(t, emu.Options{})
			s.before = func(action string, n int, _ *http.Request) {
				if action != refresh.APIRefresh {
					return
				}
				latency := 50 * time.Millisecond
				if n == 1 {
					latency = 300 * time.Millisecond
				}
				s.clk.Advance(latency)
				if tt.fail500 && n == 2 {
					s.emu.Inject(emu.Faults{Next: []string{"InternalError"}})
				}
			}
			start := s.clk.Now()
			code, stdout, stderr := s.run(t, strings.Join(urlList("cdn.example.com", 2500), "\n"), "refresh", "--leftovers", filepath.Join(t.TempDir(), "left.txt"))
			elapsed := s.clk.Now().Sub(start)
			if code != 0 {
				t.Fatalf("refresh: exit %d, want 0\n%s\n%s", code, stdout, stderr)
			}
			if got := len(s.refreshed()); got != 2500 {
				t.Errorf("URLs refreshed = %d, want 2500", got)
			}
			st := s.emu.Stats()
			if n := st.Refused["QuotaPerMinuteExceeded.Refresh"]; n > 0 {
				t.Errorf("%d calls refused QuotaPerMinuteExceeded.Refresh, want none: %v", n, st.Refused)
			}
			if elapsed > tt.within {
				t.Errorf("2,500 URLs took %v of simulated time, want at most %v", elapsed, tt.within)
			}
			if !strings.Contains(stderr, "cdn.example.com: minute budget used, next call in 61 s") {
				t.Errorf("stderr does not show the wait for the minute budget:\n%s", stderr)
			}
			t.Logf("2,500 URLs in %v simulated; refused: %v", elapsed.Round(time.Millisecond), st.Refused)
		})
	}
}

// TestRefreshMinuteSpentElsewhere: when another process (an earlier run,
// a function) spent the domain's minute, the one refusal that says so
// makes the run wait for the minute and submit everything, instead of
// backing off for seconds and giving up.
func TestRefreshMinuteSpentElsewhere(t *testing.T) {
	s := newStand(t, emu.Options{})
	urls := urlList("cdn.example.com", 1500)
	if code, _, stderr := s.run(t, strings.Join(urls[:500], "\n"), "refresh"); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	start := s.clk.Now()
	code, stdout, stderr := s.run(t, strings.Join(urls[500:], "\n"), "refresh")
	elapsed := s.clk.Now().Sub(start)
	if code != 0 {
		t.Fatalf("second run: exit %d, want 0\n%s\n%s", code, stdout, stderr)
	}
	if diff := cmp.Diff(urls, sorted(s.refreshed())); diff != "" {
		t.Errorf("URLs refreshed (-want +got):\n%s", diff)
	}
	if n := s.emu.Stats().Refused["QuotaPerMinuteExceeded.Refresh"]; n != 1 {
		t.Errorf("%d refusals for the minute budget, want the one that told", n)
	}
	if elapsed < time.Minute || elapsed > 70*time.Second {
		t.Errorf("second run took %v of simulated time, want about a minute", elapsed)
	}
	if !strings.Contains(stderr, "cdn.example.com: minute budget used, next call in") {
		t.Errorf("stderr does not show the wait:\n%s", stderr)
	}
}

// TestRefreshSharedBudget: with CDNREFRESH_REDIS_URL two runs (two
// processes, as the CLI and a function are) keep one minute budget, so
// the second waits for the minute and the API refuses nothing.
func TestRefreshSharedBudget(t *testing.T) {
	addr, _ := redistest.Start(t)
	s := newStand(t, emu.Options{})
	t.Setenv("CDNREFRESH_REDIS_URL", "redis://"+addr)
	urls := urlList("cdn.example.com", 1600)
	if code, _, stderr := s.run(t, strings.Join(urls[:800], "\n"), "refresh"); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	start := s.clk.Now()
	code, _, stderr := s.run(t, strings.Join(urls[800:], "\n"), "refresh")
	if code != 0 {
		t.Fatalf("second run: exit %d\n%s", code, stderr)
	}
	if waited := s.clk.Now().Sub(start); waited < time.Minute {
		t.Errorf("second run took %v, want a minute's wait for the shared budget", waited)
	}
	if refused := s.emu.Stats().Refused; len(refused) > 0 {
		t.Errorf("the API refused %v, want nothing: the budget is shared", refused)
	}
}

// TestRefreshAllThrottled is the third "done when": with every
// call throttled nothing is submitted (exit 3), the leftovers file holds
// every URL, and no more than one call's worth was sent while the quota
// could not be read; fed back later, it submits them all.
func TestRefreshAllThrottled(t *testing.T) {
	s := newStand(t, emu.Options{})
	s.emu.Inject(emu.Faults{Throttle: 1})
	urls := urlList("cdn.example.com", 1500)
	left := filepath.Join(t.TempDir(), "left.txt")
	code, stdout, stderr := s.run(t, strings.Join(urls, "\n"), "refresh", "--leftovers", left)
	if code != 3 {
		t.Fatalf("refresh, all throttled: exit %d, want 3\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "CDN quota could not be read") || !strings.Contains(stderr, "at most one call's worth (1000 URLs)") {
		t.Errorf("stderr does not say the quota is unreadable and what is sent blind:\n%s", stderr)
	}
	blind := map[string]bool{}
	for _, a := range s.attempts {
		for _, u := range a {
			blind[u] = true
		}
	}
	if len(blind) > 1000 {
		t.Errorf("%d URLs sent with the quota unknown, want at most one call's worth (1000)", len(blind))
	}
	if diff := cmp.Diff(urls, sorted(readLeftovers(t, left))); diff != "" {
		t.Errorf("leftovers file (-want +got):\n%s", diff)
	}

	s.emu.Inject(emu.Faults{})
	code, stdout, stderr = s.run(t, "", "refresh", "--file", left, "--leftovers", left+".2")
	if code != 0 {
		t.Fatalf("refresh --file leftovers: exit %d, want 0\n%s\n%s", code, stdout, stderr)
	}
	if diff := cmp.Diff(urls, sorted(s.refreshed())); diff != "" {
		t.Errorf("URLs refreshed from the leftovers (-want +got):\n%s", diff)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestRefreshQuotaUnreadable: when only the quota cannot be read, one
// call's worth is submitted and the rest is left over with that reason
// (exit 1), never sent blind.
func TestRefreshQuotaUnreadable(t *testing.T) {
	s := newStand(t, emu.Options{})
	s.emu.Inject(emu.Faults{Throttle: 1, Actions: []string{refresh.APIQuota}})
	code, stdout, stderr := s.run(t, strings.Join(urlList("cdn.example.com", 2500), "\n"), "refresh", "--json", "--leftovers", filepath.Join(t.TempDir(), "left.txt"))
	if code != 1 {
		t.Fatalf("refresh: exit %d, want 1\n%s", code, stderr)
	}
	got, r := countsOf(t, stdout)
	if diff := cmp.Diff(counts{URLs: 2500, Submitted: 1000, Spilled: 1500, Calls: 1}, got); diff != "" {
		t.Errorf("counts mismatch (-want +got):\n%s", diff)
	}
	if len(r.Leftovers) == 0 || !strings.HasPrefix(r.Leftovers[0].Reason, "quota unreadable") {
		t.Errorf("leftovers' reason = %+v, want quota unreadable", r.Leftovers[:min(1, len(r.Leftovers))])
	}
}

// TestRefreshWait: refresh --wait follows the tasks it made; a failed one
// makes exit 1 and is named with its reason.
func TestRefreshWait(t *testing.T) {
	tests := []struct {
		name     string
		failRate float64
		wantCode int
		want     string
	}{
		{"all complete", 0, 0, "tasks: 1 complete, 0 failed, 0 still running"},
		{"one fails", 1, 1, "tasks: 0 complete, 1 failed, 0 still running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStand(t, emu.Options{TaskDuration: 30 * time.Second, Faults: emu.Faults{TaskFail: tt.failRate}})
			start := s.clk.Now()
			code, stdout, stderr := s.run(t, "", "refresh", "--wait", "--leftovers", filepath.Join(t.TempDir(), "left.txt"), "https://static.example.com/a.css", "https://static.example.com/b.css")
			if code != tt.wantCode || !strings.Contains(stdout, tt.want) {
				t.Fatalf("refresh --wait: exit %d, stdout %q; want exit %d and %q\n%s", code, stdout, tt.wantCode, tt.want, stderr)
			}
			if waited := s.clk.Now().Sub(start); waited < 30*time.Second {
				t.Errorf("refresh --wait returned after %v, before the tasks' 30 s", waited)
			}
			if tt.failRate > 0 && !strings.Contains(stdout, "https://static.example.com/a.css: ") {
				t.Errorf("stdout does not name the failed URL and its reason:\n%s", stdout)
			}
		})
	}
}

// TestParseArgs: flags and arguments in any order; -- ends the flags.
func TestParseArgs(t *testing.T) {
	tests := []struct {
		args     []string
		wantRest []string
		wantJSON bool
	}{
		{[]string{"a", "--json", "b"}, []string{"a", "b"}, true},
		{[]string{"--json", "a"}, []string{"a"}, true},
		{[]string{"a", "--", "--json"}, []string{"a", "--json"}, false},
		{[]string{"-", "--json"}, []string{"-"}, true},
		{nil, nil, false},
	}
	for _, tt := range tests {
		fs := newFlags("test", nil)
		j := fs.Bool("json", false, "")
		rest, err := parseArgs(fs, tt.args)
		if err != nil || !cmp.Equal(tt.wantRest, rest) || *j != tt.wantJSON {
			t.Errorf("parseArgs(%q) = %q, json %v, %v; want %q, json %v", tt.args, rest, *j, err, tt.wantRest, tt.wantJSON)
		}
	}
}

// TestRefreshTagLeftover: a cache tag the API refuses is named, and the
// leftovers file holds it as a comment (not as its domain's root URL,
// which --file would refresh) beside the URLs left over.
func TestRefreshTagLeftover(t *testing.T) {
	s := newStand(t, emu.Options{Domains: []string{"www.example.com"}})
	left := filepath.Join(t.TempDir(), "left.txt")
	code, stdout, stderr := s.run(t, "", "refresh", "--json", "--leftovers", left, "--tag", "product-42", "--domain", "shop.example.com", "https://shop.example.com/a.css", "https://www.example.com/b.css")
	if code != 1 {
		t.Fatalf("refresh: exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	got, _ := countsOf(t, stdout)
	// Calls: the tag's, then the URLs' together, refused for shop.example.com and split by domain.
	if diff := cmp.Diff(counts{URLs: 3, Submitted: 1, Rejected: 2, Calls: 4}, got); diff != "" {
		t.Errorf("counts mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(stderr, "--tag product-42: https://shop.example.com/") {
		t.Errorf("stderr does not name the refused tag:\n%s", stderr)
	}
	if diff := cmp.Diff([]string{"https://shop.example.com/a.css"}, readLeftovers(t, left)); diff != "" {
		t.Errorf("URLs in the leftovers file (-want +got):\n%s", diff)
	}
	data, err := os.ReadFile(left)
	if err != nil || !strings.Contains(string(data), "# rejected (--tag product-42 --domain shop.example.com)") {
		t.Errorf("leftovers file %q (%v) does not name the tag in a comment", data, err)
	}
}
