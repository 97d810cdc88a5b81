package refresh_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// jobPlanner makes one call per job, of the job's own API.
type jobPlanner struct{}

func (jobPlanner) Plan(jobs []refresh.Job, _ refresh.Quota) ([]refresh.Call, []refresh.Job) {
	var calls []refresh.Call
	for _, j := range jobs {
		calls = append(calls, refresh.Call{API: j.API(), Provider: j.Provider, Action: j.Action, ObjectType: j.ObjectType,
			Routine: j.Routine, URLs: []string{j.URL}, Jobs: []refresh.Job{j}})
	}
	return calls, nil
}

// TestDrainInDoubtEdgeRoutine: an Edge Routine refresh spilled in doubt is
// sent again, even when the task list shows its URL accepted (that may be
// the plain refresh of the same URL, which it confirms).
func TestDrainInDoubtEdgeRoutine(t *testing.T) {
	t1 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	plain := refresh.Job{Action: refresh.ActionRefresh, Provider: refresh.DCDN, ObjectType: refresh.File, URL: "https://d/a"}
	er := plain
	er.Routine = "r.sub"
	b := &memBacklog{entries: []refresh.Stored{
		{Pending: refresh.Pending{Job: plain, Reason: refresh.ReasonInDoubt, FirstSeen: t1}},
		{Pending: refresh.Pending{Job: er, Reason: refresh.ReasonInDoubt, FirstSeen: t1}},
	}}
	log := &sentLog{}
	p, err := refresh.NewPipeline(refresh.Options{
		Mapper: bothMapper{}, Planner: jobPlanner{}, Submitter: log, Spiller: b,
		Accepted: func(context.Context, refresh.Provider, refresh.Action, refresh.ObjectType, []string, time.Time) (map[string]string, error) {
			return map[string]string{"https://d/a": "704222904"}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Drain(context.Background(), b, 0, 0); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if diff := cmp.Diff([]string{"RefreshErObjectCaches [https://d/a]"}, log.calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// tagMapper maps "index" to a prefetch of https://d/ and any other key to
// a refresh of its cache tag on https://d/.
type tagMapper struct{}

func (tagMapper) Map(c refresh.Change) ([]refresh.Job, []refresh.Outcome, string) {
	if c.Key == "index" {
		return []refresh.Job{{Action: refresh.ActionPrefetch, Provider: refresh.CDN, URL: "https://d/", Key: c.Key}}, nil, ""
	}
	return []refresh.Job{{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.CacheTag, URL: "https://d/", Tag: c.Key, Key: c.Key}}, nil, ""
}

// TestTagDeleteKeepsPrefetch: the cache-tag job of a deleted object names
// only its domain, https://d/; it cancels no prefetch of the site's root.
func TestTagDeleteKeepsPrefetch(t *testing.T) {
	t1 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	log := &sentLog{}
	p, err := refresh.NewPipeline(refresh.Options{Mapper: tagMapper{}, Planner: jobPlanner{}, Submitter: log, Spiller: &memSpill{}})
	if err != nil {
		t.Fatal(err)
	}
	ev := refresh.Event{Changes: []refresh.Change{change(refresh.OpCreate, "index", t1), change(refresh.OpDelete, "old", t1.Add(time.Minute))}}
	r, err := p.Run(context.Background(), ev)
	if err != nil || r.Submitted != 2 {
		t.Fatalf("Run = %+v, %v; want 2 submitted", r, err)
	}
	if diff := cmp.Diff([]string{"RefreshObjectCacheByCacheTag [https://d/]", "PushObjectCache [https://d/]"}, log.calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}
