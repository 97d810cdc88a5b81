package refresh_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// mapKeys maps bucket/key to https://d/key; keys under "skip/" are ignored
// and keys named "long" are rejected.
type mapKeys struct{}

func (mapKeys) Map(c refresh.Change) ([]refresh.Job, []refresh.Outcome, string) {
	if strings.HasPrefix(c.Key, "skip/") {
		return nil, nil, "no rule matches"
	}
	j := refresh.Job{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.File, URL: "https://d/" + c.Key, Key: c.Key}
	if c.Key == "long" {
		return nil, []refresh.Outcome{{Job: j, Status: refresh.Rejected, Reason: "URL longer than 1024 characters"}}, ""
	}
	return []refresh.Job{j}, nil, ""
}

// chunkPlanner puts at most size jobs in a call and lets quota URLs through.
type chunkPlanner struct{ size int }

func (p chunkPlanner) Plan(jobs []refresh.Job, q refresh.Quota) ([]refresh.Call, []refresh.Job) {
	var calls []refresh.Call
	n := min(len(jobs), q.URL)
	for i := 0; i < n; i += p.size {
		c := refresh.Call{API: "RefreshObjectCaches", Provider: refresh.CDN, Action: refresh.ActionRefresh, ObjectType: refresh.File}
		for _, j := range jobs[i:min(i+p.size, n)] {
			c.URLs = append(c.URLs, j.URL)
			c.Jobs = append(c.Jobs, j)
		}
		calls = append(calls, c)
	}
	return calls, jobs[n:]
}

// apiErr is a failure with verdict v and code.
func apiErr(v refresh.Verdict, code string) error {
	return fmt.Errorf("submit: %w", &refresh.Failure{Verdict: v, Code: code, Err: errors.New("api: " + code)})
}

type submitFunc func(ctx context.Context, c refresh.Call) (string, error)

func (f submitFunc) Submit(ctx context.Context, c refresh.Call) (string, error) { return f(ctx, c) }

type memSpill struct {
	mu  sync.Mutex
	got []refresh.Pending
	err error
}

func (s *memSpill) Spill(_ context.Context, p []refresh.Pending) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.got = append(s.got, p...)
	return nil
}

func changes(keys ...string) refresh.Event {
	ev := refresh.Event{ID: "ev1"}
	for _, k := range keys {
		ev.Changes = append(ev.Changes, refresh.Change{Source: "oss", Bucket: "b", Key: k, Op: refresh.OpCreate})
	}
	return ev
}

func counts(r refresh.Report) [7]int {
	return [7]int{r.Changes, r.Ignored, r.Submitted, r.Duplicate, r.Spilled, r.Rejected, r.Failed}
}

