package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/config"
	"github.com/cdnrefresh/cdnrefresh/internal/plan"
	"github.com/cdnrefresh/cdnrefresh/internal/trigger"
	"github.com/cdnrefresh/cdnrefresh/internal/urlmap"
)

func runPlan(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("plan", stderr)
	cfgFile := fs.String("config", "", "config `FILE` (YAML)")
	eventFile := fs.String("event", "", "event `FILE`: an OSS trigger or S3 event (JSON)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *cfgFile == "" || *eventFile == "" {
		fmt.Fprintln(stderr, "cdnrefresh plan: --config and --event are required")
		fs.Usage()
		return errUsage
	}
	cfg, err := loadConfig(*cfgFile)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(*eventFile)
	if err != nil {
		return err
	}
	ev, err := trigger.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", *eventFile, err)
	}
	rules, err := urlmap.Compile(cfg.Rules)
	if err != nil {
		return exit(exitUsage, err)
	}
	d := plan.PreviewEvent(ev, app.NewMapper(cfg, rules), app.NewPlanner(cfg, nil))
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(d)
}

// loadConfig reads a config file with the process environment for ${NAME}.
// A named file is the one source: CDNREFRESH_CONFIG_YAML is not read. A
// config that cannot be read or is not valid exits 2.
func loadConfig(name string) (*config.Config, error) {
	getenv := func(k string) string {
		switch {
		case k == config.EnvConfig:
			return name
		case k == config.EnvConfigYAML && name != "":
			return ""
		}
		return os.Getenv(k)
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return nil, exit(exitUsage, err)
	}
	return cfg, nil
}

// openApp assembles the App described by a config file, as the functions
// do, with credentials and endpoints from the process environment, on clk.
func openApp(ctx context.Context, name string, clk clock) (*app.App, error) {
	cfg, err := loadConfig(name)
	if err != nil {
		return nil, err
	}
	return app.New(ctx, cfg, clk.options())
}
