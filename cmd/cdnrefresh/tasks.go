package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/alicdn"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/report"
)

// apiFlags are the flags of the commands that only read the API: quota,
// tasks and wait.
type apiFlags struct {
	config, profile, provider string
	json                      bool
}

func (f *apiFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "config `FILE`: its endpoints, limits and providers")
	fs.StringVar(&f.profile, "profile", "", "credentials of this Alibaba Cloud CLI profile (~/.aliyun/config.json)")
	fs.StringVar(&f.provider, "provider", "", "cdn | dcdn | both (default: the config's providers, else both; wait: cdn)")
	fs.BoolVar(&f.json, "json", false, "print JSON")
}

// open loads the config and opens the API on clk, and returns the
// providers to ask (def when neither --provider nor --config says).
func (f *apiFlags) open(clk clock, def []refresh.Provider) (*alicdn.Client, []refresh.Provider, func(), error) {
	cfg, err := loadCLIConfig(f.config, f.profile, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	if cfg.Credentials.Empty() {
		return nil, nil, nil, noCredentials
	}
	if f.config != "" {
		def = cfg.Providers()
	}
	providers, err := providersFlag(f.provider, def)
	if err != nil {
		return nil, nil, nil, exit(exitUsage, err)
	}
	c, closeCDN, err := openCDN(cfg, clk)
	if err != nil {
		return nil, nil, nil, err
	}
	return c, providers, closeCDN, nil
}

// usageOf prints a command's synopsis, flags and the exit codes.
func usageOf(fs *flag.FlagSet, synopsis, about string) func() {
	return func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: %s\n\n%s\n\n", synopsis, about)
		fs.PrintDefaults()
		fmt.Fprint(w, "\n"+exitCodes)
	}
}

var bothProviders = []refresh.Provider{refresh.CDN, refresh.DCDN}

func runQuota(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	return quota(ctx, realClock, args, stdout, stderr)
}

// quota prints today's quota of every kind, per provider; exit 1 when
// one could not be read.
func quota(ctx context.Context, clk clock, args []string, stdout, stderr io.Writer) error {
	var f apiFlags
	fs := newFlags("quota", stderr)
	f.define(fs)
	fs.Usage = usageOf(fs, "cdnrefresh quota [--provider cdn|dcdn|both] [--json]",
		"Prints what remains today of each daily quota (DescribeRefreshQuota, DescribeDcdnRefreshQuota).")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, providers, closeCDN, err := f.open(clk, bothProviders)
	if err != nil {
		return err
	}
	defer closeCDN()
	read := map[refresh.Provider]refresh.DailyQuota{}
	unread := map[refresh.Provider]string{}
	var errs []error
	for _, p := range providers {
		q, err := c.Quota(ctx, p)
		if err != nil {
			unread[p] = err.Error()
			errs = append(errs, fmt.Errorf("%s quota could not be read: %w", strings.ToUpper(string(p)), err))
			continue
		}
		read[p] = q
	}
	if f.json {
		if err := printJSON(stdout, map[string]any{"quota": read, "unread": unread}); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		for _, p := range providers {
			for _, q := range report.Quotas(p, read[p]) {
				fmt.Fprintf(tw, "%s\t%s\n", q.Name(), q.Left())
			}
		}
		tw.Flush()
	}
	if len(errs) > 0 {
		return exitFor(errors.Join(errs...), len(read) == 0)
	}
	return nil
}

// exitFor ends a command that could not do all it was asked because of
// err: exit 3 when it could do nothing at all (credentials, the API out
// of reach), else 1.
func exitFor(err error, nothing bool) error {
	if nothing {
		return exit(exitNothing, err)
	}
	return exit(exitPartial, err)
}

func runTasks(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	return tasks(ctx, realClock, args, stdout, stderr)
}

// taskTypes are the object types the task list is asked about when it
// filters by status or domain (the API then needs one).
var taskTypes = []string{"file", "directory", "regex", "preload"}

