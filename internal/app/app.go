// Package app assembles the parts of cdnrefresh — rules, limiter, CDN
// client, spill store, planner, window — into one refresh.Pipeline from a
// validated config. The three functions and the CLI share it, so that every
// entry point runs the same flow.
package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/alicdn"
	"github.com/cdnrefresh/cdnrefresh/internal/config"
	"github.com/cdnrefresh/cdnrefresh/internal/notify"
	"github.com/cdnrefresh/cdnrefresh/internal/plan"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/report"
	"github.com/cdnrefresh/cdnrefresh/internal/spill"
	"github.com/cdnrefresh/cdnrefresh/internal/urlmap"
	"github.com/cdnrefresh/cdnrefresh/internal/window"
	"github.com/cdnrefresh/cdnrefresh/internal/window/redisconn"
)

// Options are what the caller adds to the config.
type Options struct {
	Logger     *slog.Logger     // default: discard
	Now        func() time.Time // default time.Now
	InstanceID string           // names this instance in the shared window; default random
	// Sleep and After replace real waiting in tests (rate limiter, retry
	// backoff, window timer).
	Sleep func(ctx context.Context, d time.Duration) error
	After func(d time.Duration) <-chan time.Time
}

// App is an assembled cdnrefresh.
type App struct {
	Config   *config.Config
	Rules    *urlmap.Rules
	CDN      *alicdn.Client
	Spill    *spill.Store
	Ledger   *spill.Ledger
	Planner  plan.Planner
	Pipeline *refresh.Pipeline
	Logger   *slog.Logger

	now   func() time.Time
	redis *redisconn.Conn
}

