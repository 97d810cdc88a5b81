package window

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// Account-wide limits of the CDN and DCDN APIs, from
// https://help.aliyun.com/zh/cdn/developer-reference/api-cdn-2018-05-10-refreshobjectcaches
// and the DCDN 2018-01-15 reference.
const (
	DefaultCDNQPS        = 50   // RefreshObjectCaches, PushObjectCache
	DefaultDCDNQPS       = 30   // RefreshDcdnObjectCaches, RefreshErObjectCaches
	DefaultTasksQPS      = 10   // DescribeRefreshTasks
	DefaultTaskByIDQPS   = 30   // DescribeRefreshTaskById
	DefaultURLsPerMinute = 1000 // URLs per domain per minute: the safe one of the documented values
)

const (
	// urlWindow is how long URLs count against their domain's budget:
	// the API's minute and minuteMargin, so that a call sent as the
	// minute ends is never counted by the API within it.
	urlWindow        = time.Minute + minuteMargin
	minuteMargin     = time.Second
	minLimiterWait   = time.Millisecond
	limiterKeyPrefix = KeyPrefix + "{rate}:" // one hash slot: the script touches several keys
)

// DefaultQPS returns the default calls per second of each paced API.
func DefaultQPS() map[string]float64 {
	return map[string]float64{
		refresh.APIRefresh:     DefaultCDNQPS,
		refresh.APIPush:        DefaultCDNQPS,
		refresh.APIRefreshDCDN: DefaultDCDNQPS,
		refresh.APIRefreshER:   DefaultDCDNQPS, // seed 003 (RefreshErObjectCaches): 30 calls/s
		refresh.APIPreloadDCDN: 15,             // PreloadDcdnObjectCaches page: 15 calls/s
		// No page states a rate for the cache-tag APIs: they are paced
		// as their family's URL refresh.
		refresh.APICacheTag:      DefaultCDNQPS,
		refresh.APICacheTagDCDN:  DefaultDCDNQPS,
		refresh.APIQuota:         20, // DescribeRefreshQuota page: 20 calls/s
		refresh.APIQuotaDCDN:     20, // DescribeDcdnRefreshQuota page: 20 calls/s
		refresh.APITasks:         DefaultTasksQPS,
		refresh.APITasksDCDN:     DefaultTasksQPS,
		refresh.APITaskByID:      DefaultTaskByIDQPS,
		refresh.APITaskByIDDCDN:  DefaultTaskByIDQPS,
		refresh.APIPreloadDetail: DefaultTaskByIDQPS, // seed 000 (describePreloadDetailById): 30 calls/s
	}
}

// Limits are the account's API limits that the limiters keep.
type Limits struct {
	// QPS caps the calls per second of each API, by API name. Entries
	// override DefaultQPS; APIs in neither are not paced.
	QPS map[string]float64
	// URLsPerMinute caps the URLs sent through one API for one domain
	// within any 60 seconds (default 1000). The limiters keep it over a
	// minute and a second.
	URLsPerMinute int
}

// resolve merges l over the defaults and checks it.
func (l Limits) resolve() (map[string]float64, int, error) {
	qps := DefaultQPS()
	for api, v := range l.QPS {
		if !(v > 0) || math.IsInf(v, 0) {
			return nil, 0, fmt.Errorf("window: limits: QPS of %s is %v; want a positive number", api, v)
		}
		qps[api] = v
	}
	urls := l.URLsPerMinute
	switch {
	case urls < 0:
		return nil, 0, fmt.Errorf("window: limits: URLs per minute is %d; want a positive number", urls)
	case urls == 0:
		urls = DefaultURLsPerMinute
	}
	return qps, urls, nil
}

// checkCall rejects a call that no wait could ever let through.
func checkCall(api string, urlsPerDomain map[string]int, limit int) error {
	for d, n := range urlsPerDomain {
		if n > limit {
			return fmt.Errorf("window: call of %s carries %d URLs for domain %q, over the budget of %d per minute", api, n, d, limit)
		}
	}
	return nil
}