// tasks lists tasks: those of the last --since, optionally only the
// failed ones or one domain's, or the tasks of --id.
func tasks(ctx context.Context, clk clock, args []string, stdout, stderr io.Writer) error {
	var f apiFlags
	fs := newFlags("tasks", stderr)
	f.define(fs)
	failed := fs.Bool("failed", false, "only failed tasks")
	since := fs.Duration("since", 24*time.Hour, "tasks created this far back (the API keeps 72h)")
	domain := fs.String("domain", "", "only tasks of `DOMAIN`")
	var ids idList
	fs.Var(&ids, "id", "the task `ID` (repeat, or separate with commas); the other filters are then ignored")
	fs.Usage = usageOf(fs, "cdnrefresh tasks [--failed] [--since 24h] [--domain D] [--id ID ...] [--json]",
		"Lists refresh and prefetch tasks (DescribeRefreshTasks, DescribeRefreshTaskById), newest first.")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *since <= 0 || *since > report.TaskRetention {
		return exit(exitUsage, fmt.Errorf("--since %v: want a duration up to %v (the API keeps three days)", *since, report.TaskRetention))
	}
	c, providers, closeCDN, err := f.open(clk, bothProviders)
	if err != nil {
		return err
	}
	defer closeCDN()

	var list []report.Task
	total, queries := 0, 0
	var errs []error
	for _, p := range providers {
		if len(ids) > 0 {
			queries++
			got, err := c.TasksByID(ctx, p, ids)
			if err != nil {
				errs = append(errs, fmt.Errorf("read %s tasks: %w", strings.ToUpper(string(p)), err))
			}
			for _, t := range got {
				list = append(list, reportTask(p, t))
			}
			total = len(list)
			continue
		}
		q := refresh.TaskQuery{Domain: *domain, Start: clk.now().Add(-*since), End: clk.now()}
		types := []string{""}
		if *failed || *domain != "" {
			types = taskTypes
		}
		if *failed {
			q.Status = refresh.TaskFailed
		}
		for _, typ := range types {
			queries++
			q.ObjectType = typ
			got, n, err := report.ListTasks(ctx, c, p, q)
			list, total = append(list, got...), total+n
			if err != nil {
				errs = append(errs, fmt.Errorf("list %s tasks: %w", strings.ToUpper(string(p)), err))
			}
		}
	}
	slices.SortStableFunc(list, func(x, y report.Task) int { return y.Created.Compare(x.Created) })
	if f.json {
		err := printJSON(stdout, map[string]any{"tasks": orEmpty(list), "total": total, "truncated": total - len(list)})
		if err != nil {
			return err
		}
	} else {
		printTasks(stdout, list, total)
	}
	if len(errs) > 0 {
		return exitFor(errors.Join(errs...), len(errs) == queries)
	}
	return nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// reportTask is a task record of provider p as the report holds one.
func reportTask(p refresh.Provider, t refresh.Task) report.Task {
	return report.Task{Provider: p, ID: t.ID, URL: t.ObjectPath, ObjectType: t.ObjectType, Status: t.Status, Description: t.Description, Created: t.Created}
}

// printTasks writes tasks as a table, and how many the API has beyond
// them.
func printTasks(w io.Writer, list []report.Task, total int) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tID\tSTATUS\tTYPE\tCREATED\tURL\tREASON")
	for _, t := range list {
		created := ""
		if !t.Created.IsZero() {
			created = t.Created.UTC().Format("2006-01-02 15:04:05Z")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Provider, t.ID, t.Status, t.ObjectType, created, t.URL, t.Description)
	}
	tw.Flush()
	fmt.Fprint(w, plural(len(list), "task"))
	if total > len(list) {
		fmt.Fprintf(w, " of %d (truncated: %d)", total, total-len(list))
	}
	fmt.Fprintln(w)
}

// idList is a flag of task ids: repeated, or separated by commas.
type idList []string

