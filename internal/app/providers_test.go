package app_test

import (
	"context"
	"testing"

	cdnemu "github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// TestQuotaPerProvider: CDN and DCDN quotas count apart, so a spent DCDN
// quota does not hold back CDN refreshes.
func TestQuotaPerProvider(t *testing.T) {
	t.Parallel()
	w := newWorldRules(t, cdnemu.Options{URLQuota: 5}, dcdnRule, "")
	ctx := context.Background()
	spill := func(p refresh.Provider, host string, n int) {
		var work []refresh.Pending
		for i := range n {
			j := fileJob(i)
			j.Provider, j.URL = p, jobURL(host, i)
			work = append(work, refresh.Pending{Job: j, Reason: "quota", FirstSeen: w.clock.Now()})
		}
		if err := w.app.Spill.Spill(ctx, work); err != nil {
			t.Fatal(err)
		}
	}
	spill(refresh.DCDN, "dcdn.example.com", 5)
	if d, err := w.app.Drain(ctx, 0); err != nil || d.Submitted != 5 {
		t.Fatalf("first drain = %+v, %v; want the 5 DCDN URLs submitted", d, err)
	}
	spill(refresh.CDN, "static.example.com", 3)
	d, err := w.app.Drain(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d.Submitted != 3 {
		t.Errorf("second drain = %+v; want the 3 CDN URLs submitted although DCDN's quota is spent", d)
	}
}
