package alicdn

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

func TestQuotaCache(t *testing.T) {
	t.Parallel()
	shanghai := time.FixedZone("UTC+8", 8*3600)
	now := time.Date(2026, 11, 22, 15, 59, 45, 0, time.UTC) // 23:59:45 in UTC+8
	reads := 0
	c := &quotaCache{
		read: func(context.Context, refresh.Provider) (refresh.DailyQuota, error) {
			reads++
			return refresh.DailyQuota{refresh.QuotaURL: {Remain: 100}, refresh.QuotaDir: {Remain: 10}, refresh.QuotaPreload: {Remain: 50}}, nil
		},
		now:  func() time.Time { return now },
		zone: shanghai,
	}
	get := func() refresh.Quota {
		q, err := c.get(context.Background(), refresh.CDN)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	steps := []struct {
		name      string
		advance   time.Duration
		spend     *refresh.Call
		exhausted bool
		wantURL   int
		wantDir   int
		wantReads int
	}{
		{name: "first read", wantURL: 100, wantDir: 10, wantReads: 1},
		{name: "cached", advance: 10 * time.Second, wantURL: 100, wantDir: 10, wantReads: 1},
		{name: "spending 30 file URLs", spend: &refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, ObjectType: refresh.File, URLs: make([]string, 30)}, wantURL: 70, wantDir: 10, wantReads: 1},
		{name: "spending 2 directories", spend: &refresh.Call{Action: refresh.ActionRefresh, ObjectType: refresh.Directory, URLs: make([]string, 2)}, wantURL: 70, wantDir: 8, wantReads: 1},
		{name: "QuotaExceeded empties the kind", spend: &refresh.Call{Action: refresh.ActionRefresh, ObjectType: refresh.File, URLs: make([]string, 1)}, exhausted: true, wantURL: 0, wantDir: 8, wantReads: 1},
		{name: "midnight UTC+8 rolls over, inside the TTL", advance: 10 * time.Second, wantURL: 100, wantDir: 10, wantReads: 2},
		{name: "the TTL expires", advance: QuotaTTL, wantURL: 100, wantDir: 10, wantReads: 3},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		if s.spend != nil {
			c.spend(*s.spend, s.exhausted)
		}
		q := get()
		if q.URL != s.wantURL || q.Dir != s.wantDir || reads != s.wantReads {
			t.Errorf("%s: URL %d, Dir %d after %d reads; want %d, %d after %d", s.name, q.URL, q.Dir, reads, s.wantURL, s.wantDir, s.wantReads)
		}
	}
}

// TestQuotaCacheReadsOutsideTheLock: while one provider's quota is being
// read (slowly), the other's cached answer and spend go on, and concurrent
// readers of the same provider share the one read.
func TestQuotaCacheReadsOutsideTheLock(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var mu sync.Mutex
	reads := map[refresh.Provider]int{}
	c := &quotaCache{
		read: func(ctx context.Context, p refresh.Provider) (refresh.DailyQuota, error) {
			mu.Lock()
			reads[p]++
			mu.Unlock()
			if p == refresh.DCDN {
				<-release
			}
			return refresh.DailyQuota{refresh.QuotaURL: {Remain: 10}}, nil
		},
		now:  time.Now,
		zone: time.UTC,
	}
	ctx := context.Background()
	if _, err := c.get(ctx, refresh.CDN); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { c.get(ctx, refresh.DCDN) })
	}
	done := make(chan struct{})
	go func() {
		c.get(ctx, refresh.CDN)
		c.spend(refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, ObjectType: refresh.File, URLs: []string{"u"}}, false)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a cached CDN Get and spend waited for a slow DCDN read")
	}
	close(release)
	wg.Wait()
	if reads[refresh.DCDN] != 1 || reads[refresh.CDN] != 1 {
		t.Errorf("reads = %v, want one per provider", reads)
	}
}
