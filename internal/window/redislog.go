package window

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"
)

// LogRedisTo sends go-redis's own log lines (a failed dial, a connection
// dropped by the pool) to log as JSON records at WARN, in place of its
// default plain lines on stderr. go-redis has one logger per process, so
// Main installs it once.
func LogRedisTo(log *slog.Logger) {
	redis.SetLogger(redisLog{log})
}

// redisLog adapts a *slog.Logger to go-redis's logger.
type redisLog struct{ log *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	msg := strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: ")
	r.log.WarnContext(ctx, "go-redis: "+msg, "source", "go-redis")
}
