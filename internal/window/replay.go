package window

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// Replay is a set of keys that expire, shared by every instance through
// Redis (SET NX PX): the webhook remembers there the signatures it
// accepted, so that a request replayed to another instance is refused too.
// It implements webhook.ReplayCache.
type Replay struct{ c redis.Cmdable }

// NewReplay returns a Replay kept in c.
func NewReplay(c redis.Cmdable) *Replay { return &Replay{c} }

const replayPrefix = KeyPrefix + "webhook:"

// SeenBefore records key for ttl and reports whether it was already there.
func (r *Replay) SeenBefore(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ctx, cancel := opContext(ctx)
	defer cancel()
	ok, err := r.c.SetNX(ctx, replayPrefix+key, 1, ttl).Result()
	return !ok, err
}

// Forget removes key.
func (r *Replay) Forget(ctx context.Context, key string) error {
	ctx, cancel := opContext(ctx)
	defer cancel()
	return r.c.Del(ctx, replayPrefix+key).Err()
}
