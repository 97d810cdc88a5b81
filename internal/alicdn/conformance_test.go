package alicdn_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/alicdn"
	cdnemu "github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/plan"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// classOf is the emulator's class of what a client does about a code,
// for a verdict of the client's.
func classOf(v refresh.Verdict) cdnemu.Class {
	switch v {
	case refresh.Retry:
		return cdnemu.ClassRetry
	case refresh.QuotaSpent:
		return cdnemu.ClassQuota
	case refresh.Reject, refresh.SplitURLs, refresh.SplitDomains:
		return cdnemu.ClassReject
	}
	return cdnemu.ClassRefused
}

// TestCodesAgreeWithDocuments walks the statements of the documents the
// emulator relies on (cdnemu.Documented): every code one of them names is
// in the client's table with the same HTTP status, and for every code
// statement the client's verdict is of the statement's class.
func TestCodesAgreeWithDocuments(t *testing.T) {
	t.Parallel()
	n := 0
	for _, st := range cdnemu.Documented {
		if st.Code == "" {
			continue
		}
		n++
		name := fmt.Sprintf("%s %s %s", st.API, st.Kind, st.Code)
		c, ok := alicdn.Codes[st.Code]
		if !ok {
			t.Errorf("%s (%s): not in alicdn.Codes", name, st.Source)
			continue
		}
		if c.Status != st.Status {
			t.Errorf("%s (%s): Codes status %d, the documents %d", name, st.Source, c.Status, st.Status)
		}
		if c.Source == "" {
			t.Errorf("%s: Codes names no source", name)
		}
		if st.Kind != cdnemu.KindCode {
			continue
		}
		if got := classOf(alicdn.VerdictOf(st.Code, st.Status)); got != st.Class {
			t.Errorf("VerdictOf(%q, %d) is of class %s, the documents' statement (%s) says %s", st.Code, st.Status, got, st.Source, st.Class)
		}
	}
	if n < 30 {
		t.Errorf("walked %d statements with codes; want the documents' full list", n)
	}
}

// memSpill is a spill store in memory.
type memSpill struct {
	mu  sync.Mutex
	got []refresh.Pending
}

func (s *memSpill) Spill(_ context.Context, p []refresh.Pending) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, p...)
	return nil
}

// noMapper maps nothing: the tests hand jobs to Pipeline.Flush.
type noMapper struct{}

func (noMapper) Map(refresh.Change) ([]refresh.Job, []refresh.Outcome, string) {
	return nil, nil, "unused"
}

