package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// checkTime bounds the self-check.
const checkTime = 30 * time.Second

// selfCheck proves, once per instance, what invocations will need: the
// credentials and the CDN API (DescribeRefreshQuota), the spill store
// (a write), Redis when named (PING). Each problem is logged once at
// ERROR with its cause and what to set, so that a broken deployment says
// so before its backlog grows. Main runs it on the first invocation,
// whose credentials FC passes with it, or at cold start when the
// environment holds credentials (platform.OnFirst).
type selfCheck struct {
	a   *App
	log *slog.Logger
}

// run checks within checkTime.
func (c selfCheck) run(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, checkTime)
	defer cancel()
	c.check(ctx)
}

func (c selfCheck) check(ctx context.Context) {
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
		if err := c.a.redis.Cmd.Ping(ctx).Err(); err != nil {
			fail("redis", fmt.Errorf("redis at %s: %w (check CDNREFRESH_REDIS_URL and the network; until it answers, dedupe and the rate budget are per instance)", c.a.redis.Addr, err))
		}
	}
	if len(problems) == 0 {
		c.log.Info("self-check passed: CDN API, spill store" + map[bool]string{true: ", redis", false: ""}[c.a.redis != nil])
	}
}