func (l *idList) String() string { return strings.Join(*l, ",") }

func (l *idList) Set(v string) error {
	for _, id := range strings.Split(v, ",") {
		id = strings.TrimSpace(id)
		if _, err := strconv.ParseUint(id, 10, 64); err != nil {
			return fmt.Errorf("task id %q is not a number", id)
		}
		*l = append(*l, id)
	}
	return nil
}

func runWait(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	return waitTasks(ctx, realClock, args, stdout, stderr)
}

// waitTasks follows the tasks named until each is complete or failed.
func waitTasks(ctx context.Context, clk clock, args []string, stdout, stderr io.Writer) error {
	var f apiFlags
	fs := newFlags("wait", stderr)
	f.define(fs)
	timeout := fs.Duration("timeout", 30*time.Minute, "stop following after this long (exit 1)")
	quiet := fs.Bool("quiet", false, "no progress")
	fs.Usage = usageOf(fs, "cdnrefresh wait ID ... [--provider cdn|dcdn] [--timeout 30m]",
		"Follows tasks (DescribeRefreshTaskById) until each is complete or failed; exit 1 if any failed.")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	var ids idList
	for _, a := range rest {
		if err := ids.Set(a); err != nil {
			return exit(exitUsage, err)
		}
	}
	if len(ids) == 0 {
		return exit(exitUsage, errors.New("no task ids given"))
	}
	if f.provider == "" {
		f.provider = string(refresh.CDN)
	}
	if f.provider == "both" {
		return exit(exitUsage, errors.New("--provider: a task id is of one provider: cdn or dcdn"))
	}
	c, providers, closeCDN, err := f.open(clk, nil)
	if err != nil {
		return err
	}
	defer closeCDN()
	refs := make([]taskRef, len(ids))
	for i, id := range ids {
		refs[i] = taskRef{Provider: providers[0], ID: id}
	}
	res, err := follow(ctx, clk, c, refs, *timeout, newProgress(stderr, *quiet, len(refs)))
	if err != nil && len(res.Complete)+len(res.Failed) == 0 {
		return exit(exitNothing, err)
	}
	if err != nil {
		fmt.Fprintf(stderr, "cdnrefresh wait: %v\n", err)
	}
	if f.json {
		if err := printJSON(stdout, res); err != nil {
			return err
		}
	} else {
		printWaited(stdout, res)
	}
	if len(res.Failed)+len(res.Running) > 0 {
		return exit(exitPartial, nil)
	}
	return nil
}

// waitResult is how the tasks followed ended.
type waitResult struct {
	Complete []string     `json:"complete"`
	Failed   []failedTask `json:"failed"`
	Running  []string     `json:"running"` // still running when following stopped
}

// failedTask is a task that failed (or that the API does not know), with
// its failed URLs and their reasons.
type failedTask struct {
	taskRef
	Reasons []string `json:"reasons"` // "URL: reason"
}

// taskPoll is how often follow asks about the tasks not done; it gives up
// after maxPollFailures reads in a row that failed (each already retried
// by the client).
const (
	taskPoll        = 2 * time.Second
	maxPollFailures = 5
)

// taskReader reads tasks by id; *alicdn.Client is one.
type taskReader interface {
	TasksByID(ctx context.Context, p refresh.Provider, ids []string) ([]refresh.Task, error)
}