// pipeline returns a pipeline submitting through f's client, planned by
// the real planner, without quota reads or a window.
func (f *fixture) pipeline(t *testing.T) *refresh.Pipeline {
	t.Helper()
	p, err := refresh.NewPipeline(refresh.Options{
		Mapper:    noMapper{},
		Planner:   plan.Planner{},
		Submitter: f.client,
		Spiller:   &memSpill{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// jobFor returns a job that the pipeline sends to api.
func jobFor(api string) (refresh.Job, bool) {
	j := refresh.Job{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.File, URL: "https://a.example.com/x"}
	switch api {
	case refresh.APIRefresh:
	case refresh.APIPush:
		j.Action, j.ObjectType = refresh.ActionPrefetch, ""
	case refresh.APIPreloadDCDN:
		j.Action, j.ObjectType, j.Provider = refresh.ActionPrefetch, "", refresh.DCDN
	case refresh.APIRefreshDCDN:
		j.Provider = refresh.DCDN
	case refresh.APIRefreshER:
		j.Provider, j.Routine = refresh.DCDN, "name.sub"
	case refresh.APICacheTag:
		j.ObjectType, j.URL, j.Tag = refresh.CacheTag, "https://a.example.com/", "t1"
	default:
		return refresh.Job{}, false
	}
	if j.API() != api {
		panic(fmt.Sprintf("jobFor(%s) makes a job of %s", api, j.API()))
	}
	return j, true
}

// TestDocumentedCodesEndToEnd answers one call of each documented code
// (Faults.Next) and checks what the pipeline made of its job: a code to
// retry is retried and the job submitted; a spent quota, a refused
// account or permission spill it; a wrong request rejects it.
func TestDocumentedCodesEndToEnd(t *testing.T) {
	t.Parallel()
	want := map[cdnemu.Class]refresh.Status{
		cdnemu.ClassRetry:   refresh.Submitted,
		cdnemu.ClassQuota:   refresh.Spilled,
		cdnemu.ClassRefused: refresh.Spilled,
		cdnemu.ClassReject:  refresh.Rejected,
	}
	ran := 0
	for _, st := range cdnemu.Documented {
		j, ok := jobFor(st.API)
		if st.Kind != cdnemu.KindCode || !ok {
			continue
		}
		ran++
		t.Run(st.API+" "+st.Code, func(t *testing.T) {
			f := setup(t, cdnemu.Options{}, nil)
			f.emu.Inject(cdnemu.Faults{Next: []string{st.Code}})
			outs, err := f.pipeline(t).Flush(context.Background(), []refresh.Job{j})
			if err != nil {
				t.Fatal(err)
			}
			got := outs[0]
			wantReason := st.Code
			if want[st.Class] == refresh.Submitted {
				wantReason = ""
			}
			if got.Status != want[st.Class] || got.Reason != wantReason {
				t.Errorf("job answered %s (%d, %s): %s %q, want %s %q", st.Code, st.Status, st.Class, got.Status, got.Reason, want[st.Class], wantReason)
			}
			wantRequests := 1
			if st.Class == cdnemu.ClassRetry {
				wantRequests = 2
			}
			if n := f.emu.Stats().Requests; n != wantRequests {
				t.Errorf("%d requests, want %d", n, wantRequests)
			}
		})
	}
	if ran < 20 {
		t.Errorf("ran %d documented codes, want every code of the refresh and prefetch APIs", ran)
	}
}

// TestUndocumented4xx: a 4xx code no document gives is rejected after
// one retry, not spilled and replayed without end; one that clears on the
// retry is submitted.
func TestUndocumented4xx(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		next         []string
		wantStatus   refresh.Status
		wantRequests int
	}{
		{"twice: rejected", []string{"Some.NewCode", "Some.NewCode"}, refresh.Rejected, 2},
		{"once: submitted on the retry", []string{"Some.NewCode"}, refresh.Submitted, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, cdnemu.Options{}, nil)
			f.emu.Inject(cdnemu.Faults{Next: tt.next})
			j, _ := jobFor(refresh.APIRefresh)
			outs, err := f.pipeline(t).Flush(context.Background(), []refresh.Job{j})
			if err != nil {
				t.Fatal(err)
			}
			if outs[0].Status != tt.wantStatus {
				t.Errorf("outcome %s %q, want %s", outs[0].Status, outs[0].Reason, tt.wantStatus)
			}
			if n := f.emu.Stats().Requests; n != tt.wantRequests {
				t.Errorf("%d requests, want %d", n, tt.wantRequests)
			}
		})
	}
}

// TestIgnoreParamsSpelling: against an API that accepts only ExQuery, the
// first IgnoreParams call is refused once and sent again as ExQuery, and
// every later call is right first time; against one that accepts only
// IgnoreParams (or both), no call is refused.
func TestIgnoreParamsSpelling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spelling     string
		wantRefused  int
		wantSpelling string
	}{
		{cdnemu.SpellExQuery, 1, "ExQuery"},
		{cdnemu.SpellIgnoreParams, 0, "IgnoreParams"},
		{cdnemu.SpellBoth, 0, "IgnoreParams"},
	}
	for _, tt := range tests {
		t.Run(tt.spelling, func(t *testing.T) {
			f := setup(t, cdnemu.Options{IgnoreParamsSpelling: tt.spelling}, nil)
			for i := range 5 {
				call := refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, ObjectType: refresh.IgnoreParams, URLs: []string{fmt.Sprintf("https://a.com/%d", i)}}
				if _, err := f.client.Submit(context.Background(), call); err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
			st := f.emu.Stats()
			if st.Refused["InvalidObjectType.Malformed"] != tt.wantRefused || st.Requests != 5+tt.wantRefused {
				t.Errorf("%d requests, refused %v; want %d requests, %d refused", st.Requests, st.Refused, 5+tt.wantRefused, tt.wantRefused)
			}
			for i, c := range f.emu.Calls() {
				if c.ObjectType != tt.wantSpelling {
					t.Errorf("accepted call %d sent ObjectType %q, want %q", i, c.ObjectType, tt.wantSpelling)
				}
			}
			// DCDN always spells it IgnoreParams.
			dcall := refresh.Call{Provider: refresh.DCDN, Action: refresh.ActionRefresh, ObjectType: refresh.IgnoreParams, URLs: []string{"https://a.com/d"}}
			if _, err := f.client.Submit(context.Background(), dcall); err != nil {
				t.Fatalf("DCDN: %v", err)
			}
			if calls := f.emu.Calls(); calls[len(calls)-1].ObjectType != "IgnoreParams" {
				t.Errorf("DCDN call sent %q, want IgnoreParams", calls[len(calls)-1].ObjectType)
			}
		})
	}
}

