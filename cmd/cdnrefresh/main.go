// Command cdnrefresh is the operator's tool for cdnrefresh: run the local
// CDN/OSS emulators, dry-run the plan for an event, refresh or prefetch a
// list of URLs by hand, print the quota report, and run the demo.
//
//	cdnrefresh plan --config FILE --event FILE
//	cdnrefresh emulator [--addr 127.0.0.1:8765] [--oss-addr 127.0.0.1:8766]
//	cdnrefresh refresh --config FILE [--prefetch] [--type file] [--force] < urls.txt
//	cdnrefresh report --config FILE [--send] [--drain]
//	cdnrefresh demo --function bin/oss-refresh --config events/config.yaml --events events
//	cdnrefresh package -o dist/fc/oss-refresh.zip bootstrap=FILE config.yaml=FILE
//	cdnrefresh deploy-check [--root .] [--config config.yaml]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand.
type command struct {
	name, usage string
	run         func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"plan", "dry-run: print the API calls an event would cause, as JSON (no network)", runPlan},
		{"emulator", "serve the local CDN/DCDN API emulator (and an OSS emulator)", runEmulator},
		{"serve", "serve the webhook function locally over plain HTTP (serve webhook)", runServe},
		{"refresh", "refresh or prefetch the URLs read from stdin or --file, with progress", runRefresh},
		{"report", "print remaining quota, failed tasks and the spill backlog", runReport},
		{"demo", "run oss-refresh on the events/ samples over FC's protocol against the emulator", runDemo},
		{"package", "write a function's zip from NAME=FILE entries, reproducibly (make package)", runPackage},
		{"deploy-check", "check s.yaml, template.yml, deploy/ros.yaml and the config offline; print what a deploy creates", runDeployCheck},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// errUsage marks an error whose message is the usage text.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdin, stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		default:
			fmt.Fprintf(stderr, "cdnrefresh %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "cdnrefresh: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: cdnrefresh COMMAND [flags]   (cdnrefresh COMMAND -h for its flags)")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.usage)
	}
}

// newFlags returns a flag set that reports errors as usage errors.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("cdnrefresh "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses args, turning flag errors into errUsage.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %q\n", fs.Args())
		return errUsage
	}
	return nil
}
