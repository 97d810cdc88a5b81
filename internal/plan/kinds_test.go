package plan_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/plan"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

func tag(p refresh.Provider, domain, t string) refresh.Job {
	return refresh.Job{Action: refresh.ActionRefresh, Provider: p, ObjectType: refresh.CacheTag, URL: "https://" + domain + "/", Tag: t}
}

func routine(j refresh.Job, id, merge string) refresh.Job {
	j.Provider, j.Routine, j.MergeDomains = refresh.DCDN, id, merge
	return j
}

// call is a call reduced to what it sends.
type call struct {
	API       string
	Type      refresh.ObjectType
	Spellings []string
	Routine   string
	Merge     string
	Hashkey   bool
	Tags      []string
	URLs      []string
	Jobs      int
}

func calls(cs []refresh.Call) []call {
	var out []call
	for _, c := range cs {
		out = append(out, call{c.API, c.ObjectType, c.ObjectTypeSpellings, c.Routine, c.MergeDomains, c.QueryHashkey, c.Tags, c.URLs, len(c.Jobs)})
	}
	return out
}

// TestPlanKinds: cache tags, Edge Routine caches, IgnoreParams spellings
// and QueryHashkey each get the API and the per-call limits their pages
// give.
func TestPlanKinds(t *testing.T) {
	hashed := push("https://d/a.js")
	hashed.QueryHashkey = true
	tests := []struct {
		name string
		jobs []refresh.Job
		want []call
	}{
		{
			name: "cache tags: one call per domain and provider, sorted, each tag once",
			jobs: []refresh.Job{
				tag(refresh.CDN, "d", "t2"), tag(refresh.CDN, "e", "t1"), tag(refresh.CDN, "d", "t1"), tag(refresh.CDN, "d", "t2"),
				tag(refresh.DCDN, "d", "t1"),
			},
			want: []call{
				{API: "RefreshObjectCacheByCacheTag", Type: refresh.CacheTag, Tags: []string{"t1", "t2"}, URLs: []string{"https://d/"}, Jobs: 3},
				{API: "RefreshObjectCacheByCacheTag", Type: refresh.CacheTag, Tags: []string{"t1"}, URLs: []string{"https://e/"}, Jobs: 1},
				{API: "RefreshDcdnObjectCacheByCacheTag", Type: refresh.CacheTag, Tags: []string{"t1"}, URLs: []string{"https://d/"}, Jobs: 1},
			},
		},
		{
			name: "12 cache tags: split at 10, never refused",
			jobs: many(12, "t%02d", func(s string) refresh.Job { return tag(refresh.CDN, "d", s) }),
			want: []call{
				{API: "RefreshObjectCacheByCacheTag", Type: refresh.CacheTag, Tags: urlList(10, "t%02d"), URLs: []string{"https://d/"}, Jobs: 10},
				{API: "RefreshObjectCacheByCacheTag", Type: refresh.CacheTag, Tags: []string{"t10", "t11"}, URLs: []string{"https://d/"}, Jobs: 2},
			},
		},
		{
			name: "edge routine: one domain per call, apart from the plain refresh",
			jobs: []refresh.Job{
				dcdn(file("https://d/a")), routine(file("https://d/a"), "r.sub", ""), routine(file("https://e/b"), "r.sub", ""),
				routine(file("https://d/c"), "r.sub", "m.example"),
			},
			want: []call{
				{API: "RefreshDcdnObjectCaches", Type: refresh.File, URLs: []string{"https://d/a"}, Jobs: 1},
				{API: "RefreshErObjectCaches", Type: refresh.File, Routine: "r.sub", URLs: []string{"https://d/a"}, Jobs: 1},
				{API: "RefreshErObjectCaches", Type: refresh.File, Routine: "r.sub", Merge: "m.example", URLs: []string{"https://d/c"}, Jobs: 1},
				{API: "RefreshErObjectCaches", Type: refresh.File, Routine: "r.sub", URLs: []string{"https://e/b"}, Jobs: 1},
			},
		},
		{
			name: "a plain directory never covers an Edge Routine's files",
			jobs: []refresh.Job{dcdn(dir("https://d/a/")), routine(file("https://d/a/x"), "r.sub", ""), dcdn(file("https://d/a/y"))},
			want: []call{
				{API: "RefreshDcdnObjectCaches", Type: refresh.Directory, URLs: []string{"https://d/a/"}, Jobs: 2},
				{API: "RefreshErObjectCaches", Type: refresh.File, Routine: "r.sub", URLs: []string{"https://d/a/x"}, Jobs: 1},
			},
		},
		{
			name: "IgnoreParams: both spellings on CDN, one on DCDN",
			jobs: []refresh.Job{ignp("https://d/a"), dcdn(ignp("https://d/a"))},
			want: []call{
				{API: "RefreshObjectCaches", Type: refresh.IgnoreParams, Spellings: []string{"IgnoreParams", "ExQuery"}, URLs: []string{"https://d/a"}, Jobs: 1},
				{API: "RefreshDcdnObjectCaches", Type: refresh.IgnoreParams, URLs: []string{"https://d/a"}, Jobs: 1},
			},
		},
		{
			name: "QueryHashkey prefetches go apart",
			jobs: []refresh.Job{push("https://d/a.js"), hashed},
			want: []call{
				{API: "PushObjectCache", URLs: []string{"https://d/a.js"}, Jobs: 1},
				{API: "PushObjectCache", Hashkey: true, URLs: []string{"https://d/a.js"}, Jobs: 1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, over := plan.Planner{}.Plan(tt.jobs, refresh.NoQuotaLimit)
			if len(over) != 0 {
				t.Errorf("Plan over = %v, want none", over)
			}
			if diff := cmp.Diff(tt.want, calls(got)); diff != "" {
				t.Errorf("Plan mismatch (-want +got):\n%s", diff)
			}
			checkValid(t, got)
			checkAccounted(t, tt.jobs, got, over)
		})
	}
}

// TestPlanCacheTagQuota: each tag counts against the directory quota, as
// the emulator assumes (documented.go); the rest comes back over.
func TestPlanCacheTagQuota(t *testing.T) {
	jobs := many(5, "t%d", func(s string) refresh.Job { return tag(refresh.CDN, "d", s) })
	got, over := plan.Planner{}.Plan(jobs, refresh.Quota{URL: 100, Dir: 3})
	if len(got) != 1 || fmt.Sprint(got[0].Tags) != "[t0 t1 t2]" || len(over) != 2 {
		t.Errorf("Plan(5 tags, 3 directories left) = %v, %d over; want tags t0 t1 t2 and 2 over", calls(got), len(over))
	}
}

// TestPlanEdgeRoutineNotCollapsed: directory collapse leaves an Edge
// Routine's files as asked.
func TestPlanEdgeRoutineNotCollapsed(t *testing.T) {
	jobs := many(5, "https://d/a/%d", func(u string) refresh.Job { return routine(file(u), "r.sub", "") })
	got, _ := plan.Planner{CollapseThreshold: 2}.Plan(jobs, refresh.NoQuotaLimit)
	if len(got) != 1 || got[0].ObjectType != refresh.File || len(got[0].URLs) != 5 {
		t.Errorf("Plan(collapse) = %v, want the 5 Edge Routine files in one File call", calls(got))
	}
}