// LocalLimiter paces the calls of one process: each API at its QPS, and
// the URLs of each API and domain within the per-minute budget over a
// sliding minute. It is safe for concurrent use.
type LocalLimiter struct {
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
	urls  int

	mu        sync.Mutex
	api       map[string]*rate.Limiter
	logs      map[string]*slidingLog // api + "|" + domain
	nextPrune time.Time
	seq       uint64 // names each call's entries in the logs
}

// NewLocalLimiter returns an in-process limiter keeping l. Of o only the
// clock (Now, After) is used.
func NewLocalLimiter(l Limits, o Options) (*LocalLimiter, error) {
	qps, urls, err := l.resolve()
	if err != nil {
		return nil, err
	}
	o = o.withDefaults()
	ll := &LocalLimiter{
		now:   o.Now,
		after: o.After,
		urls:  urls,
		api:   make(map[string]*rate.Limiter, len(qps)),
		logs:  make(map[string]*slidingLog),
	}
	for api, v := range qps {
		// A burst of one spaces the calls evenly, so no second ever
		// carries more than the limit.
		ll.api[api] = rate.NewLimiter(rate.Limit(v), 1)
	}
	return ll, nil
}

// Wait blocks until one call of api carrying urlsPerDomain URLs for each
// domain may be sent; see refresh.Limiter. When the wait would pass ctx's
// deadline it returns at once an error that wraps
// context.DeadlineExceeded. The call's URLs count from now.
func (l *LocalLimiter) Wait(ctx context.Context, api string, urlsPerDomain map[string]int) error {
	_, err := l.Reserve(ctx, api, urlsPerDomain)
	return err
}

// Reserve is Wait, and lets the caller say how the call ended; see
// refresh.CountingLimiter.
func (l *LocalLimiter) Reserve(ctx context.Context, api string, urlsPerDomain map[string]int) (func(refresh.Settlement), error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("window: wait for rate limit of %s: %w", api, err)
	}
	if err := checkCall(api, urlsPerDomain, l.urls); err != nil {
		return nil, err
	}
	for {
		wait, domain, id := l.reserve(api, urlsPerDomain)
		if wait <= 0 {
			return func(s refresh.Settlement) { l.settle(api, urlsPerDomain, id, s) }, nil
		}
		refresh.NotifyLimitWait(ctx, refresh.LimitWait{API: api, Domain: domain, Wait: wait})
		if err := sleep(ctx, l.now, l.after, api, wait); err != nil {
			return nil, err
		}
	}
}

// reserve takes what the call needs if all of it is there now, under a
// new id, and otherwise takes nothing and returns how long to wait and
// the domain whose budget is short ("" for the API's rate).
func (l *LocalLimiter) reserve(api string, urlsPerDomain map[string]int) (wait time.Duration, domain string, id uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.pruneLocked(now)
	lim := l.api[api]
	if lim != nil {
		if t := lim.TokensAt(now); t < 1 {
			wait = time.Duration((1 - t) / float64(lim.Limit()) * float64(time.Second))
		}
	}
	for d, n := range urlsPerDomain {
		if n <= 0 {
			continue
		}
		lg := l.logs[api+"|"+d]
		if lg == nil {
			continue
		}
		lg.prune(now)
		if w := lg.waitFor(now, n, l.urls); w > wait {
			wait, domain = w, d
		}
	}
	if wait > 0 {
		return max(wait, minLimiterWait), domain, 0
	}
	if lim != nil {
		lim.AllowN(now, 1)
	}
	l.seq++
	for d, n := range urlsPerDomain {
		if n > 0 {
			l.logLocked(api, d).add(now, n, l.seq)
		}
	}
	return 0, "", l.seq
}

