package functions_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/app/apptest"
	"github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// TestSIGTERMSpillsWhatIsInFlight runs the oss-refresh binary as FC runs
// a custom runtime, posts it an event of 1,500 changed objects while the
// CDN API takes a minute to answer, and sends it SIGTERM once its calls
// are in flight. The process must stop accepting, cut the calls short
// before its grace (FC's 10 s; here 2 s) ends, spill what was not accepted, answer the
// invocation with every change submitted or spilled, and exit 0; after
// it exits, every URL is accepted by the API or in the spill.
func TestSIGTERMSpillsWhatIsInFlight(t *testing.T) {
	t.Parallel()
	bin := functionBinary(t)
	const n = 1500 // two windows: 1,000 jobs (max_batch), then 500
	event, urls := burst(n)

	emu := cdn.New(cdn.Options{DomainURLsPerMinute: -1, TaskDuration: -1})
	emu.Inject(cdn.Faults{Delay: time.Minute, Actions: []string{"RefreshObjectCaches"}})
	inFlight := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("Action") == "RefreshObjectCaches" {
			once.Do(func() { close(inFlight) })
		}
		emu.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	env, spillDir := killEnv(t, srv.URL)
	// A 2 s grace instead of FC's 10 s: the server cuts the invocations in
	// flight short 2 s before its stop deadline, here at once, which
	// leaves them the same 2 s to spill that FC's 10 s leaves.
	const grace = 2 * time.Second
	env = append(env, "CDNREFRESH_STOP_GRACE="+grace.String())
	f := startFunction(t, bin, env, "instance-1")

	type answer struct {
		status int
		body   []byte
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		status, body, err := apptest.PostInvoke(t.Context(), http.DefaultClient, f.url, apptest.Invocation{RequestID: "req-1", Timeout: 120}, event)
		answered <- answer{status, body, err}
	}()
	select {
	case <-inFlight:
	case a := <-answered:
		t.Fatalf("the function answered (%d %s %v) before any call reached the API\n%s", a.status, a.body, a.err, f.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("no refresh call reached the API within 30 s\n%s", f.log())
	}

	sent := time.Now()
	if err := f.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- f.cmd.Wait() }()
	var exitErr error
	select {
	case exitErr = <-exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("the function did not exit within 30 s of SIGTERM\n%s", f.log())
	}
	took := time.Since(sent)
	if exitErr != nil {
		t.Errorf("after SIGTERM the function exited with %v, want status 0\n%s", exitErr, f.log())
	}
	if took > grace+5*time.Second {
		t.Errorf("the function took %v to exit after SIGTERM, want about its %v grace", took, grace)
	}

	// The invocation in flight was answered: every change submitted or spilled.
	a := <-answered
	var r refresh.Report
	if a.err != nil || a.status != 200 || json.Unmarshal(a.body, &r) != nil {
		t.Fatalf("the invocation in flight answered %d %s (%v); want 200 and a report\n%s", a.status, a.body, a.err, f.log())
	}
	if r.Changes != n || r.Submitted+r.Spilled != n {
		t.Errorf("answer: %d changes, %d submitted, %d spilled; want %d changes, each submitted or spilled", r.Changes, r.Submitted, r.Spilled, n)
	}
	// A call cut off in flight is in doubt (the drain asks the API
	// before sending it again); a call never sent is past the deadline.
	if r.SpilledBy[refresh.ReasonInDoubt]+r.SpilledBy[refresh.ReasonDeadline] != r.Spilled {
		t.Errorf("answer: spilled %v, want every spilled job with reason %q or %q", r.SpilledBy, refresh.ReasonInDoubt, refresh.ReasonDeadline)
	}
	if !strings.Contains(f.log(), "stopping: cutting the invocations in flight short") {
		t.Errorf("the log does not say the work was cut short:\n%s", f.log())
	}

	// Nothing lost: every URL accepted by the API or in the spill.
	fs := fatesOf(t, emu.Calls(), spillDir, urls)
	if len(fs.lost) > 0 {
		t.Errorf("%d of %d URLs were neither accepted nor spilled after SIGTERM, e.g. %s", len(fs.lost), n, fs.lost[0])
	}
	t.Logf("SIGTERM → exit in %v: %d URLs accepted, %d spilled, answer %d submitted + %d spilled %v",
		took.Round(time.Millisecond), len(fs.accepted), len(fs.spilled), r.Submitted, r.Spilled, r.SpilledBy)
}
