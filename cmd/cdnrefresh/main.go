// Command cdnrefresh is the operator's tool for cdnrefresh: run the local
// CDN/OSS emulators, dry-run the plan for an event, refresh or prefetch a
// list of URLs by hand, print the quota report, and run the demo.
//
//	cdnrefresh plan --config FILE --event FILE
//	cdnrefresh emulator [--addr 127.0.0.1:8765] [--oss-addr 127.0.0.1:8766]
//	cdnrefresh refresh|prefetch [URL ...] [--file FILE | -] [--type file] [--wait] [--json] [--config FILE]
//	cdnrefresh quota [--json]
//	cdnrefresh tasks [--failed] [--since 24h] [--domain D] [--id ID ...]
//	cdnrefresh wait ID ...
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
		{"refresh", "refresh the URLs given, read from --file or stdin, at the API's limits, with progress", runRefresh},
		{"prefetch", "prefetch (warm) the URLs given, as refresh does", runPrefetch},
		{"quota", "print today's remaining CDN and DCDN quota of every kind", runQuota},
		{"tasks", "list refresh and prefetch tasks: failed ones, of a domain, by id", runTasks},
		{"wait", "follow tasks until each is complete or failed", runWait},
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

// Exit codes, the same for every command (usage prints them).
const (
	exitOK      = 0 // everything done
	exitPartial = 1 // some of it not done (each named), or a failure
	exitUsage   = 2 // bad usage, flags or config
	exitNothing = 3 // nothing could be done: no credentials, the API out of reach
)

// exitError ends a command with an exit code other than 1. Its error,
// when set, is printed as any other.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// exit returns an error that ends the command with code after printing
// err (nothing when err is nil).
func exit(code int, err error) error { return &exitError{code: code, err: err} }

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
		return exitCode(c.name, c.run(ctx, args[1:], stdin, stdout, stderr), stderr)
	}
	fmt.Fprintf(stderr, "cdnrefresh: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

// exitCode prints err, if it is to be printed, and returns the exit code
// it stands for.
func exitCode(name string, err error, stderr io.Writer) int {
	var ee *exitError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errUsage):
		return exitUsage
	case errors.As(err, &ee):
		if ee.err != nil {
			fmt.Fprintf(stderr, "cdnrefresh %s: %v\n", name, ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "cdnrefresh %s: %v\n", name, err)
	return exitPartial
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: cdnrefresh COMMAND [flags]   (cdnrefresh COMMAND -h for its flags)")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.usage)
	}
	fmt.Fprint(w, exitCodes)
}

// exitCodes explains the exit codes, in usage and each command's -h.
const exitCodes = `exit codes:
  0  everything done (refresh, prefetch: every URL submitted; with --wait, every task complete)
  1  some of it not done: URLs spilled or rejected (each named, and written to the leftovers
     file, which --file takes back), a task failed, the quota unreadable, a channel failed
  2  usage or config error
  3  nothing could be done: no credentials, refused credentials, the API out of reach
`

// newFlags returns a flag set that reports errors as usage errors.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("cdnrefresh "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseArgs parses args, flags and arguments in any order ("--" ends the
// flags), turning flag errors into errUsage, and returns the arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		left := fs.Args()
		if n := len(args) - len(left); n > 0 && args[n-1] == "--" || len(left) == 0 {
			return append(rest, left...), nil
		}
		rest = append(rest, left[0])
		args = left[1:]
	}
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