// follow asks about refs every taskPoll until each is Complete or Failed,
// for at most timeout, showing the tasks done on prog. A task is Failed
// when any of its URLs failed, and when the API does not know it; those
// not done when following stops are Running. The error says why it
// stopped early: ctx ended, or the API could not be asked.
func follow(ctx context.Context, clk clock, api taskReader, refs []taskRef, timeout time.Duration, prog *progress) (*waitResult, error) {
	defer prog.finish()
	res := &waitResult{Complete: []string{}, Failed: []failedTask{}, Running: []string{}}
	open := slices.Clone(refs)
	stop := func(err error) (*waitResult, error) {
		for _, r := range open {
			res.Running = append(res.Running, r.ID)
		}
		return res, err
	}
	deadline := clk.now().Add(timeout)
	failures := 0
	for {
		byProvider := map[refresh.Provider][]string{}
		for _, r := range open {
			byProvider[r.Provider] = append(byProvider[r.Provider], r.ID)
		}
		records := map[taskRef][]refresh.Task{}
		for p, ids := range byProvider {
			got, err := api.TasksByID(ctx, p, ids)
			if err != nil {
				if ctx.Err() != nil {
					return stop(ctx.Err())
				}
				if failures++; failures >= maxPollFailures {
					return stop(fmt.Errorf("read tasks: %w (%d times in a row; giving up)", err, failures))
				}
				prog.note(fmt.Sprintf("read tasks: %v (asking again)", err))
				delete(byProvider, p)
				continue
			}
			failures = 0
			for _, t := range got {
				k := taskRef{Provider: p, ID: t.ID}
				records[k] = append(records[k], t)
			}
		}
		var still []taskRef
		for _, r := range open {
			recs, asked := records[r], byProvider[r.Provider] != nil
			switch status, reasons := taskStatus(recs); {
			case !asked:
				still = append(still, r)
			case len(recs) == 0:
				res.Failed = append(res.Failed, failedTask{taskRef: r, Reasons: []string{"no such task (the API keeps tasks three days)"}})
				prog.advance(1, fmt.Sprintf("task %s: not found", r.ID))
			case status == refresh.TaskComplete:
				res.Complete = append(res.Complete, r.ID)
				prog.advance(1, fmt.Sprintf("task %s: complete (%s) — %s", r.ID, plural(len(recs), "URL"), waitCounts(res, len(refs))))
			case status == refresh.TaskFailed:
				res.Failed = append(res.Failed, failedTask{taskRef: r, Reasons: reasons})
				prog.advance(1, fmt.Sprintf("task %s: failed (%d of %d URLs) — %s", r.ID, len(reasons), len(recs), waitCounts(res, len(refs))))
			default:
				still = append(still, r)
			}
		}
		open = still
		if len(open) == 0 || !clk.now().Before(deadline) {
			return stop(nil)
		}
		select {
		case <-clk.after(taskPoll):
		case <-ctx.Done():
			return stop(ctx.Err())
		}
	}
}

// taskStatus is the state of a task from its records: Failed when it is
// done and one failed (with "URL: reason" for each), Complete when all
// completed, else running.
func taskStatus(recs []refresh.Task) (string, []string) {
	done, failed := refresh.TaskProgress(recs)
	switch {
	case !done:
		return refresh.TaskRefreshing, nil
	case len(failed) > 0:
		reasons := make([]string, len(failed))
		for i, t := range failed {
			reasons[i] = t.ObjectPath + ": " + t.Description
		}
		return refresh.TaskFailed, reasons
	}
	return refresh.TaskComplete, nil
}

func waitCounts(res *waitResult, total int) string {
	return fmt.Sprintf("%d of %d tasks complete, %d failed", len(res.Complete), total, len(res.Failed))
}

// printWaited writes how the followed tasks ended.
func printWaited(w io.Writer, res *waitResult) {
	fmt.Fprintf(w, "tasks: %d complete, %d failed, %d still running\n", len(res.Complete), len(res.Failed), len(res.Running))
	for _, f := range res.Failed {
		for i, r := range f.Reasons {
			if i == maxNamed {
				fmt.Fprintf(w, "  … %d more (truncated: %d)\n", len(f.Reasons)-maxNamed, len(f.Reasons)-maxNamed)
				break
			}
			fmt.Fprintf(w, "  failed task %s: %s\n", f.ID, r)
		}
	}
	for _, id := range res.Running {
		fmt.Fprintf(w, "  still running: task %s\n", id)
	}
}
