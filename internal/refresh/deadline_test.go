package refresh_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/google/go-cmp/cmp"
)

// bothMapper maps a created key to a refresh and a prefetch of
// https://d/<key>, a deleted one to a refresh.
type bothMapper struct{}

func (bothMapper) Map(c refresh.Change) ([]refresh.Job, []refresh.Outcome, string) {
	j := refresh.Job{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.File, URL: "https://d/" + c.Key, Key: c.Key}
	if c.Op == refresh.OpDelete {
		return []refresh.Job{j}, nil, ""
	}
	p := j
	p.Action, p.ObjectType = refresh.ActionPrefetch, ""
	return []refresh.Job{j, p}, nil, ""
}

// actionPlanner makes one call per action, refresh first.
type actionPlanner struct{}

func (actionPlanner) Plan(jobs []refresh.Job, _ refresh.Quota) ([]refresh.Call, []refresh.Job) {
	var calls []refresh.Call
	for _, a := range []refresh.Action{refresh.ActionRefresh, refresh.ActionPrefetch} {
		c := refresh.Call{API: refresh.APIFor(refresh.CDN, a, refresh.File, false), Provider: refresh.CDN, Action: a}
		for _, j := range jobs {
			if j.Action == a && !slices.Contains(c.URLs, j.URL) {
				c.URLs = append(c.URLs, j.URL)
			}
			if j.Action == a {
				c.Jobs = append(c.Jobs, j)
			}
		}
		if len(c.URLs) > 0 {
			calls = append(calls, c)
		}
	}
	return calls, nil
}

// sentLog records the calls a submitter received: "<api> <urls>".
type sentLog struct {
	mu   sync.Mutex
	sent []string
}

func (l *sentLog) Submit(_ context.Context, c refresh.Call) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent = append(l.sent, fmt.Sprint(c.API, " ", c.URLs))
	return "T", nil
}

func (l *sentLog) calls() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.sent)
}

func change(op refresh.Op, key string, at time.Time) refresh.Change {
	return refresh.Change{Source: "oss", Bucket: "b", Key: key, Op: op, Time: at}
}

