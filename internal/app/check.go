package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/platform"
)

// checkTime bounds the self-check.
const checkTime = 30 * time.Second

// selfCheck proves, once per instance, what invocations will need: the
// credentials and the CDN API (DescribeRefreshQuota), the spill store
// (a write), Redis when named (PING). Each problem is logged once at
// ERROR with its cause and what to set, so that a broken deployment says
// so before its backlog grows. It runs on the first invocation, whose
// credentials FC passes with it, or at cold start when the environment
// holds credentials; it never delays an invocation.
type selfCheck struct {
	a    *App
	log  *slog.Logger
	once sync.Once
	done chan struct{} // closed when the check has run
}

func newSelfCheck(a *App, log *slog.Logger) *selfCheck {
	return &selfCheck{a: a, log: log, done: make(chan struct{})}
}

// start runs the check in the background, the first time only, with the
// values (credentials) of ctx.
func (c *selfCheck) start(ctx context.Context) {
	c.once.Do(func() {
		go func() {
			defer close(c.done)
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkTime)
			defer cancel()
			c.check(ctx)
		}()
	})
}

func (c *selfCheck) check(ctx context.Context) {
	var problems []string
	fail := func(part string, err error) {
		problems = append(problems, part)
		c.log.Error("self-check: "+part+" is not usable", "error", err)
	}
	if err := c.a.CDN.Check(ctx); err != nil {
		fail("CDN API", err)
	}
	if err := c.a.Spill.Check(ctx); err != nil {
		fail("spill store", err)
	}
	if c.a.redis != nil {
		if err := c.a.redis.Ping(ctx).Err(); err != nil {
			fail("redis", fmt.Errorf("redis at %s: %w (check CDNREFRESH_REDIS_URL and the network; until it answers, dedupe and the rate budget are per instance)", c.a.redis.Options().Addr, err))
		}
	}
	if len(problems) == 0 {
		c.log.Info("self-check passed: CDN API, spill store" + map[bool]string{true: ", redis", false: ""}[c.a.redis != nil])
	}
}

// wrap starts the check on h's first invocation.
func (c *selfCheck) wrap(h platform.Handlers) platform.Handlers {
	if ev := h.Event; ev != nil {
		h.Event = func(ctx context.Context, raw []byte) (any, error) {
			c.start(ctx)
			return ev(ctx, raw)
		}
	}
	if hh := h.HTTP; hh != nil {
		h.HTTP = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.start(r.Context())
			hh.ServeHTTP(w, r)
		})
	}
	return h
}
