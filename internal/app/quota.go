package app

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/alicdn"
	"github.com/cdnrefresh/cdnrefresh/internal/config"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// quotaTTL is how long a DescribeRefreshQuota answer is trusted. The plan
// never exceeds what it said remained; what other instances spend in the
// meantime is caught by the API's own QuotaExceeded answer, which spills.
const quotaTTL = 30 * time.Second

// quotaCache reads each provider's remaining daily quota at most once per
// quotaTTL; the pipeline's planning and the drain's budget share it.
type quotaCache struct {
	read func(ctx context.Context, p refresh.Provider) (alicdn.Quota, error)
	now  func() time.Time
	zone *time.Location // whose midnight resets the daily quota

	mu       sync.Mutex
	reads    map[refresh.Provider]quotaRead
	inflight map[refresh.Provider]chan struct{} // closed when a read ends
}

type quotaRead struct {
	at time.Time
	q  alicdn.Quota
}

// Get returns provider p's quotas, from the cache when fresh. A read runs
// outside the lock, once for all who need it at the same time, so that a
// slow API never holds up the flushes the cache can answer.
func (c *quotaCache) Get(ctx context.Context, p refresh.Provider) (alicdn.Quota, error) {
	for {
		c.mu.Lock()
		if r, ok := c.reads[p]; ok && c.fresh(r.at) {
			c.mu.Unlock()
			return r.q, nil
		}
		if wait, ok := c.inflight[p]; ok {
			c.mu.Unlock()
			select {
			case <-wait:
				continue // the other read is done: use it, or try anew
			case <-ctx.Done():
				return alicdn.Quota{}, ctx.Err()
			}
		}
		done := make(chan struct{})
		if c.inflight == nil {
			c.inflight = map[refresh.Provider]chan struct{}{}
		}
		c.inflight[p] = done
		c.mu.Unlock()

		q, err := c.read(ctx, p)

		c.mu.Lock()
		delete(c.inflight, p)
		close(done)
		if err != nil {
			delete(c.reads, p)
		} else {
			if c.reads == nil {
				c.reads = map[refresh.Provider]quotaRead{}
			}
			c.reads[p] = quotaRead{at: c.now(), q: q}
		}
		c.mu.Unlock()
		return q, err
	}
}

// providers lists the providers the rules use.
func providers(cfg *config.Config) []refresh.Provider {
	var cdn, dcdn bool
	for _, r := range cfg.Rules {
		if r.Provider == refresh.DCDN {
			dcdn = true
		} else {
			cdn = true
		}
	}
	var out []refresh.Provider
	if cdn {
		out = append(out, refresh.CDN)
	}
	if dcdn {
		out = append(out, refresh.DCDN)
	}
	return out
}

// remaining is what the plan may spend of provider p's daily quotas.
func (a *App) remaining(ctx context.Context, p refresh.Provider) (refresh.Quota, error) {
	q, err := a.quotas.Get(ctx, p)
	if err != nil {
		return refresh.Quota{}, err
	}
	return q.Remaining(), nil
}

// fresh reports whether a read made at t may still be trusted: within
// quotaTTL, and on the same quota day.
func (c *quotaCache) fresh(t time.Time) bool {
	now := c.now()
	if now.Sub(t) >= quotaTTL {
		return false
	}
	y1, m1, d1 := t.In(c.zone).Date()
	y2, m2, d2 := now.In(c.zone).Date()
	return y1 == y2 && m1 == m2 && d1 == d2
}

// spend records that call c was accepted (n > 0: its URLs were spent) or
// refused for a spent quota (exhausted), so that the cached remainder stays
// true between reads.
func (c *quotaCache) spend(call refresh.Call, exhausted bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := call.Provider
	if p == "" {
		p = refresh.CDN
	}
	r, ok := c.reads[p]
	if !ok {
		return
	}
	field := &r.q.URLRemain
	switch {
	case call.Action == refresh.ActionPrefetch:
		field = &r.q.PreloadRemain
	case call.ObjectType == refresh.Directory:
		field = &r.q.DirRemain
	case call.ObjectType == refresh.Regex:
		field = &r.q.RegexRemain
	case call.ObjectType == refresh.IgnoreParams:
		field = &r.q.IgnoreParamsRemain
	}
	if exhausted {
		*field = 0
	} else {
		*field = max(0, *field-len(call.URLs))
	}
	c.reads[p] = r
}

// spendingSubmitter keeps the quota cache in step with what it submits.
type spendingSubmitter struct {
	*alicdn.Client
	quotas *quotaCache
}

func (s spendingSubmitter) Submit(ctx context.Context, c refresh.Call) (string, error) {
	id, err := s.Client.Submit(ctx, c)
	var q interface{ QuotaExhausted() bool }
	switch {
	case err == nil:
		s.quotas.spend(c, false)
	case errors.As(err, &q) && q.QuotaExhausted():
		s.quotas.spend(c, true)
	}
	return id, err
}
