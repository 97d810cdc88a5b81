package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/alicdn"
	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/config"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/window/redisconn"
)

// clock is the time the API commands keep: the limiter's pacing, the
// retry backoff and the task polling all wait on it. Tests give a fake one
// (apptest.Clock) that the emulator shares, so that minutes pass at once.
// A nil sleep is the client's own timer.
type clock struct {
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
	sleep func(context.Context, time.Duration) error
}

// realClock is the time of the world.
var realClock = clock{now: time.Now, after: time.After}

// options are the App options of the clock.
func (c clock) options() app.Options {
	return app.Options{Now: c.now, After: c.after, Sleep: c.sleep}
}

// cliDomain is the domain of the rule the CLI makes when it has no config
// and no URLs to take domains from (quota, tasks, wait): a name reserved
// never to exist (RFC 2606), since such a rule only carries the defaults.
const cliDomain = "cdnrefresh.invalid"

// loadCLIConfig returns the config a command works with: the file named
// by --config (its rules' domains are then the only ones refreshed, and
// its limits apply), or else the defaults with one rule naming domains,
// so that URLs and credentials are enough. Either way endpoints, Redis and
// credentials come from the environment, and credentials from the Alibaba
// Cloud CLI's profile when the environment has none or --profile names
// one. A problem is a usage error (exit 2).
func loadCLIConfig(file, profile string, domains []string) (*config.Config, error) {
	getenv, err := credentialsEnv(os.Getenv, profile)
	if err != nil {
		return nil, exit(exitUsage, err)
	}
	var cfg *config.Config
	if file != "" {
		cfg, err = config.FromEnv(func(k string) string {
			if k == config.EnvConfig {
				return file
			}
			return getenv(k)
		})
	} else {
		cfg, err = config.Parse(rulesFor(domains), getenv)
	}
	if err != nil {
		return nil, exit(exitUsage, err)
	}
	return cfg, nil
}

// rulesFor returns a config document (YAML takes JSON) with one rule for
// the valid domains among domains, or for cliDomain when there are none.
func rulesFor(domains []string) []byte {
	var ok []string
	for _, d := range domains {
		if refresh.CheckHost(d) == nil && !slices.Contains(ok, d) {
			ok = append(ok, d)
		}
	}
	if len(ok) == 0 {
		ok = []string{cliDomain}
	}
	doc, _ := json.Marshal(map[string]any{"rules": []map[string]any{{"bucket": "cli", "domains": ok}}}) // strings: cannot fail
	return doc
}

// openCDN returns the CDN and DCDN client of cfg on clk, paced as the
// functions are: through Redis when window.redis_url (or
// CDNREFRESH_REDIS_URL) is set, so that the CLI and the functions share
// the account's budget, else in process. Close releases Redis.
func openCDN(cfg *config.Config, clk clock) (*alicdn.Client, func(), error) {
	var rdb *redisconn.Conn
	if cfg.Window.RedisURL != "" {
		var err error
		if rdb, err = redisconn.Dial(cfg.Window.RedisURL); err != nil {
			return nil, nil, exit(exitUsage, err)
		}
	}
	c, err := app.NewCDN(cfg, rdb, clk.options())
	if err != nil {
		if rdb != nil {
			rdb.Close()
		}
		return nil, nil, exit(exitUsage, err)
	}
	return c, func() {
		if rdb != nil {
			rdb.Close()
		}
	}, nil
}

// noCredentials says how to give credentials; exit 3.
var noCredentials = exit(exitNothing, errors.New("no credentials: set "+config.EnvAccessKeyID+" and "+config.EnvAccessKeySecret+
	" (and "+config.EnvSecurityToken+" for an STS token), or configure the Alibaba Cloud CLI (aliyun configure) and name its profile with --profile"))

// providersFlag parses --provider: cdn, dcdn or both ("" is def).
func providersFlag(v string, def []refresh.Provider) ([]refresh.Provider, error) {
	switch strings.ToLower(v) {
	case "":
		return def, nil
	case "cdn":
		return []refresh.Provider{refresh.CDN}, nil
	case "dcdn":
		return []refresh.Provider{refresh.DCDN}, nil
	case "both":
		return []refresh.Provider{refresh.CDN, refresh.DCDN}, nil
	}
	return nil, fmt.Errorf("--provider %q is not cdn, dcdn or both", v)
}

// absPath returns name made absolute, for printing.
func absPath(name string) string {
	if a, err := filepath.Abs(name); err == nil {
		return a
	}
	return name
}
