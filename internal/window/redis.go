package window

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/window/redisconn"
)

// KeyPrefix starts every key this package writes to Redis.
const KeyPrefix = "cdnrefresh:"

const (
	// opTimeout bounds each Redis round trip, so that an unreachable Redis
	// costs an invocation at most this much before it falls back.
	opTimeout = redisconn.Timeout
	// retryEvery is how long the shared state is left alone after an error
	// before it is tried again.
	retryEvery = 5 * time.Second
	// pendingNoDeadline is how long a claim stays pending beyond the window
	// when its claimer has no deadline.
	pendingNoDeadline = time.Minute
)

// Redis is a window whose dedupe state is shared by every instance through
// Redis; see the package documentation for the design. While Redis is
// unreachable it behaves as Local. It is safe for concurrent use.
type Redis struct {
	c        *core
	rdb      redis.Cmdable
	instance string
	h        *health
	seq      atomic.Uint64
	together combiner
}

// NewRedis returns a window sharing its state through client; instanceID
// names this instance in claims (a random one when empty). If Redis cannot
// be reached now, NewRedis logs a warning and returns a window that works
// in-process until Redis answers again. It returns an error only for a nil
// client.
func NewRedis(ctx context.Context, opts Options, client redis.Cmdable, instanceID string, flush refresh.FlushFunc) (*Redis, error) {
	if client == nil {
		return nil, errors.New("window: NewRedis needs a Redis client")
	}
	if instanceID == "" {
		instanceID = randomID()
	}
	opts = opts.withDefaults()
	r := &Redis{
		rdb:      client,
		instance: instanceID,
		h:        healthOf(client, opts.Logger, opts.Now),
	}
	r.c = newCore(opts, flush, r)
	pctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		r.h.fail(err)
	}
	return r, nil
}

// Join adds the jobs to this instance's open window and waits for its
// flush; see refresh.Window and Local.Join. A job whose URL another
// instance has claimed within the dedupe TTL is Duplicate at once, with
// the other instance's TaskID once its flush has succeeded.
func (r *Redis) Join(ctx context.Context, eventID string, jobs []refresh.Job) ([]refresh.Outcome, error) {
	return r.c.join(ctx, eventID, jobs)
}

func urlKey(k string) string   { return KeyPrefix + "url:" + k }
func eventKey(k string) string { return KeyPrefix + "evt:" + k }
func dirKey(k string) string   { return KeyPrefix + "dir:" + k }

func opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, opTimeout)
}

func (r *Redis) eventDone(ctx context.Context, id string) bool {
	gen, usable := r.h.usable()
	if !usable {
		return false
	}
	var cmd *redis.IntCmd
	r.together.do(ctx, r.rdb, func(ctx context.Context, pipe redis.Pipeliner) {
		cmd = pipe.Exists(ctx, eventKey(id))
	})
	n, err := cmd.Result()
	if err != nil {
		r.fail(ctx, err)
		return false
	}
	r.h.ok(gen)
	return n > 0
}

// A claim's value says whose it is:
//
//	p|<len(eventID)>:<eventID>|<instance>#<n>   pending: an open or flushing window holds the job
//	d|<taskID>                                   done: submitted or spilled, within the dedupe TTL
//
// A redelivery of the event that made a pending claim takes it over, so
// that a crash between claim and flush never turns the redelivery into a
// Duplicate of work that was never done.
//
// A cover's value names when the flush that sent it started (ms since the
// epoch: it carries out changes made by then), its task and its directory:
//
//	c|<ms>|<len(taskID)>:<taskID><directory URL>
//
// Covers are read with plain GETs, one key each, before the claims: a
// script never touches keys of two hash slots.

