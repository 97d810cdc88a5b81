package plan_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/plan"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// packageTree returns the file refreshes of one npm package version
// landing in a bucket at once: dist and lib hold most files, each utils
// directory one.
func packageTree(dist, lib int) []refresh.Job {
	return cat(
		many(dist, "https://cdn.example.com/npm/pkg@2.0.0/dist/%05d.js", file),
		many(lib, "https://cdn.example.com/npm/pkg@2.0.0/lib/%05d.js", file),
		[]refresh.Job{
			file("https://cdn.example.com/npm/pkg@2.0.0/dist/utils/index.js"),
			file("https://cdn.example.com/npm/pkg@2.0.0/lib/utils/index.js"),
		},
	)
}

// documented is the auto planner on the documented account defaults.
func documented() plan.Planner {
	return plan.Planner{
		CollapseThreshold:   plan.CollapseAuto,
		DirReserve:          10,
		DomainURLsPerMinute: 1000,
		MaxWait:             time.Minute,
	}
}

func TestPlanAutoCollapse(t *testing.T) {
	const pkg = "https://cdn.example.com/npm/pkg@2.0.0/"
	daily := refresh.Quota{URL: 10000, Dir: 100, Regex: 20, IgnoreParams: 10000, Preload: 1000}
	withDepth := func(p plan.Planner, d int) plan.Planner { p.CollapseMaxDepth = d; return p }
	withWait := func(p plan.Planner, w time.Duration) plan.Planner { p.MaxWait = w; return p }
	halfDay := func(p plan.Planner) plan.Planner { p.DayElapsed = func() float64 { return 0.5 }; return p }
	firstHour := func(p plan.Planner) plan.Planner { p.DayElapsed = func() float64 { return 0.5 / 24 }; return p }
	twoAMReserve := func(p plan.Planner, reserve int) plan.Planner {
		p.Reserve = refresh.Quota{URL: reserve}
		p.DayElapsed = func() float64 { return 2.0 / 24 }
		return p
	}
	spent := func(p plan.Planner, n int) plan.Planner {
		p.DomainSpent = func(api, domain string) int {
			if api != refresh.APIRefresh || domain != "d.example.com" {
				t.Errorf("DomainSpent(%q, %q); want RefreshObjectCaches, d.example.com", api, domain)
			}
			return n
		}
		return p
	}
	subdirs := cat(many(1000, "https://d.example.com/a/x/%04d", file), many(1000, "https://d.example.com/a/y/%04d", file),
		many(1000, "https://d.example.com/a/z/%04d", file))
	tests := []struct {
		name  string
		p     plan.Planner
		jobs  []refresh.Job
		quota refresh.Quota
		dirs  []string // directory calls' URLs, sorted
		files int      // File URLs sent
		over  int
		note  string // a note of the calls contains this
	}{
		{"a package tree three times the URL quota: its two big directories", documented(), packageTree(21228, 10612), daily,
			[]string{pkg + "dist/", pkg + "lib/"}, 2, 0, "(quota pressure: 10000 left for 31842)"},
		{"ample URL quota: never", documented(), many(100, "https://d.example.com/a/%03d.js", file), daily, nil, 100, 0, ""},
		{"ample quota, a domain's minute budget: beyond max_wait", documented(), many(2500, "https://d.example.com/a/%04d.js", file), daily,
			[]string{"https://d.example.com/a/"}, 0, 0, "2500 URLs for d.example.com, 1000 a minute"},
		{"within max_wait of the minute budget: never", documented(), many(2000, "https://d.example.com/a/%04d.js", file), daily, nil, 2000, 0, ""},
		{"max_wait 0: one minute's budget", withWait(documented(), 0), many(1001, "https://d.example.com/a/%04d.js", file), daily,
			[]string{"https://d.example.com/a/"}, 0, 0, ""},
		{"the directory reserve is kept", documented(), packageTree(6000, 6000), refresh.Quota{URL: 10000, Dir: 10},
			nil, 10000, 2002, ""},
		{"the reserve leaves one unit: the biggest directory", documented(), packageTree(7000, 6000), refresh.Quota{URL: 10000, Dir: 11},
			[]string{pkg + "dist/"}, 6002, 0, "collapsed 7000 URLs under " + pkg + "dist/"},
		{"only as many directories as the shortfall needs", withWait(documented(), time.Hour), cat(subdirs, many(10, "https://d.example.com/b/%d", file)), refresh.Quota{URL: 1500, Dir: 100},
			[]string{"https://d.example.com/a/x/", "https://d.example.com/a/y/"}, 1010, 0, ""},
		{"collapse_max_depth 1 reaches the parent", withDepth(withWait(documented(), time.Hour), 1), subdirs, refresh.Quota{URL: 1500, Dir: 100},
			[]string{"https://d.example.com/a/"}, 0, 0, "collapsed 3000 URLs under https://d.example.com/a/"},
		{"expected remainder: a directory worth a unit", halfDay(documented()),
			cat(many(100, "https://d.example.com/big/%03d", file), many(20, "https://d.example.com/small/%02d", file)), refresh.Quota{URL: 4000, Dir: 100},
			[]string{"https://d.example.com/big/"}, 20, 0, "(6000 of them expected later today)"},
		{"the quota day's first hour: no expected remainder, whatever was spent", firstHour(documented()),
			cat(many(100, "https://d.example.com/big/%03d", file), many(20, "https://d.example.com/small/%02d", file)), refresh.Quota{URL: 4000, Dir: 100},
			nil, 120, 0, ""},
		{"the minute budget spent by earlier calls: a lone file's directory", spent(documented(), 2000),
			[]refresh.Job{file("https://d.example.com/a/utils/index.js")}, daily,
			[]string{"https://d.example.com/a/utils/"}, 0, 0, "collapsed 1 URL under https://d.example.com/a/utils/ (quota pressure: 1 URLs for d.example.com, 1000 a minute, 0 of them left within max_wait)"},
		{"the minute budget partly spent: what is left is enough", spent(documented(), 1000),
			many(900, "https://d.example.com/a/%03d", file), daily, nil, 900, 0, ""},
		{"a flush with 30 s left: the budget spent does not free up in time", spent(documented().Within(30*time.Second).(plan.Planner), 1000),
			many(2, "https://d.example.com/a/%d.js", file), daily, []string{"https://d.example.com/a/"}, 0, 0, ""},
		{"the same with a minute and more left: the files wait", spent(documented().Within(2*time.Minute).(plan.Planner), 1000),
			many(2, "https://d.example.com/a/%d.js", file), daily, nil, 2, 0, ""},
		{"an absorbed directory is not picked again: the pressure is eased in full", withDepth(withWait(documented(), time.Hour), 1),
			cat(many(100, "https://d.example.com/a/x/y/%03d", file), many(10, "https://d.example.com/a/x/%02d", file),
				many(30, "https://d.example.com/a/w/%02d", file), many(30, "https://d.example.com/a/v/%02d", file),
				many(100, "https://d.example.com/b/q/p%03d/r/f", file), many(100, "https://d.example.com/b/q/p%03d/r/g", file)),
			refresh.Quota{URL: 100, Dir: 98}, nil, -1, 0, ""},
		{"02:00, nothing spent, quota_reserve 2000: the reserve is not counted as spent", twoAMReserve(documented(), 2000),
			many(150, "https://d.example.com/a/%03d", file), refresh.Quota{URL: 10000, Dir: 100}, nil, 150, 0, ""},
		{"http and https of one host share its minute budget", withWait(documented(), 0),
			cat(many(900, "https://d.example.com/s/%03d", file), many(900, "http://d.example.com/p/%03d", file)), daily,
			[]string{"http://d.example.com/p/"}, 900, 0, "1800 URLs for d.example.com"},
		{"files at the host root are a directory too", documented(), many(2500, "https://d.example.com/%04d.js", file), daily,
			[]string{"https://d.example.com/"}, 0, 0, ""},
		{"forced and unforced files collapse apart", documented(), cat(many(1500, "https://d.example.com/a/%04d", file),
			many(1500, "https://d.example.com/a/f%04d", func(u string) refresh.Job { return forced(file(u)) })), refresh.Quota{URL: 1000, Dir: 100},
			[]string{"https://d.example.com/a/", "https://d.example.com/a/"}, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, over := tt.p.Plan(tt.jobs, tt.quota)
			var dirs []string
			files := 0
			var notes []string
			for _, c := range calls {
				switch c.ObjectType {
				case refresh.Directory:
					dirs = append(dirs, c.URLs...)
				case refresh.File:
					files += len(c.URLs)
				}
				for _, n := range c.Notes {
					notes = append(notes, n)
				}
			}
			slices.Sort(dirs)
			if tt.files < 0 {
				dirs = nil // only that nothing is over
			}
			if diff := cmp.Diff(tt.dirs, dirs); diff != "" {
				t.Errorf("directory URLs (-want +got):\n%s", diff)
			}
			if (tt.files >= 0 && files != tt.files) || len(over) != tt.over {
				t.Errorf("%d file URLs sent, %d jobs over; want %d, %d", files, len(over), tt.files, tt.over)
			}
			if tt.note != "" && !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, tt.note) }) {
				t.Errorf("notes %q; want one containing %q", notes, tt.note)
			}
			if tt.files >= 0 && len(tt.dirs) == 0 && len(notes) > 0 {
				t.Errorf("notes %q without a collapse", notes)
			}
			checkValid(t, calls)
			checkAccounted(t, tt.jobs, calls, over)
		})
	}
}

// TestPlanThresholdKeepsDirReserve: a number collapses as before, within
// the directory units beyond the reserve.
func TestPlanThresholdKeepsDirReserve(t *testing.T) {
	var jobs []refresh.Job
	for d := range 5 {
		jobs = append(jobs, many(60, fmt.Sprintf("https://d.example.com/d%d/%%02d", d), file)...)
	}
	p := plan.Planner{CollapseThreshold: 50, DirReserve: 10}
	calls, over := p.Plan(jobs, refresh.Quota{URL: 10000, Dir: 13})
	n := 0
	for _, c := range calls {
		if c.ObjectType == refresh.Directory {
			n += len(c.URLs)
		}
	}
	if n != 3 || len(over) != 0 {
		t.Errorf("%d directories, %d over; want 3 (13 left, 10 kept), none", n, len(over))
	}
	checkAccounted(t, jobs, calls, over)
}
