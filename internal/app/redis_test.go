package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/app/apptest"
	"github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/window/redistest"
)

// hasMode reports whether logs hold a record of level with mode.
func hasMode(logs *apptest.Log, level, mode string) bool {
	for _, r := range logs.Records(level) {
		if r["mode"] == mode {
			return true
		}
	}
	return false
}

// TestRedisLostAndBack runs bursts of invocations through an App whose
// window and rate budget are shared through a real redis-server, stops
// Redis in the middle of a burst, and starts it again: no invocation
// fails, and the App's log says each change of mode once — a warning that
// the instance is on its own, with the cause, then a notice that sharing
// resumed.
func TestRedisLostAndBack(t *testing.T) {
	t.Parallel()
	addr, stop := redistest.Start(t)
	clock := apptest.NewClock(time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC))
	emu, endpoint := apptest.Emulator(t, cdn.Options{Now: clock.Now, TaskDuration: -1})
	var logs apptest.Log
	o := clock.Options()
	o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	a := apptest.NewApp(t, `
rules:
  - {bucket: site, domains: [d.example.com]}
window: {redis_url: "${REDIS}"}
`, endpoint, map[string]string{"REDIS": "redis://" + addr}, o)

	burst := func(name string, n int, midway func()) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			if i == n/2 && midway != nil {
				midway()
			}
			wg.Go(func() {
				ev := refresh.Event{ID: fmt.Sprint(name, "-", i), Changes: []refresh.Change{
					{Source: "oss", Bucket: "site", Key: fmt.Sprintf("%s/%d.js", name, i), Op: refresh.OpCreate}}}
				r, err := a.Pipeline.Run(context.Background(), ev)
				if err == nil && r.Submitted+r.Duplicate+r.Spilled != 1 {
					err = fmt.Errorf("answer %+v", r)
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("%s: an invocation failed: %v", name, err)
			}
		}
	}

	burst("before", 40, nil)
	burst("outage", 40, stop)
	redistest.StartOn(t, addr)
	// Invocations go on; each pause past, one of them tries Redis again.
	// go-redis itself redials a refused address once a second (real time).
	for i := 0; i < 50 && !hasMode(&logs, "INFO", "shared"); i++ {
		clock.Advance(10 * time.Second)
		burst(fmt.Sprint("after-", i), 5, nil)
		time.Sleep(100 * time.Millisecond)
	}

	if len(emu.Calls()) == 0 {
		t.Fatal("no call reached the API")
	}
	warns, infos := logs.Records("WARN"), logs.Records("INFO")
	if len(warns) != 1 || warns[0]["mode"] != "in-process" || warns[0]["error"] == nil {
		t.Errorf("warnings = %v; want one, mode in-process, with the error", warns)
	}
	var back int
	for _, r := range infos {
		if r["mode"] == "shared" {
			back++
		}
	}
	if back != 1 {
		t.Errorf("%d notices of Redis back (mode shared), want 1; infos: %v", back, infos)
	}
}
