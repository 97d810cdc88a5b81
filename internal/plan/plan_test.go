package plan_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/plan"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

var _ refresh.Planner = plan.Planner{}

func job(a refresh.Action, p refresh.Provider, t refresh.ObjectType, u string) refresh.Job {
	return refresh.Job{Action: a, Provider: p, ObjectType: t, URL: u}
}

func file(u string) refresh.Job  { return job(refresh.ActionRefresh, refresh.CDN, refresh.File, u) }
func dir(u string) refresh.Job   { return job(refresh.ActionRefresh, refresh.CDN, refresh.Directory, u) }
func regex(u string) refresh.Job { return job(refresh.ActionRefresh, refresh.CDN, refresh.Regex, u) }
func ignp(u string) refresh.Job {
	return job(refresh.ActionRefresh, refresh.CDN, refresh.IgnoreParams, u)
}
func push(u string) refresh.Job { return job(refresh.ActionPrefetch, refresh.CDN, "", u) }

func forced(j refresh.Job) refresh.Job { j.Force = true; return j }
func dcdn(j refresh.Job) refresh.Job   { j.Provider = refresh.DCDN; return j }
func keyed(j refresh.Job, k string) refresh.Job {
	j.Key = k
	return j
}

// many returns n jobs made by mk from URLs format(i).
func many(n int, format string, mk func(string) refresh.Job) []refresh.Job {
	out := make([]refresh.Job, n)
	for i := range out {
		out[i] = mk(fmt.Sprintf(format, i))
	}
	return out
}

func cat(js ...[]refresh.Job) []refresh.Job {
	var out []refresh.Job
	for _, j := range js {
		out = append(out, j...)
	}
	return out
}

// shape is a call reduced to what the size tests look at.
type shape struct {
	API        string
	ObjectType refresh.ObjectType
	Force      bool
	URLs       int
	Domains    int
	Jobs       int
}

func shapes(calls []refresh.Call) []shape {
	var out []shape
	for _, c := range calls {
		hosts := map[string]bool{}
		for _, u := range c.URLs {
			hosts[hostPart(u)] = true
		}
		out = append(out, shape{c.API, c.ObjectType, c.Force, len(c.URLs), len(hosts), len(c.Jobs)})
	}
	return out
}

func hostPart(u string) string {
	const s = "https://"
	u = u[len(s):]
	for i := range len(u) {
		if u[i] == '/' {
			return u[:i]
		}
	}
	return u
}

// sent is a call reduced to its request and the URLs of its jobs.
type sent struct {
	API        string
	ObjectType refresh.ObjectType
	Force      bool
	URLs       []string
	JobURLs    []string
}

func sents(calls []refresh.Call) []sent {
	var out []sent
	for _, c := range calls {
		s := sent{API: c.API, ObjectType: c.ObjectType, Force: c.Force, URLs: c.URLs}
		for _, j := range c.Jobs {
			s.JobURLs = append(s.JobURLs, j.URL)
		}
		out = append(out, s)
	}
	return out
}

func checkValid(t *testing.T, calls []refresh.Call) {
	t.Helper()
	for i, c := range calls {
		if err := plan.Validate(c, plan.DefaultLimits()); err != nil {
			t.Errorf("call %d: Validate = %v, want nil", i, err)
		}
	}
}

