package app

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// ReplayCache is where the webhook remembers the signatures it accepted:
// Redis when the window is shared (so that a request replayed to another
// instance is refused too), else nil, which means the webhook's in-memory
// cache. Its methods match webhook.ReplayCache.
func (a *App) ReplayCache() interface {
	SeenBefore(ctx context.Context, key string, ttl time.Duration) (bool, error)
	Forget(ctx context.Context, key string) error
} {
	if a.redis == nil {
		return nil
	}
	return redisReplay{a.redis}
}

// redisReplay keeps replay keys in Redis with SET NX PX.
type redisReplay struct{ c *redis.Client }

const replayPrefix = "cdnrefresh:webhook:"

func (r redisReplay) SeenBefore(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ok, err := r.c.SetNX(ctx, replayPrefix+key, 1, ttl).Result()
	return !ok, err
}

func (r redisReplay) Forget(ctx context.Context, key string) error {
	return r.c.Del(ctx, replayPrefix+key).Err()
}