// TestIgnoreParamsSpellingConcurrent: calls racing on one Client all go
// through, each refused at most once.
func TestIgnoreParamsSpellingConcurrent(t *testing.T) {
	t.Parallel()
	f := setup(t, cdnemu.Options{IgnoreParamsSpelling: cdnemu.SpellExQuery}, nil)
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call := refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, ObjectType: refresh.IgnoreParams, URLs: []string{fmt.Sprintf("https://a.com/%d", i)}}
			if _, err := f.client.Submit(context.Background(), call); err != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	st := f.emu.Stats()
	if failed.Load() != 0 || st.Accepted != 20 || st.Requests > 40 {
		t.Errorf("%d failed, %d accepted of %d requests; want none failed, 20 accepted, at most one refusal each", failed.Load(), st.Accepted, st.Requests)
	}
	f.emu.Reset()
	if _, err := f.client.Submit(context.Background(), refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, ObjectType: refresh.IgnoreParams, URLs: []string{"https://a.com/z"}}); err != nil || f.emu.Stats().Requests != 1 {
		t.Errorf("after the race: %v with %d requests, want one right first time", err, f.emu.Stats().Requests)
	}
}

// TestSixtyCallsInOneSecond: 60 refresh calls in one second against the
// emulator's documented 50 calls per second (the client's limiter off):
// 50 are accepted, 10 answered 429 TooManyRequests, and the pipeline,
// retrying them after its backoff, loses nothing.
func TestSixtyCallsInOneSecond(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2025, 6, 1, 2, 0, 0, 0, time.UTC)}
	emu := cdnemu.New(cdnemu.Options{Now: clk.Now})
	var advance sync.Once
	// The backoff: once every first attempt has been answered, a second
	// passes on the emulator's clock.
	answered := func() int { st := emu.Stats(); return st.Accepted + st.Refused["TooManyRequests"] }
	sleep := func(ctx context.Context, d time.Duration) error {
		for answered() < 60 {
			if err := ctx.Err(); err != nil {
				return err
			}
			time.Sleep(time.Millisecond)
		}
		advance.Do(func() { clk.Advance(time.Second) })
		return nil
	}
	f := setupWith(t, emu, func(c *alicdn.Config) { c.Sleep = sleep })
	p := f.pipeline(t)

	var wg sync.WaitGroup
	outs := make([]refresh.Outcome, 60)
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := refresh.Job{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.File, URL: fmt.Sprintf("https://a.example.com/%02d", i)}
			got, err := p.Flush(context.Background(), []refresh.Job{j})
			if err != nil {
				t.Error(err)
				return
			}
			outs[i] = got[0]
		}()
	}
	wg.Wait()
	st := emu.Stats()
	if st.Requests != 70 || st.Refused["TooManyRequests"] != 10 || st.Accepted != 60 || st.URLs != 60 {
		t.Errorf("emulator: %d requests, refused %v, %d accepted, %d URLs; want 70, 10 TooManyRequests, 60, 60", st.Requests, st.Refused, st.Accepted, st.URLs)
	}
	var status []refresh.Status
	for _, o := range outs {
		status = append(status, o.Status)
	}
	if diff := cmp.Diff(slices.Repeat([]refresh.Status{refresh.Submitted}, 60), status); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}