// TestDeleteCancelsPrefetch: a deleted object is never prefetched — not
// when the delete comes later in the same event, nor in a later
// invocation before the prefetch leaves, nor when both wait in the spill.
// Last change wins, by event time.
func TestDeleteCancelsPrefetch(t *testing.T) {
	t1 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Second)
	tests := []struct {
		name      string
		events    []refresh.Event
		wantCalls []string
		want      map[refresh.Status]int // over all the events
	}{
		{
			name:   "create then delete in one event",
			events: []refresh.Event{{Changes: []refresh.Change{change(refresh.OpCreate, "a", t1), change(refresh.OpDelete, "a", t2)}}},
			// The two refreshes (the create's, the delete's) go as one URL.
			wantCalls: []string{"RefreshObjectCaches [https://d/a]"},
			want:      map[refresh.Status]int{refresh.Submitted: 2, refresh.Canceled: 1},
		},
		{
			name:   "delete then create in one event: the object exists",
			events: []refresh.Event{{Changes: []refresh.Change{change(refresh.OpDelete, "a", t1), change(refresh.OpCreate, "a", t2)}}},
			// The prefetch follows the purge: it waits for the refresh task.
			wantCalls: []string{"RefreshObjectCaches [https://d/a]"},
			want:      map[refresh.Status]int{refresh.Submitted: 2, refresh.Waiting: 1},
		},
		{
			name: "a create delivered after a later delete",
			events: []refresh.Event{
				{Changes: []refresh.Change{change(refresh.OpDelete, "a", t2)}},
				{Changes: []refresh.Change{change(refresh.OpCreate, "a", t1)}},
			},
			wantCalls: []string{"RefreshObjectCaches [https://d/a]", "RefreshObjectCaches [https://d/a]"},
			want:      map[refresh.Status]int{refresh.Submitted: 2, refresh.Canceled: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &sentLog{}
			p, err := refresh.NewPipeline(refresh.Options{Mapper: bothMapper{}, Planner: actionPlanner{}, Submitter: log, Spiller: &memSpill{}})
			if err != nil {
				t.Fatal(err)
			}
			got := map[refresh.Status]int{}
			for _, ev := range tt.events {
				r, err := p.Run(context.Background(), ev)
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				for _, o := range r.Outcomes {
					got[o.Status]++
				}
				if r.Canceled != got[refresh.Canceled] && len(tt.events) == 1 {
					t.Errorf("Report.Canceled = %d, want %d", r.Canceled, got[refresh.Canceled])
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCalls, log.calls()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

// memBacklog is a spill store in memory for the drain.
type memBacklog struct {
	memSpill
	entries []refresh.Stored
	removed []refresh.Pending
}

func (b *memBacklog) Load(context.Context) ([]refresh.Stored, error) { return b.entries, nil }

func (b *memBacklog) Remove(_ context.Context, s []refresh.Stored) error {
	for _, e := range s {
		b.removed = append(b.removed, e.Pending)
	}
	return nil
}

// TestDrainSettles: the drain removes, without a call, a spilled prefetch
// a later delete canceled, and a job spilled in doubt that the API did
// accept (Options.Accepted); it sends the rest.
func TestDrainSettles(t *testing.T) {
	t1 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	job := func(a refresh.Action, op refresh.Op, key string, at time.Time) refresh.Job {
		j := refresh.Job{Action: a, Provider: refresh.CDN, ObjectType: refresh.File, URL: "https://d/" + key, Op: op, ChangeTime: at}
		if a == refresh.ActionPrefetch {
			j.ObjectType = ""
		}
		return j
	}
	b := &memBacklog{entries: []refresh.Stored{
		{Pending: refresh.Pending{Job: job(refresh.ActionPrefetch, refresh.OpCreate, "gone", t1), Reason: refresh.ReasonQuota, FirstSeen: t1}},
		{Pending: refresh.Pending{Job: job(refresh.ActionRefresh, refresh.OpDelete, "gone", t1.Add(time.Minute)), Reason: refresh.ReasonQuota, FirstSeen: t1}},
		{Pending: refresh.Pending{Job: job(refresh.ActionRefresh, refresh.OpCreate, "took", t1), Reason: refresh.ReasonInDoubt, FirstSeen: t1}},
		{Pending: refresh.Pending{Job: job(refresh.ActionRefresh, refresh.OpCreate, "lost", t1), Reason: refresh.ReasonInDoubt, FirstSeen: t1}},
	}}
	log := &sentLog{}
	var asked []string
	p, err := refresh.NewPipeline(refresh.Options{
		Mapper: bothMapper{}, Planner: actionPlanner{}, Submitter: log, Spiller: b,
		Accepted: func(_ context.Context, _ refresh.Provider, a refresh.Action, _ refresh.ObjectType, urls []string, since time.Time) (map[string]string, error) {
			asked = append(asked, fmt.Sprint(a, urls, since.Before(t1)))
			return map[string]string{"https://d/took": "704222904"}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := p.Drain(context.Background(), b, 0, 0)
	if err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if d.Canceled != 1 || d.Submitted != 3 || d.Spilled != 0 || d.Kept != 0 {
		t.Errorf("Drain = %+v; want 1 canceled, 3 submitted (one of them confirmed, not sent)", d)
	}
	if diff := cmp.Diff([]string{"refresh[https://d/took https://d/lost] true"}, asked); diff != "" {
		t.Errorf("asked the task API (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"RefreshObjectCaches [https://d/gone https://d/lost]"}, log.calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if len(b.removed) != 4 {
		t.Errorf("removed %d entries from the spill, want all 4", len(b.removed))
	}
}

// TestReportTruncated: lists stop at MaxListed, and Truncated counts what
// they leave out.
func TestReportTruncated(t *testing.T) {
	var r refresh.Report
	outs := make([]refresh.Outcome, refresh.MaxListed+7)
	for i := range outs {
		outs[i] = refresh.Outcome{Status: refresh.Submitted, TaskID: "1"}
	}
	r.Add(outs...)
	if len(r.Outcomes) != refresh.MaxListed || r.Truncated != 7 || r.Submitted != refresh.MaxListed+7 {
		t.Errorf("Add: %d listed, %d truncated, %d submitted; want %d, 7, %d", len(r.Outcomes), r.Truncated, r.Submitted, refresh.MaxListed, refresh.MaxListed+7)
	}
	var m refresh.Report
	m.Merge(r)
	m.Merge(refresh.Report{Outcomes: outs[:3], Submitted: 3})
	if len(m.Outcomes) != refresh.MaxListed || m.Truncated != 10 {
		t.Errorf("Merge: %d listed, %d truncated; want %d and 10", len(m.Outcomes), m.Truncated, refresh.MaxListed)
	}
}
