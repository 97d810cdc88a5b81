package app

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/cdnrefresh/cdnrefresh/internal/config"
	"github.com/cdnrefresh/cdnrefresh/internal/platform"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// Main is the body of every function's main: it loads the config from the
// environment, assembles the App, and serves what serve returns on the
// platform it finds itself on. A bad config fails the cold start, visibly
// in the logs. It returns the process exit code.
func Main(name string, serve func(*App) (platform.Handlers, error)) int {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", name)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		logger.Error("cold start: bad config", "error", err)
		return 1
	}
	if cfg.Spill.OSS == nil && (os.Getenv("FC_FUNCTION_NAME") != "" || os.Getenv("AWS_LAMBDA_FUNCTION_NAME") != "") {
		// A local directory dies with the instance and is not the report
		// function's: spilled work would never be replayed (unless it is a
		// shared NAS/EFS mount).
		logger.Warn("spill.dir is local to this instance: use spill.oss (or a shared NAS mount) so that the report function can replay what is spilled", "dir", cfg.Spill.Dir)
	}
	a, err := New(ctx, cfg, Options{Logger: logger, InstanceID: os.Getenv("FC_INSTANCE_ID")})
	if err != nil {
		logger.Error("cold start: assemble", "error", err)
		return 1
	}
	defer a.Close()
	h, err := serve(a)
	if err != nil {
		logger.Error("cold start", "error", err)
		return 1
	}
	h.Logger = logger
	check := newSelfCheck(a, logger)
	if !cfg.Credentials.Empty() {
		check.start(ctx)
	}
	if err := platform.Start(ctx, os.Getenv, check.wrap(h)); err != nil {
		logger.Error("serve", "error", err)
		return 1
	}
	return 0
}

// LogReport writes the one log line of an invocation: the same counts as
// its answer.
func LogReport(ctx context.Context, msg string, r refresh.Report, err error) {
	attrs := []any{
		"changes", r.Changes, "ignored", r.Ignored, "submitted", r.Submitted,
		"duplicate", r.Duplicate, "spilled", r.Spilled, "rejected", r.Rejected,
		"tasks", r.Tasks,
	}
	if len(r.SpilledBy) > 0 {
		attrs = append(attrs, "spilled_by", r.SpilledBy)
	}
	if len(r.RejectedBy) > 0 {
		attrs = append(attrs, "rejected_by", r.RejectedBy)
	}
	log := platform.Logger(ctx)
	switch {
	case err != nil:
		log.Error(msg, append(attrs, "error", err)...)
	case r.Submitted == 0 && r.Duplicate == 0 && r.Spilled > 0:
		// Nothing went through: the API, the credentials or the quota is
		// in the way. The reasons say which.
		log.Warn(msg, attrs...)
	default:
		log.Info(msg, attrs...)
	}
}