func TestPipelineRun(t *testing.T) {
	now := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		event     refresh.Event
		submit    submitFunc
		quota     refresh.Quota
		noSpill   bool
		spillErr  error
		deadline  time.Duration // 0: none
		want      [7]int        // changes, ignored, submitted, duplicate, spilled, rejected
		wantCalls [][]string
		wantSpill map[string]int
		wantTasks []string
		wantErr   string
	}{
		{
			name:  "all submitted, duplicates folded, ignored and rejected counted",
			event: changes("a", "b", "a", "skip/x", "long"),
			submit: func(_ context.Context, c refresh.Call) (string, error) {
				return "T" + strings.TrimPrefix(c.URLs[0], "https://d/"), nil
			},
			want:      [7]int{5, 1, 2, 1, 0, 1, 0},
			wantCalls: [][]string{{"https://d/a", "https://d/b"}},
			wantTasks: []string{"Ta"},
		},
		{
			name:      "comma-separated task ids are split",
			event:     changes("a"),
			submit:    func(context.Context, refresh.Call) (string, error) { return "1,2", nil },
			want:      [7]int{1, 0, 1, 0, 0, 0, 0},
			wantCalls: [][]string{{"https://d/a"}},
			wantTasks: []string{"1", "2"},
		},
		{
			name:  "an invalid URL is isolated by halving; the valid ones go through",
			event: changes("a", "b", "bad", "c"),
			submit: func(_ context.Context, c refresh.Call) (string, error) {
				for _, u := range c.URLs {
					if strings.HasSuffix(u, "/bad") {
						return "", apiErr(refresh.SplitURLs, "InvalidObjectPath.Malformed")
					}
				}
				return "T", nil
			},
			want: [7]int{4, 0, 3, 0, 0, 1, 0},
			wantCalls: [][]string{
				{"https://d/a", "https://d/b", "https://d/bad"},
				{"https://d/a"}, {"https://d/b", "https://d/bad"}, {"https://d/b"}, {"https://d/bad"},
				{"https://d/c"},
			},
			wantTasks: []string{"T"},
		},
		{
			name:  "a call-level rejection rejects the call's jobs without halving",
			event: changes("a", "b"),
			submit: func(context.Context, refresh.Call) (string, error) {
				return "", apiErr(refresh.Reject, "InvalidObjectType.ValueNotSupported")
			},
			want:      [7]int{2, 0, 0, 0, 0, 2, 0},
			wantCalls: [][]string{{"https://d/a", "https://d/b"}},
		},
		{
			name:  "exhausted quota spills the call and skips later calls of that kind",
			event: changes("a", "b", "c", "d"),
			submit: func(context.Context, refresh.Call) (string, error) {
				return "", apiErr(refresh.QuotaSpent, "QuotaExceeded.Refresh")
			},
			want:      [7]int{4, 0, 0, 0, 4, 0, 0},
			wantCalls: [][]string{{"https://d/a", "https://d/b", "https://d/c"}},
			wantSpill: map[string]int{"QuotaExceeded.Refresh": 4},
		},
		{
			name:      "what the plan leaves over the quota is spilled",
			event:     changes("a", "b", "c", "d", "e"),
			quota:     refresh.Quota{URL: 2},
			submit:    func(context.Context, refresh.Call) (string, error) { return "T", nil },
			want:      [7]int{5, 0, 2, 0, 3, 0, 0},
			wantCalls: [][]string{{"https://d/a", "https://d/b"}},
			wantSpill: map[string]int{"quota": 3},
			wantTasks: []string{"T"},
		},
		{
			name:  "retryable errors spill with their code",
			event: changes("a"),
			submit: func(context.Context, refresh.Call) (string, error) {
				return "", apiErr(refresh.Retry, "Throttling")
			},
			want:      [7]int{1, 0, 0, 0, 1, 0, 0},
			wantCalls: [][]string{{"https://d/a"}},
			wantSpill: map[string]int{"Throttling": 1},
		},
		{
			name:      "a deadline inside the margin spills without calling",
			event:     changes("a"),
			deadline:  time.Second,
			submit:    func(context.Context, refresh.Call) (string, error) { return "T", nil },
			want:      [7]int{1, 0, 0, 0, 1, 0, 0},
			wantSpill: map[string]int{"deadline": 1},
		},
		{
			name:      "without a spill store a failure fails the invocation",
			event:     changes("a"),
			noSpill:   true,
			submit:    func(context.Context, refresh.Call) (string, error) { return "", errors.New("connection refused") },
			want:      [7]int{1, 0, 0, 0, 0, 0, 1}, // neither submitted nor stored
			wantCalls: [][]string{{"https://d/a"}},
			wantErr:   "no spill store",
		},
		{
			name:      "a failing spill store fails the invocation",
			event:     changes("a"),
			spillErr:  errors.New("disk full"),
			submit:    func(context.Context, refresh.Call) (string, error) { return "", errors.New("connection refused") },
			want:      [7]int{1, 0, 0, 0, 0, 0, 1}, // the store did not confirm: not "spilled"
			wantCalls: [][]string{{"https://d/a"}},
			wantErr:   "disk full",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var calls [][]string
			sp := &memSpill{err: tt.spillErr}
			o := refresh.Options{
				Mapper:  mapKeys{},
				Planner: chunkPlanner{size: 3},
				Submitter: submitFunc(func(ctx context.Context, c refresh.Call) (string, error) {
					mu.Lock()
					calls = append(calls, c.URLs)
					mu.Unlock()
					return tt.submit(ctx, c)
				}),
				Now: func() time.Time { return now },
			}
			if !tt.noSpill {
				o.Spiller = sp
			}
			if tt.quota != (refresh.Quota{}) {
				o.Quota = func(context.Context, refresh.Provider) (refresh.Quota, error) { return tt.quota, nil }
			}
			p, err := refresh.NewPipeline(o)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, now.Add(tt.deadline))
				defer cancel()
			}
			r, err := p.Run(ctx, tt.event)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Run: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Run error = %v, want it to contain %q", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, counts(r)); diff != "" {
				t.Errorf("counts (changes, ignored, submitted, duplicate, spilled, rejected, failed) (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCalls, calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if tt.wantTasks == nil {
				tt.wantTasks = []string{}
			}
			if diff := cmp.Diff(tt.wantTasks, r.Tasks); diff != "" {
				t.Errorf("tasks (-want +got):\n%s", diff)
			}
			if !tt.noSpill && tt.spillErr == nil {
				got := map[string]int{}
				for _, p := range sp.got {
					got[p.Reason]++
					if !p.FirstSeen.Equal(now) {
						t.Errorf("spilled %s FirstSeen = %v, want %v", p.Job.URL, p.FirstSeen, now)
					}
				}
				if tt.wantSpill == nil {
					tt.wantSpill = map[string]int{}
				}
				if diff := cmp.Diff(tt.wantSpill, got); diff != "" {
					t.Errorf("spilled by reason (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.wantSpill, r.SpilledBy, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("report spilled_by (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestNewPipelineNeedsParts(t *testing.T) {
	if _, err := refresh.NewPipeline(refresh.Options{Mapper: mapKeys{}}); err == nil {
		t.Error("NewPipeline without Planner and Submitter: got nil error")
	}
}

func TestCredentialsHidden(t *testing.T) {
	c := refresh.Credentials{AccessKeyID: "LTAI5tSecretish", AccessKeySecret: "s3cr3t", SecurityToken: "tok"}
	for _, s := range []string{c.String(), c.GoString()} {
		if strings.Contains(s, "s3cr3t") || strings.Contains(s, "tok") || strings.Contains(s, "Secretish") {
			t.Errorf("Credentials printed as %q: reveals a secret", s)
		}
	}
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("invoke", "creds", c)
	if strings.Contains(buf.String(), "s3cr3t") || strings.Contains(buf.String(), "tok") {
		t.Errorf("slog JSON of Credentials = %s: reveals a secret", buf.String())
	}
	ctx := refresh.WithCredentials(context.Background(), c)
	if got, ok := refresh.CredentialsFrom(ctx); !ok || got != c {
		t.Errorf("CredentialsFrom = %v, %v; want the stored credentials", got, ok)
	}
	if _, ok := refresh.CredentialsFrom(refresh.WithCredentials(context.Background(), refresh.Credentials{})); ok {
		t.Error("CredentialsFrom(empty) reported credentials")
	}
}

func TestPipelineReplay(t *testing.T) {
	first := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	job := func(k string) refresh.Job {
		return refresh.Job{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.File, URL: "https://d/" + k}
	}
	sp := &memSpill{}
	p, err := refresh.NewPipeline(refresh.Options{
		Mapper:  mapKeys{},
		Planner: chunkPlanner{size: 1},
		Submitter: submitFunc(func(_ context.Context, c refresh.Call) (string, error) {
			if c.URLs[0] == "https://d/b" {
				return "", apiErr(refresh.QuotaSpent, "QuotaExceeded.Refresh")
			}
			return "T1", nil
		}),
		Spiller: sp,
	})
	if err != nil {
		t.Fatal(err)
	}
	work := []refresh.Pending{
		{Job: job("a"), Reason: "quota", FirstSeen: first, Attempts: 1},
		{Job: job("b"), Reason: "quota", FirstSeen: first, Attempts: 2},
		{Job: job("b"), Reason: "quota", FirstSeen: first, Attempts: 2},
	}
	outs, err := p.Replay(context.Background(), work)
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	var got []refresh.Status
	for _, o := range outs {
		got = append(got, o.Status)
	}
	if diff := cmp.Diff([]refresh.Status{refresh.Submitted, refresh.Spilled, refresh.Spilled}, got); diff != "" {
		t.Errorf("Replay statuses (-want +got):\n%s", diff)
	}
	want := []refresh.Pending{
		{Job: job("b"), Reason: "QuotaExceeded.Refresh", FirstSeen: first, Attempts: 3},
		{Job: job("b"), Reason: "QuotaExceeded.Refresh", FirstSeen: first, Attempts: 3},
	}
	if diff := cmp.Diff(want, sp.got); diff != "" {
		t.Errorf("spilled again (-want +got):\n%s", diff)
	}
}

// TestPipelineReplayCanonical checks that replayed work is submitted in
// canonical spelling, whatever spelling it was spilled in.
func TestPipelineReplayCanonical(t *testing.T) {
	var sent []string
	p, err := refresh.NewPipeline(refresh.Options{
		Mapper:  mapKeys{},
		Planner: chunkPlanner{size: 10},
		Submitter: submitFunc(func(_ context.Context, c refresh.Call) (string, error) {
			sent = append(sent, c.URLs...)
			return "T1", nil
		}),
		Spiller: &memSpill{},
	})
	if err != nil {
		t.Fatal(err)
	}
	job := func(t refresh.ObjectType, u string) refresh.Job {
		return refresh.Job{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: t, URL: u}
	}
	work := []refresh.Pending{
		{Job: job(refresh.File, "https://WWW.Example.com:443/a/./b%7e.html"), Reason: "quota"},
		{Job: job(refresh.File, "https://www.example.com/../x"), Reason: "quota"},
		{Job: job(refresh.Regex, `HTTPS://WWW.Example.com/img/./.*\.png`), Reason: "quota"},
	}
	outs, err := p.Replay(context.Background(), work)
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	want := []refresh.Outcome{
		{Job: job(refresh.File, "https://www.example.com/a/b~.html"), Status: refresh.Submitted, TaskID: "T1"},
		{Job: job(refresh.File, "https://www.example.com/../x"), Status: refresh.Rejected, Reason: "a .. segment climbs above the root"},
		{Job: job(refresh.Regex, `https://www.example.com/img/./.*\.png`), Status: refresh.Submitted, TaskID: "T1"},
	}
	if diff := cmp.Diff(want, outs); diff != "" {
		t.Errorf("Replay(%v) outcomes mismatch (-want +got):\n%s", work, diff)
	}
	if diff := cmp.Diff([]string{"https://www.example.com/a/b~.html", `https://www.example.com/img/./.*\.png`}, sent); diff != "" {
		t.Errorf("Replay(%v) submitted URLs mismatch (-want +got):\n%s", work, diff)
	}
}

func TestReportMerge(t *testing.T) {
	a := refresh.Report{Changes: 2, Submitted: 1, Spilled: 1, Tasks: []string{"2"}, SpilledBy: map[string]int{"quota": 1}}
	b := refresh.Report{Changes: 3, Ignored: 1, Duplicate: 1, Spilled: 2, Rejected: 1, Tasks: []string{"1", "2"},
		SpilledBy: map[string]int{"quota": 1, "Throttling": 1}, RejectedBy: map[string]int{"InvalidDomain.NotFound": 1}}
	a.Merge(b)
	want := refresh.Report{Changes: 5, Ignored: 1, Submitted: 1, Duplicate: 1, Spilled: 3, Rejected: 1, Tasks: []string{"1", "2"},
		SpilledBy: map[string]int{"quota": 2, "Throttling": 1}, RejectedBy: map[string]int{"InvalidDomain.NotFound": 1}}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("Merge (-want +got):\n%s", diff)
	}
}

// TestPipelineSplitsRefusedCalls: a call refused for some of its domains is
// split by domain, so every URL of a good domain goes through; when
// halvings run out, what is left is spilled, never rejected with the bad.
func TestPipelineSplitsRefusedCalls(t *testing.T) {
	t.Run("by domain", func(t *testing.T) {
		var calls int
		p, _ := refresh.NewPipeline(refresh.Options{
			Mapper: mapperFunc(func(c refresh.Change) ([]refresh.Job, []refresh.Outcome, string) {
				return []refresh.Job{{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.File, URL: c.Key}}, nil, ""
			}),
			Planner: chunkPlanner{size: 1000},
			Submitter: submitFunc(func(_ context.Context, c refresh.Call) (string, error) {
				calls++
				for _, u := range c.URLs {
					if strings.Contains(u, "://off") {
						return "", apiErr(refresh.SplitDomains, "InvalidDomain.Offline")
					}
				}
				return "T", nil
			}),
			Spiller: &memSpill{},
		})
		var ev refresh.Event
		for i := range 1000 {
			d := []string{"on", "off"}[(i/100)%2] // 5 good and 5 offline domains, interleaved
			ev.Changes = append(ev.Changes, refresh.Change{Key: fmt.Sprintf("https://%s%d.example.com/%d", d, i/100, i)})
		}
		r, err := p.Run(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if r.Submitted != 500 || r.Rejected != 500 || r.Spilled != 0 {
			t.Errorf("submitted %d, rejected %d, spilled %d; want 500, 500, 0", r.Submitted, r.Rejected, r.Spilled)
		}
		if calls != 11 {
			t.Errorf("%d calls, want 11 (the call, then one per domain)", calls)
		}
	})
	t.Run("cache tags halved", func(t *testing.T) {
		// A call of 4 tags of one domain, refused while it carries "bad":
		// the tags are halved until "bad" is alone; the others go through.
		var sent [][]string
		tags := []string{"a", "b", "bad", "c"}
		p, _ := refresh.NewPipeline(refresh.Options{
			Mapper: mapperFunc(func(c refresh.Change) ([]refresh.Job, []refresh.Outcome, string) {
				return []refresh.Job{{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.CacheTag, URL: "https://d/", Tag: c.Key}}, nil, ""
			}),
			Planner: plannerFunc(func(jobs []refresh.Job, _ refresh.Quota) ([]refresh.Call, []refresh.Job) {
				return []refresh.Call{{API: refresh.APICacheTag, Provider: refresh.CDN, Action: refresh.ActionRefresh,
					ObjectType: refresh.CacheTag, Tags: tags, URLs: []string{"https://d/"}, Jobs: jobs}}, nil
			}),
			Submitter: submitFunc(func(_ context.Context, c refresh.Call) (string, error) {
				sent = append(sent, c.Tags)
				if slices.Contains(c.Tags, "bad") {
					return "", apiErr(refresh.SplitURLs, "InvalidObjectPath.Malformed")
				}
				return "T", nil
			}),
			Spiller: &memSpill{},
		})
		var ev refresh.Event
		for _, tag := range tags {
			ev.Changes = append(ev.Changes, refresh.Change{Key: tag})
		}
		r, err := p.Run(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if r.Submitted != 3 || r.Rejected != 1 || r.RejectedBy["InvalidObjectPath.Malformed"] != 1 {
			t.Errorf("submitted %d, rejected %v; want 3 and the bad tag alone", r.Submitted, r.RejectedBy)
		}
		want := [][]string{{"a", "b", "bad", "c"}, {"a", "b"}, {"bad", "c"}, {"bad"}, {"c"}}
		if diff := cmp.Diff(want, sent); diff != "" {
			t.Errorf("calls sent (-want +got):\n%s", diff)
		}
	})
	t.Run("out of halvings", func(t *testing.T) {
		sp := &memSpill{}
		p, _ := refresh.NewPipeline(refresh.Options{
			Mapper:  mapKeys{},
			Planner: chunkPlanner{size: 1000},
			Submitter: submitFunc(func(context.Context, refresh.Call) (string, error) {
				return "", apiErr(refresh.SplitURLs, "InvalidObjectPath.Malformed")
			}),
			Spiller: sp,
		})
		var keys []string
		for i := range 500 {
			keys = append(keys, fmt.Sprint(i))
		}
		r, err := p.Run(context.Background(), changes(keys...))
		if err != nil {
			t.Fatal(err)
		}
		if r.Rejected+r.Spilled != 500 || r.Spilled == 0 || r.Submitted != 0 {
			t.Errorf("rejected %d, spilled %d, submitted %d; want every job accounted for, the unsplit rest spilled", r.Rejected, r.Spilled, r.Submitted)
		}
		if r.Rejected > 64 {
			t.Errorf("rejected %d jobs; only URLs isolated alone may be rejected (at most 64 halvings)", r.Rejected)
		}
	})
}

type plannerFunc func([]refresh.Job, refresh.Quota) ([]refresh.Call, []refresh.Job)

func (f plannerFunc) Plan(j []refresh.Job, q refresh.Quota) ([]refresh.Call, []refresh.Job) {
	return f(j, q)
}

type mapperFunc func(refresh.Change) ([]refresh.Job, []refresh.Outcome, string)

func (f mapperFunc) Map(c refresh.Change) ([]refresh.Job, []refresh.Outcome, string) { return f(c) }