// settle takes the entries of call id out of its domains' logs and puts
// back what s says: the call's URLs at now (Counted), nothing (Refused),
// or the whole budget at now (BudgetSpent).
func (l *LocalLimiter) settle(api string, urlsPerDomain map[string]int, id uint64, s refresh.Settlement) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for d, n := range urlsPerDomain {
		if n <= 0 {
			continue
		}
		lg := l.logLocked(api, d)
		lg.remove(id)
		switch s {
		case refresh.Counted:
			lg.add(now, n, id)
		case refresh.BudgetSpent:
			lg.add(now, l.urls, id)
		}
	}
}

// Spent returns how many URLs of domain's minute budget calls of api have
// used over the last minute.
func (l *LocalLimiter) Spent(api, domain string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	lg := l.logs[api+"|"+domain]
	if lg == nil {
		return 0
	}
	lg.prune(l.now())
	return lg.sum
}

// logLocked returns the log of api and domain, made empty if need be.
func (l *LocalLimiter) logLocked(api, domain string) *slidingLog {
	k := api + "|" + domain
	lg := l.logs[k]
	if lg == nil {
		lg = &slidingLog{window: urlWindow}
		l.logs[k] = lg
	}
	return lg
}

func (l *LocalLimiter) pruneLocked(now time.Time) {
	if now.Before(l.nextPrune) {
		return
	}
	l.nextPrune = now.Add(urlWindow)
	for k, lg := range l.logs {
		if lg.prune(now); lg.sum == 0 {
			delete(l.logs, k)
		}
	}
}

// slidingLog remembers how many URLs were sent when, over the last window.
type slidingLog struct {
	window  time.Duration
	entries []logEntry // oldest first
	sum     int
}

type logEntry struct {
	at time.Time
	n  int
	id uint64 // the call's
}

// add records n URLs at at, no earlier than any entry (the clock only
// moves forward).
func (s *slidingLog) add(at time.Time, n int, id uint64) {
	s.entries = append(s.entries, logEntry{at: at, n: n, id: id})
	s.sum += n
}

// remove forgets the entry of call id and reports whether it was there.
func (s *slidingLog) remove(id uint64) bool {
	i := slices.IndexFunc(s.entries, func(e logEntry) bool { return e.id == id })
	if i < 0 {
		return false
	}
	s.sum -= s.entries[i].n
	s.entries = slices.Delete(s.entries, i, i+1)
	return true
}

// prune forgets what left the window ending at now.
func (s *slidingLog) prune(now time.Time) {
	cut := 0
	for cut < len(s.entries) && !s.entries[cut].at.After(now.Add(-s.window)) {
		s.sum -= s.entries[cut].n
		cut++
	}
	s.entries = slices.Delete(s.entries, 0, cut)
}

// waitFor returns how long until n more fit under limit.
func (s *slidingLog) waitFor(now time.Time, n, limit int) time.Duration {
	excess := s.sum + n - limit
	if excess <= 0 {
		return 0
	}
	for _, e := range s.entries {
		if excess -= e.n; excess <= 0 {
			return e.at.Add(s.window).Sub(now)
		}
	}
	return s.window // only when n > limit, which checkCall refuses
}

// sleep waits d unless that would pass ctx's deadline or ctx ends first.
func sleep(ctx context.Context, now func() time.Time, after func(time.Duration) <-chan time.Time, api string, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("window: wait for rate limit of %s: %w", api, err)
	}
	if dl, ok := ctx.Deadline(); ok && now().Add(d).After(dl) {
		return fmt.Errorf("window: rate limit of %s asks a wait of %v, past the deadline: %w", api, d, context.DeadlineExceeded)
	}
	select {
	case <-after(d):
		return nil
	case <-ctx.Done():
		return fmt.Errorf("window: wait for rate limit of %s: %w", api, ctx.Err())
	}
}