// claimScript: KEYS[1] the URL key; ARGV[1] the new pending value, ARGV[2]
// its TTL in ms, ARGV[3] the pending prefix of this event ("" for none).
// Returns {1} when claimed, else {0, current value}.
var claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if (not v) or (ARGV[3] ~= '' and string.sub(v, 1, string.len(ARGV[3])) == ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1}
end
return {0, v}
`)

// releaseScript deletes KEYS[1] only while it still holds ARGV[1].
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

func pendingPrefix(eventID string) string {
	return "p|" + strconv.Itoa(len(eventID)) + ":" + eventID + "|"
}

func coverValue(v cover) string {
	return "c|" + strconv.FormatInt(v.at.UnixMilli(), 10) + "|" + strconv.Itoa(len(v.taskID)) + ":" + v.taskID + v.dir
}

// parseCover reads a cover's value (coverValue).
func parseCover(s string) (v cover, ok bool) {
	rest, ok := strings.CutPrefix(s, "c|")
	if !ok {
		return cover{}, false
	}
	ms, rest, ok := strings.Cut(rest, "|")
	if !ok {
		return cover{}, false
	}
	at, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return cover{}, false
	}
	n, rest, ok := strings.Cut(rest, ":")
	if !ok {
		return cover{}, false
	}
	l, err := strconv.Atoi(n)
	if err != nil || l < 0 || l > len(rest) {
		return cover{}, false
	}
	return cover{taskID: rest[:l], dir: rest[l:], at: time.UnixMilli(at)}, true
}

// covered reads the covers that would carry out jobs (coverCandidates):
// one GET for each key, however many jobs share it (the files of a burst
// share their ancestor directories), in one round trip with those of
// concurrent joiners.
func (r *Redis) covered(ctx context.Context, jobs []refresh.Job) []*cover {
	out := make([]*cover, len(jobs))
	cands := make([][]string, len(jobs))
	at := map[string]int{} // key -> its index in keys
	var keys []string
	for i, j := range jobs {
		cands[i] = coverCandidates(j)
		for _, k := range cands[i] {
			if _, ok := at[k]; !ok {
				at[k] = len(keys)
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		return out
	}
	gen, usable := r.h.usable()
	if !usable {
		return out
	}
	cmds := make([]*redis.StringCmd, len(keys))
	r.together.do(ctx, r.rdb, func(ctx context.Context, pipe redis.Pipeliner) {
		for n, k := range keys {
			cmds[n] = pipe.Get(ctx, dirKey(k))
		}
	})
	now := r.c.o.Now()
	var failed error
	covers := make([]*cover, len(keys))
	for n, cmd := range cmds {
		s, err := cmd.Result()
		if err != nil {
			if err != redis.Nil {
				failed = err
			}
			continue
		}
		if v, ok := parseCover(s); ok {
			v.until = now.Add(time.Millisecond) // live: Redis keeps it only while it is
			covers[n] = &v
		}
	}
	for i, ks := range cands {
		for _, k := range ks {
			if v := covers[at[k]]; v != nil && v.carries(jobs[i], now) {
				out[i] = v
				break
			}
		}
	}
	if failed != nil {
		r.fail(ctx, failed)
	} else {
		r.h.ok(gen)
	}
	return out
}

func (r *Redis) claim(ctx context.Context, eventID string, keys []string) []claimed {
	cls := make([]claimed, len(keys))
	for i := range cls {
		cls[i].owned = true // the in-process fallback owns everything
	}
	if len(keys) == 0 {
		return cls
	}
	gen, usable := r.h.usable()
	if !usable {
		return cls
	}
	o := r.c.o
	ttl := o.Duration + pendingNoDeadline
	if d, ok := ctx.Deadline(); ok {
		ttl = d.Sub(o.Now()) + o.Duration
	}
	ttl = max(ttl, o.DedupeTTL, time.Millisecond)
	takeover := ""
	if eventID != "" {
		takeover = pendingPrefix(eventID)
	}
	val := pendingPrefix(eventID) + r.instance + "#" + strconv.FormatUint(r.seq.Add(1), 10)

	// Concurrent joiners' claims go out together, one pipeline a round
	// trip: a burst of hundreds of invocations costs a few round trips and
	// connections, not one each (which would wait on the pool and, past
	// opTimeout, fall back to in-process dedupe while Redis is fine).
	cmds := make([]*redis.Cmd, len(keys))
	r.together.do(ctx, r.rdb, func(ctx context.Context, pipe redis.Pipeliner) {
		for i, k := range keys {
			cmds[i] = claimScript.Eval(ctx, pipe, []string{urlKey(k)}, val, ttl.Milliseconds(), takeover)
		}
	})
	var failed error
	for i, cmd := range cmds {
		res, err := cmd.Slice()
		if err == nil && len(res) == 0 {
			err = fmt.Errorf("claim script answered %v", res)
		}
		if err != nil {
			failed = err // owned in-process, not held in Redis
			continue
		}
		if n, _ := res[0].(int64); n == 1 {
			cls[i].val = val
			continue
		}
		cls[i].owned = false
		if len(res) > 1 {
			if v, _ := res[1].(string); strings.HasPrefix(v, "d|") {
				cls[i].taskID = v[2:]
			}
		}
	}
	if failed != nil {
		r.fail(ctx, failed)
	} else {
		r.h.ok(gen)
	}
	return cls
}

// combiner sends the commands of concurrent joiners (their claims, their
// event lookups) in one pipeline: the first to come sends, for itself and
// for all who queued meanwhile, until none wait; the others wait for their
// answers.
type combiner struct {
	mu      sync.Mutex
	queue   []*batchOf
	sending bool
}

// batchOf is one joiner's commands: add puts them on a pipeline (keeping
// its typed commands, answered once done is closed).
type batchOf struct {
	add  func(ctx context.Context, pipe redis.Pipeliner)
	done chan struct{}
}

// do sends add's commands with the others queued, within opTimeout of the
// round trip that carries them, and returns once they are answered.
func (c *combiner) do(ctx context.Context, rdb redis.Cmdable, add func(context.Context, redis.Pipeliner)) {
	b := &batchOf{add: add, done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, b)
	if c.sending {
		c.mu.Unlock()
		<-b.done // the sender answers every batch it takes
		return
	}
	c.sending = true
	for len(c.queue) > 0 {
		batches := c.queue
		c.queue = nil
		c.mu.Unlock()
		// The round trip serves others too: it is not bound to this
		// joiner's context, only to opTimeout.
		octx, cancel := opContext(context.WithoutCancel(ctx))
		pipe := rdb.Pipeline()
		for _, x := range batches {
			x.add(octx, pipe)
		}
		_, _ = pipe.Exec(octx) // errors are read per command
		cancel()
		for _, x := range batches {
			close(x.done)
		}
		c.mu.Lock()
	}
	c.sending = false
	c.mu.Unlock()
}

// fail reports a Redis error, unless it came from the caller's own
// context ending, which says nothing about Redis.
func (r *Redis) fail(ctx context.Context, err error) {
	if ctx.Err() == nil {
		r.h.fail(err)
	}
}

func (r *Redis) settle(ctx context.Context, b *batch) {
	gen, usable := r.h.usable()
	if !usable {
		return
	}
	octx, cancel := opContext(ctx)
	defer cancel()
	pipe := r.rdb.Pipeline()
	n := 0
	// Jobs that a cover carried out at flush time (Duplicate) have their
	// claims released below: the cover key answers later copies.
	for k, v := range b.covers {
		pipe.Set(octx, dirKey(k), coverValue(v), r.c.o.DedupeTTL)
		n++
	}
	for i, k := range b.keys {
		if b.err == nil && b.outs != nil && marks(b.outs[i].Status) {
			pipe.Set(octx, urlKey(k), "d|"+b.outs[i].TaskID, r.c.o.DedupeTTL)
			n++
			continue
		}
		if b.claims[i] != "" {
			releaseScript.Eval(octx, pipe, []string{urlKey(k)}, b.claims[i])
			n++
		}
	}
	if n == 0 {
		return
	}
	if _, err := pipe.Exec(octx); err != nil {
		r.h.fail(err)
		return
	}
	r.h.ok(gen)
}

func (r *Redis) release(ctx context.Context, keys, vals []string) {
	if _, usable := r.h.usable(); !usable {
		return
	}
	octx, cancel := opContext(ctx)
	defer cancel()
	pipe := r.rdb.Pipeline()
	for i, k := range keys {
		releaseScript.Eval(octx, pipe, []string{urlKey(k)}, vals[i])
	}
	if _, err := pipe.Exec(octx); err != nil {
		r.h.fail(err)
	}
}

func (r *Redis) markEvent(ctx context.Context, id string) {
	gen, usable := r.h.usable()
	if !usable {
		return
	}
	octx, cancel := opContext(ctx)
	defer cancel()
	if err := r.rdb.Set(octx, eventKey(id), "1", r.c.o.EventTTL).Err(); err != nil {
		r.h.fail(err)
		return
	}
	r.h.ok(gen)
}

// health tracks whether Redis is usable. After an error it is left alone
// for retryEvery, then one caller probes it again. A warning is logged once
// per outage and a notice when Redis answers again.
type health struct {
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	down    bool
	retryAt time.Time
	gen     uint64 // counts failures: only an operation begun after the last one proves Redis back
}

// healths holds one health per Redis client: the window and the limiter
// of an instance share it, so that an outage is noticed, logged and
// retried once for both.
var healths sync.Map // redis.Cmdable -> *health

// healthOf returns the health of client c; the first caller's logger and
// clock are its.
func healthOf(c redis.Cmdable, log *slog.Logger, now func() time.Time) *health {
	if h, ok := healths.Load(c); ok {
		return h.(*health)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	h, _ := healths.LoadOrStore(c, &health{log: log, now: now})
	return h.(*health)
}

// usable reports whether Redis should be tried now, and the generation to
// hand to ok when the operation succeeds.
func (h *health) usable() (gen uint64, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down {
		return h.gen, true
	}
	now := h.now()
	if now.Before(h.retryAt) {
		return h.gen, false
	}
	h.retryAt = now.Add(retryEvery) // one probe at a time
	return h.gen, true
}

func (h *health) fail(err error) {
	if errors.Is(err, context.Canceled) {
		return // the caller gave up; says nothing about Redis
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.retryAt = h.now().Add(retryEvery)
	h.gen++
	if h.down {
		return
	}
	h.down = true
	h.log.Warn("redis unreachable: dedupe, event ids and the rate budget are kept per instance until it is back",
		"mode", "in-process", "error", err)
}

// ok records that an operation begun at generation gen succeeded. One
// begun before the last failure proves nothing (it may have been answered
// just before Redis went away).
func (h *health) ok(gen uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down && gen == h.gen {
		h.down = false
		h.log.Info("redis reachable again: dedupe, event ids and the rate budget are shared again", "mode", "shared")
	}
}

func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
