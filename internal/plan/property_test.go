package plan_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cdnrefresh/cdnrefresh/internal/plan"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// randomJobs returns up to max jobs over 12 hosts and shallow paths, of
// every kind, with many duplicates and nested directories. Each job has a
// distinct Key, so jobs can be told apart.
func randomJobs(r *rand.Rand, max int) []refresh.Job {
	n := r.IntN(max + 1)
	jobs := make([]refresh.Job, n)
	for i := range jobs {
		var path strings.Builder
		for range r.IntN(4) {
			path.WriteString([]string{"a/", "b/", "c/"}[r.IntN(3)])
		}
		j := refresh.Job{
			Provider: []refresh.Provider{refresh.CDN, refresh.CDN, refresh.DCDN, ""}[r.IntN(4)],
			Action:   refresh.ActionRefresh,
			Force:    r.IntN(4) == 0,
			Key:      fmt.Sprint("k", i),
		}
		host := fmt.Sprintf("https://h%d.example/", r.IntN(12))
		switch k := r.IntN(20); {
		case k < 10:
			j.ObjectType = refresh.File
			j.URL = host + path.String() + fmt.Sprint("f", r.IntN(40))
		case k < 13:
			j.ObjectType = refresh.Directory
			j.URL = host + path.String()
		case k < 14:
			j.ObjectType = refresh.Regex
			j.URL = host + path.String() + ".*"
		case k < 15:
			j.ObjectType = refresh.IgnoreParams
			j.URL = host + path.String() + fmt.Sprint("i", r.IntN(5))
		default:
			j.Action = refresh.ActionPrefetch
			j.Area = []string{"", "", "domestic", "overseas"}[r.IntN(4)]
			j.L2Preload = r.IntN(3) == 0
			j.URL = host + path.String() + fmt.Sprint("f", r.IntN(40))
		}
		jobs[i] = j
	}
	return jobs
}

func randomQuota(r *rand.Rand, small int) int {
	switch r.IntN(4) {
	case 0:
		return refresh.Unlimited
	case 1:
		return 0
	}
	return r.IntN(small)
}

func randomPlanner(r *rand.Rand) plan.Planner {
	var p plan.Planner
	if r.IntN(2) == 0 { // small limits exercise splitting on small inputs
		p.Limits = plan.Limits{
			RefreshURLs: 1 + r.IntN(5), RefreshDirs: 1 + r.IntN(3), Domains: 1 + r.IntN(3), PushURLs: 1 + r.IntN(4),
			DCDNRefreshURLs: 1 + r.IntN(5), DCDNRefreshDirs: 1 + r.IntN(3), DCDNDomains: 1 + r.IntN(3), DCDNPreloadURLs: 1 + r.IntN(4),
		}
	}
	switch r.IntN(3) {
	case 0:
		p.CollapseThreshold = 2 + r.IntN(6)
	case 1:
		p.CollapseThreshold = plan.CollapseAuto
		p.DirReserve = r.IntN(2)
		p.CollapseMaxDepth = r.IntN(3)
		p.DomainURLsPerMinute = 1 + r.IntN(10)
	}
	p.Reserve = refresh.Quota{URL: r.IntN(5), Dir: r.IntN(2)}
	return p
}

func TestPlanProperties(t *testing.T) {
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 7))
		max := 60
		if seed%10 == 0 {
			max = 3000
		}
		jobs := randomJobs(r, max)
		p := randomPlanner(r)
		q := refresh.Quota{
			URL: randomQuota(r, 40), Dir: randomQuota(r, 8), Regex: randomQuota(r, 3),
			IgnoreParams: randomQuota(r, 5), Preload: randomQuota(r, 30),
		}
		calls, over := p.Plan(jobs, q)
		name := fmt.Sprintf("seed %d (%d jobs, planner %+v, quota %+v)", seed, len(jobs), p, q)

		where := map[string]int{} // Key -> times seen
		for _, c := range calls {
			if err := plan.Validate(c, p.Limits); err != nil {
				t.Errorf("%s: Validate = %v, want nil", name, err)
			}
			for _, j := range c.Jobs {
				where[j.Key]++
				if err := carries(c, j); err != nil {
					t.Errorf("%s: call %s %s %v carries %+v: %v", name, c.API, c.ObjectType, c.URLs, j, err)
				}
			}
		}
		for _, j := range over {
			where[j.Key]++
		}
		for _, j := range jobs {
			if n := where[j.Key]; n != 1 {
				t.Errorf("%s: job %+v appears %d times in calls and over, want 1", name, j, n)
			}
		}
		if len(where) != len(jobs) {
			t.Errorf("%s: calls and over hold %d distinct jobs, want %d", name, len(where), len(jobs))
		}
		checkQuota(t, name, calls, q, p.Reserve)
		checkOverOrder(t, name, jobs, over)
	}
}