// RedisLimiter keeps the limits for every instance at once: one Lua script
// checks and takes an API's QPS slot and each domain's URL budget
// atomically in Redis. While Redis is unreachable it falls back to a
// LocalLimiter (each instance then keeps the limits on its own) and logs a
// warning once per outage. It is safe for concurrent use.
type RedisLimiter struct {
	rdb   redis.Cmdable
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
	qps   map[string]float64
	urls  int
	h     *health
	local *LocalLimiter
	id    string
	seq   atomic.Uint64
}

// NewRedisLimiter returns a limiter keeping l across every instance that
// shares client. Of o the clock (Now, After) and Logger are used. It
// returns an error only for a nil client or invalid limits.
func NewRedisLimiter(client redis.Cmdable, l Limits, o Options) (*RedisLimiter, error) {
	if client == nil {
		return nil, errors.New("window: NewRedisLimiter needs a Redis client")
	}
	qps, urls, err := l.resolve()
	if err != nil {
		return nil, err
	}
	local, err := NewLocalLimiter(l, o)
	if err != nil {
		return nil, err
	}
	o = o.withDefaults()
	return &RedisLimiter{
		rdb:   client,
		now:   o.Now,
		after: o.After,
		qps:   qps,
		urls:  urls,
		h:     healthOf(client, o.Logger, o.Now),
		local: local,
		id:    randomID(),
	}, nil
}

// limitScript: KEYS[1] the API's key, KEYS[2..] one per domain; ARGV[1]
// now (ms), ARGV[2] the API's interval between calls (ms, 0: not paced),
// ARGV[3] the URL window (ms), ARGV[4] the URL limit, ARGV[5] a unique
// call id, ARGV[6..] the URLs per domain key. The API key holds the time
// the next call may go (a rate of one burst); each domain key is a sorted
// set of "<urls>:<call id>" scored by time (a sliding log). Returns {0, 0}
// when the call may go (and takes its share), else the ms to wait and the
// index in KEYS of the domain whose budget is short (1 for the API's
// rate).
var limitScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local win = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local wait = 0
local short = 1
if interval > 0 then
  local nextAt = tonumber(redis.call('GET', KEYS[1]) or '0')
  if nextAt > now then wait = nextAt - now end
end
for i = 2, #KEYS do
  local n = tonumber(ARGV[i + 4])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - win)
  local e = redis.call('ZRANGE', KEYS[i], 0, -1, 'WITHSCORES')
  local sum = 0
  for j = 1, #e, 2 do sum = sum + tonumber(string.match(e[j], '^(%d+)')) end
  local excess = sum + n - limit
  if excess > 0 then
    for j = 1, #e, 2 do
      excess = excess - tonumber(string.match(e[j], '^(%d+)'))
      if excess <= 0 then
        local w = tonumber(e[j + 1]) + win - now
        if w > wait then wait, short = w, i end
        break
      end
    end
  end
end
if wait > 0 then return {wait, short} end
if interval > 0 then
  redis.call('SET', KEYS[1], now + interval, 'PX', interval + 1000)
end
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[i + 4] .. ':' .. ARGV[5])
  redis.call('PEXPIRE', KEYS[i], win + 1000)
