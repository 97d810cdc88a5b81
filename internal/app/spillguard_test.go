package app_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/app/apptest"
	"github.com/cdnrefresh/cdnrefresh/internal/config"
	cdnemu "github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	ossemu "github.com/cdnrefresh/cdnrefresh/internal/emulator/oss"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/spill"
	"github.com/cdnrefresh/cdnrefresh/internal/trigger"
)

// TestSpillToOSSNeverRetriggers: with the spill in the watched bucket, the
// OSS event its own spill write causes is ignored, and the failed work
// really is spilled there through the real OSS SDK.
func TestSpillToOSSNeverRetriggers(t *testing.T) {
	t.Parallel()
	oss := ossemu.New(ossemu.Options{Keys: map[string]string{cdnemu.AccessKeyID: cdnemu.AccessKeySecret}, Buckets: []string{"my-site"}})
	ossSrv := httptest.NewServer(oss)
	defer ossSrv.Close()
	emu, endpoint := apptest.Emulator(t, cdnemu.Options{})
	a := apptest.NewApp(t, `
rules:
  - bucket: my-site
    exclude: [.cdnrefresh/]
    domains: [www.example.com]
spill: {oss: {bucket: my-site, prefix: .cdnrefresh/spill/}}
window: {duration: 50ms}
`, endpoint, map[string]string{config.EnvOSSEndpoint: ossSrv.URL}, app.Options{Sleep: apptest.NoSleep})

	// The CDN API refuses everything for now: the job is spilled to OSS.
	emu.Inject(cdnemu.Faults{ServerError: 1})
	r, err := a.Pipeline.Run(context.Background(), refresh.Event{ID: "e1", Changes: []refresh.Change{
		{Source: "oss", Bucket: "my-site", Key: "index.html", Op: refresh.OpCreate},
	}})
	if err != nil || r.Spilled != 1 {
		t.Fatalf("Run = %+v, %v; want 1 spilled", r, err)
	}
	keys := oss.Keys("my-site")
	if len(keys) != 1 {
		t.Fatalf("OSS holds %v, want one spill object", keys)
	}

	// OSS now fires the trigger for that write: the function ignores it.
	ev, err := trigger.ParseOSS(apptest.OSSEvent("my-site", "req-2", keys[0]))
	if err != nil {
		t.Fatal(err)
	}
	emu.Inject(cdnemu.Faults{})
	before := len(emu.Calls())
	r, err = a.Pipeline.Run(context.Background(), ev)
	if err != nil || r.Ignored != 1 || r.Submitted+r.Spilled+r.Rejected != 0 {
		t.Errorf("Run(event of the spill write) = %+v, %v; want it ignored", r, err)
	}
	if len(r.IgnoredKeys) != 1 || r.IgnoredKeys[0].Reason != spill.ReasonOwnSpill {
		t.Errorf("ignored %+v, want the reason %q", r.IgnoredKeys, spill.ReasonOwnSpill)
	}
	if n := len(emu.Calls()) - before; n != 0 {
		t.Errorf("the spill write's event caused %d API calls", n)
	}
}
