package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
)

// runServe serves a function's HTTP handler locally over plain HTTP, for
// trying it: `cdnrefresh serve webhook` answers the webhook's routes
// exactly as the deployed function does (the same handler,
// app.WebhookHandler), with the config, credentials and endpoints taken
// from the flags and the process environment.
func runServe(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "webhook" {
		fmt.Fprintln(stderr, "usage: cdnrefresh serve webhook --config FILE [--addr 127.0.0.1:8080]")
		return errUsage
	}
	fs := newFlags("serve webhook", stderr)
	cfgFile := fs.String("config", "", "config `FILE` (YAML)")
	addr := fs.String("addr", "127.0.0.1:8080", "`HOST:PORT` to listen on (plain HTTP)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *cfgFile == "" {
		fmt.Fprintln(stderr, "cdnrefresh serve webhook: --config is required")
		return errUsage
	}
	cfg, err := loadConfig(*cfgFile)
	if err != nil {
		return err
	}
	// The function's JSON log, on stderr: stdout is for the address.
	logger := slog.New(slog.NewJSONHandler(stderr, nil)).With("function", "webhook")
	a, err := app.New(ctx, cfg, app.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer a.Close() // after the server stops: spills what is still in flight
	h, err := a.WebhookHandler()
	if err != nil {
		return exit(exitUsage, err) // the webhook section: a secret unset, say
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	fmt.Fprintf(stdout, "  routes: POST /refresh, POST /hooks/{github,strapi,contentful,sanity,ghost,wordpress}, GET /healthz\n")
	return serve(ctx, ln, h)
}
