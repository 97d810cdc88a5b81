package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cdnrefresh/cdnrefresh/internal/config"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/schollz/progressbar/v3"
)

// refreshChunk is how many URLs one pipeline run carries: a full refresh
// call's worth, so that the progress bar moves once per call.
const refreshChunk = 1000

func runRefresh(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("refresh", stderr)
	cfgFile := fs.String("config", "", "config `FILE` (YAML): only domains its rules name may be refreshed")
	file := fs.String("file", "", "read URLs from `FILE` (one per line) instead of stdin")
	prefetch := fs.Bool("prefetch", false, "prefetch (warm) instead of refresh")
	both := fs.Bool("both", false, "refresh, then prefetch")
	typ := fs.String("type", "file", "refresh type: file | directory | regex | ignore_params")
	force := fs.Bool("force", false, "refetch everything in scope (directory, regex, ignore_params)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	kinds := addKindFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := kinds.check(*prefetch); err != nil {
		return err
	}
	if *cfgFile == "" {
		fmt.Fprintln(stderr, "cdnrefresh refresh: --config is required")
		return errUsage
	}
	ot := config.ObjectType(*typ)
	switch ot {
	case config.File, config.Directory, config.Regex, config.IgnoreParams:
	default:
		return fmt.Errorf("--type %q is not one of file, directory, regex, ignore_params", *typ)
	}
	in := stdin
	if *file != "" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	var urls []string
	var err error
	if kinds.needURLs(*file) {
		if urls, err = readURLs(in); err != nil {
			return err
		}
	}
	a, err := openApp(ctx, *cfgFile)
	if err != nil {
		return err
	}
	defer a.Close()

	var actions []refresh.Action
	switch {
	case *both:
		actions = []refresh.Action{refresh.ActionRefresh, refresh.ActionPrefetch}
	case *prefetch:
		actions = []refresh.Action{refresh.ActionPrefetch}
	default:
		actions = []refresh.Action{refresh.ActionRefresh}
	}
	bar := progressbar.NewOptions(len(urls)*len(actions),
		progressbar.OptionSetWriter(stderr), progressbar.OptionSetVisibility(!*quiet),
		progressbar.OptionSetDescription("submitting"), progressbar.OptionShowCount())
	total := refresh.Report{Tasks: []string{}}
	if ev := kinds.tagEvent(*force); len(ev.Changes) > 0 {
		r, err := a.Pipeline.Run(ctx, ev)
		if total.Merge(r); err != nil {
			return errors.Join(printJSON(stdout, total), err)
		}
	}
	for _, act := range actions {
		for i := 0; i < len(urls); i += refreshChunk {
			chunk := urls[i:min(i+refreshChunk, len(urls))]
			ev := refresh.Event{}
			for _, u := range chunk {
				ev.Changes = append(ev.Changes, kinds.apply(refresh.Change{Source: "cli", URL: u, Op: refresh.OpCreate, Action: act, ObjectType: ot.API(), Force: *force}))
			}
			r, err := a.Pipeline.Run(ctx, ev)
			total.Merge(r)
			_ = bar.Add(len(chunk))
			if err != nil {
				_ = bar.Finish()
				printJSON(stdout, total)
				return err
			}
		}
	}
	_ = bar.Finish()
	fmt.Fprintln(stderr)
	return printJSON(stdout, total)
}

// readURLs reads one URL a line; blank lines and # comments are skipped.
func readURLs(r io.Reader) ([]string, error) {
	var urls []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		urls = append(urls, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read URLs: %w", err)
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("no URLs given (one per line on stdin or in --file)")
	}
	return urls, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