// carries reports why call c cannot carry out job j, or nil.
func carries(c refresh.Call, j refresh.Job) error {
	provider := j.Provider
	if provider == "" {
		provider = refresh.CDN
	}
	if provider != c.Provider || j.Action != c.Action || j.Area != c.Area || j.L2Preload != c.L2Preload {
		return fmt.Errorf("provider, action, area or L2 preload differ")
	}
	if j.Action == refresh.ActionPrefetch || j.ObjectType == c.ObjectType && j.Force == c.Force {
		for _, u := range c.URLs {
			if u == j.URL {
				return nil
			}
		}
	}
	if c.ObjectType != refresh.Directory || j.Action != refresh.ActionRefresh || j.ObjectType == refresh.Regex {
		return fmt.Errorf("URL not sent")
	}
	for _, u := range c.URLs {
		if !strings.HasPrefix(j.URL, u) {
			continue
		}
		if j.URL == u && j.ObjectType == refresh.Directory {
			if c.Force && !j.Force {
				return nil
			}
		} else if c.Force || !j.Force {
			return nil
		}
	}
	return fmt.Errorf("no covering directory")
}

func checkQuota(t *testing.T, name string, calls []refresh.Call, q, reserve refresh.Quota) {
	t.Helper()
	var used refresh.Quota
	for _, c := range calls {
		n := len(c.URLs)
		switch {
		case c.Action == refresh.ActionPrefetch:
			used.Preload += n
		case c.ObjectType == refresh.Directory:
			used.Dir += n
		case c.ObjectType == refresh.Regex:
			used.Regex += n
		case c.ObjectType == refresh.IgnoreParams:
			used.IgnoreParams += n
		default:
			used.URL += n
		}
	}
	for _, f := range []struct {
		what              string
		used, q, reserved int
	}{
		{"URL", used.URL, q.URL, reserve.URL},
		{"Dir", used.Dir, q.Dir, reserve.Dir},
		{"Regex", used.Regex, q.Regex, reserve.Regex},
		{"IgnoreParams", used.IgnoreParams, q.IgnoreParams, reserve.IgnoreParams},
		{"Preload", used.Preload, q.Preload, reserve.Preload},
	} {
		if f.q != refresh.Unlimited && f.used > max(0, f.q-f.reserved) {
			t.Errorf("%s: %s quota: used %d, want at most %d - %d", name, f.what, f.used, f.q, f.reserved)
		}
	}
}

// checkOverOrder fails unless over keeps the order of jobs.
func checkOverOrder(t *testing.T, name string, jobs, over []refresh.Job) {
	t.Helper()
	pos := make(map[string]int, len(jobs))
	for i, j := range jobs {
		pos[j.Key] = i
	}
	for i := 1; i < len(over); i++ {
		if pos[over[i-1].Key] > pos[over[i].Key] {
			t.Errorf("%s: over[%d] = %s comes before over[%d] = %s in the input", name, i, over[i].Key, i-1, over[i-1].Key)
			return
		}
	}
}

func benchJobs(n int) []refresh.Job {
	jobs := make([]refresh.Job, n)
	for i := range jobs {
		jobs[i] = file(fmt.Sprintf("https://cdn%d.example.com/assets/%d/%d/file-%d.js", i%3, i%7, i%97, i))
	}
	return jobs
}

func BenchmarkPlan(b *testing.B) {
	jobs := benchJobs(100_000)
	for _, bc := range []struct {
		name string
		p    plan.Planner
	}{
		{"split", plan.Planner{}},
		{"collapse", plan.Planner{CollapseThreshold: 100}},
		{"auto", plan.Planner{CollapseThreshold: plan.CollapseAuto, DomainURLsPerMinute: 1000, DirReserve: 10}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				calls, _ := bc.p.Plan(jobs, refresh.NoQuotaLimit)
				if len(calls) == 0 {
					b.Fatal("no calls")
				}
			}
		})
	}
}