// New assembles an App from cfg.
func New(ctx context.Context, cfg *config.Config, o Options) (*App, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	a := &App{Config: cfg, Logger: o.Logger, now: o.Now}
	var err error
	if a.Rules, err = urlmap.Compile(cfg.Rules); err != nil {
		return nil, err
	}
	wopts := window.Options{
		Duration:  cfg.Window.Duration,
		Quiet:     cfg.Window.Quiet,
		DedupeTTL: cfg.Window.DedupeTTL,
		EventTTL:  cfg.Window.EventTTL,
		MaxBatch:  cfg.Window.MaxBatch,
		Now:       o.Now,
		After:     o.After,
		Logger:    o.Logger,
	}
	if cfg.Window.RedisURL != "" {
		if a.redis, err = redisconn.Dial(cfg.Window.RedisURL); err != nil {
			return nil, err
		}
	}
	if a.CDN, err = NewCDN(cfg, a.redis, o); err != nil {
		return nil, err
	}
	if a.Spill, err = newSpill(cfg); err != nil {
		return nil, err
	}
	a.Planner = NewPlanner(cfg, o.Now)
	a.Planner.DomainSpent = a.CDN.Spent
	if a.Ledger, err = a.Spill.Ledger(o.Now); err != nil {
		return nil, err
	}
	retry := cfg.Tasks.RetryFailed
	if retry == 0 {
		retry = -1 // never
	}
	a.Pipeline, err = refresh.NewPipeline(refresh.Options{
		Mapper:    NewMapper(cfg, a.Rules),
		Planner:   a.Planner,
		Submitter: a.CDN,
		Spiller:   a.Spill,
		Quota:     a.CDN.Remaining,
		Accepted:  a.CDN.Accepted,
		Ledger:    a.Ledger,
		LedgerError: func(err error) {
			o.Logger.Warn("a ticket of accepted calls was not recorded: their tasks are not followed", "error", err)
		},
		Tasks:         a.CDN.TasksByID,
		RetryFailed:   retry,
		PrefetchAfter: cfg.Tasks.PrefetchAfter,
		Now:           o.Now,
		Window: func(flush refresh.FlushFunc) refresh.Window {
			if a.redis != nil {
				w, err := window.NewRedis(ctx, wopts, a.redis.Cmd, o.InstanceID, flush)
				if err == nil {
					return w
				}
				o.Logger.Warn("shared window unavailable; coalescing in-process only", "error", err)
			}
			return window.NewLocal(wopts, flush)
		},
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// NewPlanner returns the planner cfg describes; now (default time.Now)
// tells how much of the quota day is gone.
func NewPlanner(cfg *config.Config, now func() time.Time) plan.Planner {
	if now == nil {
		now = time.Now
	}
	return plan.Planner{
		Limits:              plan.DefaultLimits().CapPaths(cfg.Limits.DomainURLsPerMinute),
		Reserve:             refresh.Quota{URL: cfg.Limits.QuotaReserve},
		CollapseThreshold:   cfg.Limits.DirCollapseThreshold.Threshold(plan.CollapseAuto),
		DirReserve:          cfg.Limits.DirReserve,
		CollapseMaxDepth:    cfg.Limits.CollapseMaxDepth,
		DomainURLsPerMinute: cfg.Limits.DomainURLsPerMinute,
		MaxWait:             cfg.Window.MaxWait,
		DayElapsed:          cfg.Limits.DayClock(now),
	}
}

// NewMapper returns the mapper of cfg: its compiled rules, which never act
// on the functions' own spill objects (spill.Guard).
func NewMapper(cfg *config.Config, rules *urlmap.Rules) refresh.Mapper {
	if o := cfg.Spill.OSS; o != nil {
		return spill.Guard(rules, o.Bucket, o.Prefix)
	}
	return rules
}

// NewCDN returns the CDN and DCDN client of cfg, paced by cfg's limits:
// for every instance at once through rdb, or in process when rdb is nil.
// Of o the clock (Now, After, Sleep) and Logger are used. New builds the
// App's client with it; the CLI builds its own pipeline around one.
func NewCDN(cfg *config.Config, rdb *redisconn.Conn, o Options) (*alicdn.Client, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	limiter, err := newLimiter(cfg, rdb, window.Options{Now: o.Now, After: o.After, Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	zone, err := cfg.Limits.Location()
	if err != nil {
		return nil, err
	}
	return alicdn.New(alicdn.Config{
		Endpoint:    cfg.Endpoints.CDN,
		Region:      cfg.CDN.Region,
		Credentials: cfg.Credentials,
		Limiter:     limiter,
		Sleep:       o.Sleep,
		Now:         o.Now,
		QuotaZone:   zone,
	})
}

func newLimiter(cfg *config.Config, rdb *redisconn.Conn, wopts window.Options) (refresh.Limiter, error) {
	l := window.Limits{QPS: cfg.Limits.QPS(), URLsPerMinute: cfg.Limits.DomainURLsPerMinute}
	if rdb != nil {
		return window.NewRedisLimiter(rdb.Cmd, l, wopts)
	}
	return window.NewLocalLimiter(l, wopts)
}

func newSpill(cfg *config.Config) (*spill.Store, error) {
	if o := cfg.Spill.OSS; o != nil {
		// Each write signs with the invocation's own STS token when it has
		// one, so that a long-lived instance never spills with an expired one.
		return spill.NewOSS(cfg.Endpoints.OSS, o.Bucket, o.Prefix, cfg.Credentials)
	}
	return spill.NewFiles(cfg.Spill.Dir)
}

// Close cuts short the flushes still in flight (refresh.Pipeline.Stop),
// waits for them to spill what is left, and releases the shared-window
// connection.
func (a *App) Close() error {
	a.Pipeline.Stop()
	if a.redis != nil {
		return a.redis.Close()
	}
	return nil
}

// Drain replays spilled work (refresh.Pipeline.Drain) within today's
// quota less limits.quota_reserve: at most limit jobs, 0 meaning
// refresh.DefaultDrainLimit.
func (a *App) Drain(ctx context.Context, limit int) (refresh.Drained, error) {
	d, err := a.Pipeline.Drain(ctx, a.Spill, limit, a.Config.Limits.QuotaReserve)
	if cerr := a.Ledger.Compact(ctx); cerr != nil {
		d.Notes = append(d.Notes, "the task ledger was not compacted: "+cerr.Error())
	}
	return d, err
}

// Reporter returns the report function's runner: drain, gather, send.
func (a *App) Reporter() report.Runner {
	loc, err := a.Config.Limits.Location()
	if err != nil {
		loc = time.UTC
	}
	return report.Runner{
		Gatherer: report.Gatherer{
			API:       a.CDN,
			Providers: a.Config.Providers(),
			Backlog: func(ctx context.Context) (report.SpillStats, error) {
				st, err := a.Spill.Stats(ctx)
				return report.SpillStats(st), err
			},
			Tickets: a.Ledger.Tickets,
			Policy:  a.Policy(),
			Now:     a.now,
			Zone:    loc,
		},
		Drain: a.Drain,
		Marks: a.Spill,
	}
}

// Policy is the report policy of the config: report.when, and
// report.quota_threshold for the URL, directory and prefetch quotas.
func (a *App) Policy() report.Policy {
	t := a.Config.Report.QuotaThreshold
	return report.UniformPolicy(a.Config.Report.When, report.NewThreshold(t.Value, t.Percent))
}

// Channels builds the notification channels of the config. Functions call
// it at cold start, so that a bad channel fails there.
func (a *App) Channels() ([]report.Sender, error) {
	if err := a.Config.Notify.Check(); err != nil {
		return nil, err
	}
	cfg := make([]notify.ChannelConfig, len(a.Config.Notify.Channels))
	for i, c := range a.Config.Notify.Channels {
		cfg[i] = notify.ChannelConfig{Type: string(c.Type), URL: c.URL, Secret: c.Secret, Name: c.Name}
	}
	return notify.New(cfg, nil, nil)
}

// ReplayCache is where the webhook remembers the signatures it accepted:
// Redis when the window is shared (so that a request replayed to another
// instance is refused too), else nil, which means the webhook's in-memory
// cache.
func (a *App) ReplayCache() *window.Replay {
	if a.redis == nil {
		return nil
	}
	return window.NewReplay(a.redis.Cmd)
}