end
return {0, 0}
`)

// spentScript: KEYS[1] a domain's key; ARGV[1] now (ms), ARGV[2] the URL
// window (ms). Returns the URLs of the sliding log within the window.
var spentScript = redis.NewScript(`
local e = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (tonumber(ARGV[1]) - tonumber(ARGV[2])), '+inf')
local sum = 0
for j = 1, #e do sum = sum + tonumber(string.match(e[j], '^(%d+)')) end
return sum
`)

// Spent returns how many URLs of domain's minute budget calls of api by
// every instance have used over the last minute (this instance's own
// count while Redis is unreachable).
func (l *RedisLimiter) Spent(api, domain string) int {
	gen, usable := l.h.usable()
	if !usable {
		return l.local.Spent(api, domain)
	}
	octx, cancel := opContext(context.Background())
	defer cancel()
	n, err := spentScript.Run(octx, l.rdb, []string{limiterKeyPrefix + "urls:" + api + ":" + domain},
		l.now().UnixMilli(), urlWindow.Milliseconds()).Int()
	if err != nil {
		l.h.fail(err)
		return l.local.Spent(api, domain)
	}
	l.h.ok(gen)
	return n
}

// Wait blocks until one call of api carrying urlsPerDomain URLs for each
// domain may be sent by any instance; see refresh.Limiter and
// LocalLimiter.Wait.
func (l *RedisLimiter) Wait(ctx context.Context, api string, urlsPerDomain map[string]int) error {
	_, err := l.Reserve(ctx, api, urlsPerDomain)
	return err
}

// Reserve is Wait, and lets the caller say how the call ended; see
// refresh.CountingLimiter.
func (l *RedisLimiter) Reserve(ctx context.Context, api string, urlsPerDomain map[string]int) (func(refresh.Settlement), error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("window: wait for rate limit of %s: %w", api, err)
	}
	if err := checkCall(api, urlsPerDomain, l.urls); err != nil {
		return nil, err
	}
	keys := []string{limiterKeyPrefix + "qps:" + api}
	domains := []string{""}
	var counts []any
	for _, d := range slices.Sorted(maps.Keys(urlsPerDomain)) {
		if n := urlsPerDomain[d]; n > 0 {
			keys = append(keys, limiterKeyPrefix+"urls:"+api+":"+d)
			domains = append(domains, d)
			counts = append(counts, n)
		}
	}
	var interval int64
	if q, ok := l.qps[api]; ok {
		interval = int64(math.Ceil(1000 / q)) // whole ms, rounded to the safe side
	}
	for {
		gen, usable := l.h.usable()
		if !usable {
			return l.local.Reserve(ctx, api, urlsPerDomain)
		}
		id := l.id + "#" + strconv.FormatUint(l.seq.Add(1), 10)
		args := append([]any{l.now().UnixMilli(), interval, urlWindow.Milliseconds(), l.urls, id}, counts...)
		octx, cancel := opContext(ctx)
		res, err := limitScript.Run(octx, l.rdb, keys, args...).Int64Slice()
		cancel()
		if err == nil && len(res) != 2 {
			err = fmt.Errorf("limit script answered %v", res)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("window: wait for rate limit of %s: %w", api, ctx.Err())
			}
			l.h.fail(err)
			return l.local.Reserve(ctx, api, urlsPerDomain)
		}
		l.h.ok(gen)
		if res[0] <= 0 {
			return func(s refresh.Settlement) { l.settle(ctx, keys[1:], counts, id, s) }, nil
		}
		wait := time.Duration(res[0]) * time.Millisecond
		if i := int(res[1]) - 1; i >= 0 && i < len(domains) {
			refresh.NotifyLimitWait(ctx, refresh.LimitWait{API: api, Domain: domains[i], Wait: wait})
		}
		if err := sleep(ctx, l.now, l.after, api, wait); err != nil {
			return nil, err
		}
	}
}

// settle puts back in each domain key of call id what s says, as
// LocalLimiter.settle does: its URLs at now, nothing, or the whole budget
// at now. On a Redis error the entries stay as the script wrote them.
func (l *RedisLimiter) settle(ctx context.Context, keys []string, counts []any, id string, s refresh.Settlement) {
	octx, cancel := opContext(context.WithoutCancel(ctx))
	defer cancel()
	now := float64(l.now().UnixMilli())
	_, _ = l.rdb.Pipelined(octx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			p.ZRem(octx, k, fmt.Sprint(counts[i])+":"+id)
			switch s {
			case refresh.Counted:
				p.ZAdd(octx, k, redis.Z{Score: now, Member: fmt.Sprint(counts[i]) + ":" + id})
			case refresh.BudgetSpent:
				p.ZAdd(octx, k, redis.Z{Score: now, Member: strconv.Itoa(l.urls) + ":" + id})
			}
			p.PExpire(octx, k, urlWindow+time.Second)
		}
		return nil
	})
}
