package alicdn

import (
	"context"
	"sync"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// QuotaTTL is how long a quota read is trusted. The plan never exceeds
// what it said remained; what other instances spend in the meantime is
// caught by the API's own QuotaExceeded answer, which spills.
const QuotaTTL = 30 * time.Second

// quotaCache holds each provider's last quota read for QuotaTTL; the
// pipeline's planning and the drain's budget share it, and Submit keeps it
// in step with what is spent.
type quotaCache struct {
	read func(ctx context.Context, p refresh.Provider) (refresh.DailyQuota, error)
	now  func() time.Time
	zone *time.Location // whose midnight resets the daily quota

	mu       sync.Mutex
	reads    map[refresh.Provider]quotaRead
	inflight map[refresh.Provider]chan struct{} // closed when a read ends
}

type quotaRead struct {
	at time.Time
	q  refresh.Quota
}

// Remaining returns what remains today of provider p's quotas that jobs
// draw on, from a read at most QuotaTTL old and of the same quota day
// (midnight in Config.QuotaZone), less what this client submitted since.
// A read runs outside the lock, once for all who need it at the same time,
// so that a slow API never holds up the flushes the cache can answer.
func (c *Client) Remaining(ctx context.Context, p refresh.Provider) (refresh.Quota, error) {
	return c.quotas.get(ctx, p.OrDefault())
}

func (c *quotaCache) get(ctx context.Context, p refresh.Provider) (refresh.Quota, error) {
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
				return refresh.Quota{}, ctx.Err()
			}
		}
		done := make(chan struct{})
		if c.inflight == nil {
			c.inflight = map[refresh.Provider]chan struct{}{}
		}
		c.inflight[p] = done
		c.mu.Unlock()

		d, err := c.read(ctx, p)
		q := d.Remaining()

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

// fresh reports whether a read made at t may still be trusted: within
// QuotaTTL, and on the same quota day.
func (c *quotaCache) fresh(t time.Time) bool {
	now := c.now()
	if now.Sub(t) >= QuotaTTL {
		return false
	}
	y1, m1, d1 := t.In(c.zone).Date()
	y2, m2, d2 := now.In(c.zone).Date()
	return y1 == y2 && m1 == m2 && d1 == d2
}

// spend records that call was accepted (its URLs were spent) or refused
// for a spent quota (exhausted), so that the cached remainder stays true
// between reads.
func (c *quotaCache) spend(call refresh.Call, exhausted bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := call.Provider.OrDefault()
	r, ok := c.reads[p]
	if !ok {
		return
	}
	n := call.Size()
	if exhausted {
		n = -1
	}
	r.q.Spend(call.QuotaKind(), n)
	c.reads[p] = r
}