func TestPlanCalls(t *testing.T) {
	tests := []struct {
		name string
		jobs []refresh.Job
		want []sent
	}{
		{
			name: "dedupe keeps every job in Jobs",
			jobs: []refresh.Job{
				keyed(file("https://d/a.txt"), "a"), file("https://d/b.txt"),
				keyed(file("https://d/a.txt"), "a"), keyed(file("https://d/a.txt"), "other-key"),
			},
			want: []sent{{refresh.APIRefresh, refresh.File, false,
				[]string{"https://d/a.txt", "https://d/b.txt"},
				[]string{"https://d/a.txt", "https://d/a.txt", "https://d/a.txt", "https://d/b.txt"}}},
		},
		{
			name: "directory covers files beneath it, not prefetch or others",
			jobs: []refresh.Job{
				file("https://d/a/x.png"), dir("https://d/a/"), file("https://d/a/b/y.png?v=2"),
				file("https://d/ab/z.png"), push("https://d/a/x.png"), ignp("https://d/a/q.js"),
				file("https://e/a/x.png"), file("http://d/a/x.png"), dcdn(file("https://d/a/x.png")),
				file("https://d/a/"),
			},
			want: []sent{
				{refresh.APIRefresh, refresh.Directory, false, []string{"https://d/a/"}, []string{
					"https://d/a/", "https://d/a/", "https://d/a/b/y.png?v=2", "https://d/a/q.js", "https://d/a/x.png"}},
				{refresh.APIRefresh, refresh.File, false, []string{"http://d/a/x.png", "https://d/ab/z.png", "https://e/a/x.png"},
					[]string{"http://d/a/x.png", "https://d/ab/z.png", "https://e/a/x.png"}},
				{refresh.APIRefreshDCDN, refresh.File, false, []string{"https://d/a/x.png"}, []string{"https://d/a/x.png"}},
				{refresh.APIPush, "", false, []string{"https://d/a/x.png"}, []string{"https://d/a/x.png"}},
			},
		},
		{
			name: "host case does not matter for cover",
			jobs: []refresh.Job{dir("HTTPS://D.example/a/"), file("https://d.EXAMPLE/a/x")},
			want: []sent{{refresh.APIRefresh, refresh.Directory, false, []string{"HTTPS://D.example/a/"},
				[]string{"HTTPS://D.example/a/", "https://d.EXAMPLE/a/x"}}},
		},
		{
			name: "unforced directory does not cover a forced file",
			jobs: []refresh.Job{dir("https://d/a/"), forced(file("https://d/a/x")), file("https://d/a/y")},
			want: []sent{
				{refresh.APIRefresh, refresh.Directory, false, []string{"https://d/a/"}, []string{"https://d/a/", "https://d/a/y"}},
				{refresh.APIRefresh, refresh.File, true, []string{"https://d/a/x"}, []string{"https://d/a/x"}},
			},
		},
		{
			name: "forced directory covers forced and unforced",
			jobs: []refresh.Job{forced(dir("https://d/a/")), forced(file("https://d/a/x")), file("https://d/a/y"), dir("https://d/a/")},
			want: []sent{{refresh.APIRefresh, refresh.Directory, true, []string{"https://d/a/"},
				[]string{"https://d/a/", "https://d/a/", "https://d/a/x", "https://d/a/y"}}},
		},
		{
			name: "nested directories become one",
			jobs: []refresh.Job{dir("https://d/a/b/"), dir("https://d/a/"), dir("https://d/c/"), file("https://d/a/b/x")},
			want: []sent{{refresh.APIRefresh, refresh.Directory, false, []string{"https://d/a/", "https://d/c/"},
				[]string{"https://d/a/", "https://d/a/b/", "https://d/a/b/x", "https://d/c/"}}},
		},
		{
			name: "provider, action, type and force never share a call",
			jobs: []refresh.Job{
				file("https://d/1"), forced(file("https://d/2")), dcdn(file("https://d/3")),
				push("https://d/4"), dcdn(push("https://d/5")), regex("https://d/r.*"), ignp("https://d/6"),
				dcdn(forced(dir("https://d/7/"))),
			},
			want: []sent{
				{refresh.APIRefresh, refresh.File, false, []string{"https://d/1"}, []string{"https://d/1"}},
				{refresh.APIRefresh, refresh.File, true, []string{"https://d/2"}, []string{"https://d/2"}},
				{refresh.APIRefresh, refresh.IgnoreParams, false, []string{"https://d/6"}, []string{"https://d/6"}},
				{refresh.APIRefresh, refresh.Regex, false, []string{"https://d/r.*"}, []string{"https://d/r.*"}},
				{refresh.APIRefreshDCDN, refresh.Directory, true, []string{"https://d/7/"}, []string{"https://d/7/"}},
				{refresh.APIRefreshDCDN, refresh.File, false, []string{"https://d/3"}, []string{"https://d/3"}},
				{refresh.APIPush, "", false, []string{"https://d/4"}, []string{"https://d/4"}},
				{refresh.APIPreloadDCDN, "", false, []string{"https://d/5"}, []string{"https://d/5"}},
			},
		},
		{
			name: "defaults: no provider is CDN, no refresh type is File, prefetch type dropped",
			jobs: []refresh.Job{
				{Action: refresh.ActionRefresh, URL: "https://d/1"},
				{Action: refresh.ActionPrefetch, ObjectType: refresh.File, URL: "https://d/2"},
				push("https://d/2"),
			},
			want: []sent{
				{refresh.APIRefresh, refresh.File, false, []string{"https://d/1"}, []string{"https://d/1"}},
				{refresh.APIPush, "", false, []string{"https://d/2"}, []string{"https://d/2", "https://d/2"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, over := plan.Planner{}.Plan(tt.jobs, refresh.NoQuotaLimit)
			if diff := cmp.Diff(tt.want, sents(calls)); diff != "" {
				t.Errorf("Plan(%d jobs) calls mismatch (-want +got):\n%s", len(tt.jobs), diff)
			}
			if len(over) != 0 {
				t.Errorf("Plan(%d jobs) over = %v, want none", len(tt.jobs), over)
			}
			checkValid(t, calls)
		})
	}
}

func TestPlanSplit(t *testing.T) {
	refreshFile := func(n, jobs int) shape { return shape{refresh.APIRefresh, refresh.File, false, n, 1, jobs} }
	tests := []struct {
		name string
		jobs []refresh.Job
		want []shape
	}{
		{"1000 URLs in one call", many(1000, "https://d/%04d", file), []shape{refreshFile(1000, 1000)}},
		{"1001 URLs in two calls", many(1001, "https://d/%04d", file), []shape{refreshFile(1000, 1000), refreshFile(1, 1)}},
		{"100 directories in one call", many(100, "https://d/%03d/", dir),
			[]shape{{refresh.APIRefresh, refresh.Directory, false, 100, 1, 100}}},
		{"101 directories in two calls", many(101, "https://d/%03d/", dir), []shape{
			{refresh.APIRefresh, refresh.Directory, false, 100, 1, 100},
			{refresh.APIRefresh, refresh.Directory, false, 1, 1, 1}}},
		{"2 regexes in two calls", many(2, "https://d/%d/.*", regex), []shape{
			{refresh.APIRefresh, refresh.Regex, false, 1, 1, 1},
			{refresh.APIRefresh, refresh.Regex, false, 1, 1, 1}}},
		{"101 pushes in two calls", many(101, "https://d/%03d", push), []shape{
			{refresh.APIPush, "", false, 100, 1, 100},
			{refresh.APIPush, "", false, 1, 1, 1}}},
		{"101 DCDN preloads in two calls", many(101, "https://d/%03d", func(u string) refresh.Job { return dcdn(push(u)) }), []shape{
			{refresh.APIPreloadDCDN, "", false, 100, 1, 100},
			{refresh.APIPreloadDCDN, "", false, 1, 1, 1}}},
		{"10 domains in one call", many(10, "https://d%d/x", file), []shape{{refresh.APIRefresh, refresh.File, false, 10, 10, 10}}},
		{"11 domains in two calls", many(11, "https://d%02d/x", file), []shape{
			{refresh.APIRefresh, refresh.File, false, 10, 10, 10},
			{refresh.APIRefresh, refresh.File, false, 1, 1, 1}}},
		{"a big domain spans calls and shares the last", cat(many(1500, "https://a/%04d", file), many(10, "https://b%d/x", file)), []shape{
			{refresh.APIRefresh, refresh.File, false, 1000, 1, 1000},
			{refresh.APIRefresh, refresh.File, false, 509, 10, 509},
			{refresh.APIRefresh, refresh.File, false, 1, 1, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, over := plan.Planner{}.Plan(tt.jobs, refresh.NoQuotaLimit)
			if diff := cmp.Diff(tt.want, shapes(calls)); diff != "" {
				t.Errorf("Plan(%d jobs) mismatch (-want +got):\n%s", len(tt.jobs), diff)
			}
			if len(over) != 0 {
				t.Errorf("Plan(%d jobs) over = %d jobs, want none", len(tt.jobs), len(over))
			}
			checkValid(t, calls)
		})
	}
}

func TestPlanSmallerLimits(t *testing.T) {
	p := plan.Planner{Limits: plan.Limits{RefreshURLs: 3, Domains: 2}}
	calls, _ := p.Plan(cat(many(4, "https://a/%d", file), many(2, "https://b%d/x", file)), refresh.NoQuotaLimit)
	want := []sent{
		{refresh.APIRefresh, refresh.File, false, []string{"https://a/0", "https://a/1", "https://a/2"}, []string{"https://a/0", "https://a/1", "https://a/2"}},
		{refresh.APIRefresh, refresh.File, false, []string{"https://a/3", "https://b0/x"}, []string{"https://a/3", "https://b0/x"}},
		{refresh.APIRefresh, refresh.File, false, []string{"https://b1/x"}, []string{"https://b1/x"}},
	}
	if diff := cmp.Diff(want, sents(calls)); diff != "" {
		t.Errorf("Plan with limits %+v mismatch (-want +got):\n%s", p.Limits, diff)
	}
}

func TestPlanQuota(t *testing.T) {
	tests := []struct {
		name      string
		reserve   refresh.Quota
		quota     refresh.Quota
		jobs      []refresh.Job
		wantSent  []string // every URL sent, in call order
		wantOver  []refresh.Job
		threshold int
	}{
		{
			name:     "URL quota caps files, earliest first, duplicates follow",
			quota:    refresh.Quota{URL: 2},
			jobs:     []refresh.Job{file("https://d/3"), file("https://d/1"), keyed(file("https://d/3"), "again"), file("https://d/2"), file("https://d/0"), keyed(file("https://d/2"), "again")},
			wantSent: []string{"https://d/1", "https://d/3"},
			wantOver: []refresh.Job{file("https://d/2"), file("https://d/0"), keyed(file("https://d/2"), "again")},
		},
		{
			name:     "reserve is kept back",
			quota:    refresh.Quota{URL: 5, Preload: 2},
			reserve:  refresh.Quota{URL: 3, Preload: 5},
			jobs:     []refresh.Job{file("https://d/a"), file("https://d/b"), file("https://d/c"), push("https://d/p")},
			wantSent: []string{"https://d/a", "https://d/b"},
			wantOver: []refresh.Job{file("https://d/c"), push("https://d/p")},
		},
		{
			name:     "unlimited ignores the reserve",
			quota:    refresh.NoQuotaLimit,
			reserve:  refresh.Quota{URL: refresh.Unlimited, Dir: 50},
			jobs:     []refresh.Job{file("https://d/a"), dir("https://d/b/")},
			wantSent: []string{"https://d/b/", "https://d/a"},
		},
		{
			name:     "negative quota plans nothing",
			quota:    refresh.Quota{URL: -4},
			jobs:     []refresh.Job{file("https://d/a")},
			wantOver: []refresh.Job{file("https://d/a")},
		},
		{
			name:     "each type draws on its own quota",
			quota:    refresh.Quota{URL: 1, Dir: 1, Regex: 1, IgnoreParams: 1, Preload: 1},
			jobs:     []refresh.Job{regex("https://d/1.*"), regex("https://d/2.*"), ignp("https://d/i1"), ignp("https://d/i2"), push("https://d/p1"), push("https://d/p2"), dir("https://d/x/"), dir("https://d/y/"), file("https://d/f1"), file("https://d/f2")},
			wantSent: []string{"https://d/x/", "https://d/f1", "https://d/i1", "https://d/1.*", "https://d/p1"},
			wantOver: []refresh.Job{regex("https://d/2.*"), ignp("https://d/i2"), push("https://d/p2"), dir("https://d/y/"), file("https://d/f2")},
		},
		{
			name:     "covered files cost nothing",
			quota:    refresh.Quota{URL: 0, Dir: 1},
			jobs:     []refresh.Job{file("https://d/a/1"), file("https://d/a/2"), dir("https://d/a/"), file("https://d/b/1")},
			wantSent: []string{"https://d/a/"},
			wantOver: []refresh.Job{file("https://d/b/1")},
		},
		{
			name:     "files under a directory over quota are sent as files",
			quota:    refresh.Quota{URL: 5, Dir: 1},
			jobs:     []refresh.Job{dir("https://d/x/"), dir("https://d/a/"), file("https://d/a/1")},
			wantSent: []string{"https://d/x/", "https://d/a/1"},
			wantOver: []refresh.Job{dir("https://d/a/")},
		},
		{
			name:     "a directory tree is admitted at the place of its earliest member",
			quota:    refresh.Quota{Dir: 1},
			jobs:     []refresh.Job{dir("https://d/a/b/"), dir("https://d/x/"), dir("https://d/a/")},
			wantSent: []string{"https://d/a/"},
			wantOver: []refresh.Job{dir("https://d/x/")},
		},
		{
			name:     "a refused tree's members go over with it",
			quota:    refresh.Quota{Dir: 1},
			jobs:     []refresh.Job{dir("https://d/x/"), dir("https://d/a/b/"), dir("https://d/a/")},
			wantSent: []string{"https://d/x/"},
			wantOver: []refresh.Job{dir("https://d/a/b/"), dir("https://d/a/")},
		},
		{
			name:      "collapse not done without directory quota",
			quota:     refresh.Quota{URL: 150, Dir: 0},
			threshold: 100,
			jobs:      many(150, "https://d/img/%03d.png", file)[:120],
			wantSent:  urlList(120, "https://d/img/%03d.png"),
		},
		{
			name:      "collapse uses directory quota left after directory jobs",
			quota:     refresh.Quota{URL: 0, Dir: 2},
			threshold: 3,
			jobs: cat(many(3, "https://d/a/%d", file), many(4, "https://d/b/%d", file), many(5, "https://d/c/%d", file),
				[]refresh.Job{dir("https://d/x/")}),
			wantSent: []string{"https://d/c/", "https://d/x/"},
			wantOver: cat(many(3, "https://d/a/%d", file), many(4, "https://d/b/%d", file)),
		},
		{
			name:      "collapse rescues files beyond the URL quota",
			quota:     refresh.Quota{URL: 1, Dir: 1},
			threshold: 3,
			jobs:      cat(many(2, "https://d/z%d", file), many(3, "https://d/a/%d", file)),
			wantSent:  []string{"https://d/a/", "https://d/z0"},
			wantOver:  []refresh.Job{file("https://d/z1")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plan.Planner{Reserve: tt.reserve, CollapseThreshold: tt.threshold}
			calls, over := p.Plan(tt.jobs, tt.quota)
			var got []string
			for _, c := range calls {
				got = append(got, c.URLs...)
			}
			if diff := cmp.Diff(tt.wantSent, got); diff != "" {
				t.Errorf("Plan(quota %+v) sent URLs mismatch (-want +got):\n%s", tt.quota, diff)
			}
			if diff := cmp.Diff(tt.wantOver, over); diff != "" {
				t.Errorf("Plan(quota %+v) over mismatch (-want +got):\n%s", tt.quota, diff)
			}
			checkValid(t, calls)
			checkAccounted(t, tt.jobs, calls, over)
		})
	}
}

func urlList(n int, format string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

func TestPlanCollapse(t *testing.T) {
	img300 := many(300, "https://d/img/%03d.jpg", file)
	tests := []struct {
		name      string
		threshold int
		quota     refresh.Quota
		jobs      []refresh.Job
		want      []sent
	}{
		{
			name:      "300 files under /img/ with threshold 100 become one directory",
			threshold: 100,
			quota:     refresh.NoQuotaLimit,
			jobs:      cat(img300, []refresh.Job{file("https://d/css/a.css")}),
			want: []sent{
				{refresh.APIRefresh, refresh.Directory, false, []string{"https://d/img/"}, urlList(300, "https://d/img/%03d.jpg")},
				{refresh.APIRefresh, refresh.File, false, []string{"https://d/css/a.css"}, []string{"https://d/css/a.css"}},
			},
		},
		{
			name:      "deepest directory with enough files",
			threshold: 3,
			quota:     refresh.NoQuotaLimit,
			jobs:      cat(many(3, "https://d/img/a/b/%d", file), many(2, "https://d/img/c/%d", file)),
			want: []sent{
				{refresh.APIRefresh, refresh.Directory, false, []string{"https://d/img/a/b/"}, urlList(3, "https://d/img/a/b/%d")},
				{refresh.APIRefresh, refresh.File, false, urlList(2, "https://d/img/c/%d"), urlList(2, "https://d/img/c/%d")},
			},
		},
		{
			name:      "siblings each over the threshold stay apart",
			threshold: 3,
			quota:     refresh.NoQuotaLimit,
			jobs:      cat(many(3, "https://d/img/a/%d", file), many(4, "https://d/img/b/%d", file)),
			want: []sent{{refresh.APIRefresh, refresh.Directory, false, []string{"https://d/img/a/", "https://d/img/b/"},
				cat2(urlList(3, "https://d/img/a/%d"), urlList(4, "https://d/img/b/%d"))}},
		},
		{
			name:      "leftovers reaching the threshold lift the pick to the parent",
			threshold: 3,
			quota:     refresh.NoQuotaLimit,
			jobs:      cat(many(3, "https://d/img/a/%d", file), many(2, "https://d/img/b/%d", file), many(1, "https://d/img/%d", file)),
			want: []sent{{refresh.APIRefresh, refresh.Directory, false, []string{"https://d/img/"},
				[]string{"https://d/img/0", "https://d/img/a/0", "https://d/img/a/1", "https://d/img/a/2", "https://d/img/b/0", "https://d/img/b/1"}}},
		},
		{
			name:      "groups by force and host",
			threshold: 2,
			quota:     refresh.NoQuotaLimit,
			jobs:      []refresh.Job{file("https://d/a/1"), forced(file("https://d/a/2")), file("https://e/a/3"), file("https://D/a/4"), push("https://d/a/5"), push("https://d/a/6")},
			want: []sent{
				{refresh.APIRefresh, refresh.Directory, false, []string{"https://d/a/"}, []string{"https://D/a/4", "https://d/a/1"}},
				{refresh.APIRefresh, refresh.File, true, []string{"https://d/a/2"}, []string{"https://d/a/2"}},
				{refresh.APIRefresh, refresh.File, false, []string{"https://e/a/3"}, []string{"https://e/a/3"}},
				{refresh.APIPush, "", false, []string{"https://d/a/5", "https://d/a/6"}, []string{"https://d/a/5", "https://d/a/6"}},
			},
		},
		{
			name:      "only the biggest when directory quota is short",
			threshold: 2,
			quota:     refresh.Quota{URL: 100, Dir: 1},
			jobs:      cat(many(2, "https://d/a/%d", file), many(3, "https://d/b/%d", file)),
			want: []sent{
				{refresh.APIRefresh, refresh.Directory, false, []string{"https://d/b/"}, urlList(3, "https://d/b/%d")},
				{refresh.APIRefresh, refresh.File, false, urlList(2, "https://d/a/%d"), urlList(2, "https://d/a/%d")},
			},
		},
		{
			name:      "off at 0",
			threshold: 0,
			quota:     refresh.NoQuotaLimit,
			jobs:      img300,
			want:      []sent{{refresh.APIRefresh, refresh.File, false, urlList(300, "https://d/img/%03d.jpg"), urlList(300, "https://d/img/%03d.jpg")}},
		},
		{
			name:      "not done when directory quota is 0",
			threshold: 100,
			quota:     refresh.Quota{URL: 1000, Dir: 0},
			jobs:      img300,
			want:      []sent{{refresh.APIRefresh, refresh.File, false, urlList(300, "https://d/img/%03d.jpg"), urlList(300, "https://d/img/%03d.jpg")}},
		},
		{
			name:      "files covered by a directory job are not counted",
			threshold: 3,
			quota:     refresh.NoQuotaLimit,
			jobs:      cat(many(3, "https://d/a/%d", file), []refresh.Job{dir("https://d/a/")}),
			want: []sent{{refresh.APIRefresh, refresh.Directory, false, []string{"https://d/a/"},
				[]string{"https://d/a/", "https://d/a/0", "https://d/a/1", "https://d/a/2"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plan.Planner{CollapseThreshold: tt.threshold}
			calls, over := p.Plan(tt.jobs, tt.quota)
			if diff := cmp.Diff(tt.want, sents(calls)); diff != "" {
				t.Errorf("Plan(threshold %d) mismatch (-want +got):\n%s", tt.threshold, diff)
			}
			if len(over) != 0 {
				t.Errorf("Plan(threshold %d) over = %v, want none", tt.threshold, over)
			}
			checkValid(t, calls)
			checkAccounted(t, tt.jobs, calls, over)
		})
	}
}

func cat2(a, b []string) []string { return append(append([]string(nil), a...), b...) }

func TestPlanDeterministic(t *testing.T) {
	jobs := cat(
		many(1200, "https://a.example/img/%04d.jpg", file),
		many(40, "https://b%02d.example/x.css", file),
		many(150, "https://a.example/%03d", push),
		many(5, "https://a.example/r%d/.*", regex),
		[]refresh.Job{dir("https://a.example/img/01/"), dir("https://a.example/img/"), forced(dir("https://a.example/img/"))},
		many(60, "https://c.example/s/%02d.js", func(u string) refresh.Job { return dcdn(file(u)) }),
		many(10, "https://c.example/s/%02d.js", file), // duplicates
	)
	for _, threshold := range []int{0, 50} {
		p := plan.Planner{CollapseThreshold: threshold}
		want, wantOver := p.Plan(jobs, refresh.NoQuotaLimit)
		r := rand.New(rand.NewPCG(1, 2))
		for i := range 5 {
			shuffled := append([]refresh.Job(nil), jobs...)
			r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			got, gotOver := p.Plan(shuffled, refresh.NoQuotaLimit)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("threshold %d, shuffle %d: Plan calls differ (-first +shuffled):\n%s", threshold, i, diff)
			}
			if len(gotOver) != 0 || len(wantOver) != 0 {
				t.Errorf("threshold %d, shuffle %d: over = %d, %d jobs, want none", threshold, i, len(wantOver), len(gotOver))
			}
		}
	}
}

func TestPlanEmpty(t *testing.T) {
	calls, over := plan.Planner{}.Plan(nil, refresh.NoQuotaLimit)
	if calls != nil || over != nil {
		t.Errorf("Plan(nil) = %v, %v, want nil, nil", calls, over)
	}
}

func TestPlanUnknownKinds(t *testing.T) {
	jobs := []refresh.Job{
		{Action: "purge", Provider: refresh.CDN, URL: "https://d/a"},
		{Action: refresh.ActionRefresh, Provider: "akamai", URL: "https://d/b"},
		{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: "Tag", URL: "https://d/c"},
	}
	calls, over := plan.Planner{}.Plan(jobs, refresh.Quota{URL: 1})
	if len(over) != 0 {
		t.Errorf("Plan(unknown kinds) over = %v, want none", over)
	}
	if len(calls) != 3 {
		t.Fatalf("Plan(unknown kinds) = %d calls, want 3", len(calls))
	}
	for _, c := range calls {
		if err := plan.Validate(c, plan.Limits{}); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", c)
		}
	}
}

// checkAccounted fails unless every job appears exactly once in all calls'
// Jobs and over together.
func checkAccounted(t *testing.T, jobs []refresh.Job, calls []refresh.Call, over []refresh.Job) {
	t.Helper()
	count := map[refresh.Job]int{}
	for _, j := range jobs {
		count[j]++
	}
	for _, c := range calls {
		for _, j := range c.Jobs {
			count[j]--
		}
	}
	for _, j := range over {
		count[j]--
	}
	for j, n := range count {
		if n != 0 {
			t.Errorf("job %+v accounted %d times too few (negative: too many)", j, n)
		}
	}
}

func TestPlanPrefetchHeadersNeverShareACall(t *testing.T) {
	gz := push("https://d/a.js")
	gz.WithHeader = `{"Accept-Encoding":["gzip"]}`
	calls, over := plan.Planner{}.Plan([]refresh.Job{push("https://d/a.js"), gz, push("https://d/b.js")}, refresh.NoQuotaLimit)
	if len(over) != 0 || len(calls) != 2 {
		t.Fatalf("Plan = %d calls, %d over; want 2 calls (plain, gzip), none over", len(calls), len(over))
	}
	var got [][2]string
	for _, c := range calls {
		got = append(got, [2]string{c.WithHeader, strings.Join(c.URLs, " ")})
	}
	want := [][2]string{{"", "https://d/a.js https://d/b.js"}, {`{"Accept-Encoding":["gzip"]}`, "https://d/a.js"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("prefetch calls (WithHeader, URLs) (-want +got):\n%s", diff)
	}
}
