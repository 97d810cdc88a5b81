package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/alicdn"
	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/config"
	"github.com/cdnrefresh/cdnrefresh/internal/plan"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/urlmap"
	"golang.org/x/term"
)

func runRefresh(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return refreshURLs(ctx, realClock, refresh.ActionRefresh, args, stdin, stdout, stderr)
}

func runPrefetch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return refreshURLs(ctx, realClock, refresh.ActionPrefetch, args, stdin, stdout, stderr)
}

// refreshOptions are the flags of refresh and prefetch, defined and
// checked in one place.
type refreshOptions struct {
	action    refresh.Action
	prefetch  bool // refresh --prefetch: the older spelling of prefetch
	both      bool
	file      string
	typ       string
	force     bool
	area      string
	provider  string
	wait      bool
	noWait    bool // --both: leave the prefetch, do not wait for the purge
	timeout   time.Duration
	dryRun    bool
	json      bool
	quiet     bool
	config    string
	profile   string
	leftovers string
	kinds     *kindFlags // --tag, --domain, --edge-routine, --query-hashkey
	urls      []string   // the arguments
}

// define puts the flags on fs.
func (o *refreshOptions) define(fs *flag.FlagSet) {
	fs.StringVar(&o.file, "file", "", "read URLs from `FILE`, one a line (- : stdin); # starts a comment")
	fs.StringVar(&o.typ, "type", "file", "refresh type: file | directory | regex | ignore_params")
	fs.BoolVar(&o.force, "force", false, "refetch everything in scope, not only what changed (directory, regex, ignore_params)")
	fs.StringVar(&o.area, "area", "", "prefetch area: domestic | overseas (default: the domain's coverage)")
	fs.StringVar(&o.provider, "provider", "", "cdn | dcdn (default: the rule's with --config, else cdn)")
	fs.BoolVar(&o.wait, "wait", false, "then follow the tasks until each is complete or failed")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "with --wait: stop following after this long")
	fs.BoolVar(&o.dryRun, "dry-run", false, "print the calls that would be made; send nothing")
	fs.BoolVar(&o.json, "json", false, "print the result as JSON")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress")
	fs.StringVar(&o.config, "config", "", "config `FILE`: only its rules' domains are refreshed, and its limits apply")
	fs.StringVar(&o.profile, "profile", "", "credentials of this Alibaba Cloud CLI profile (~/.aliyun/config.json)")
	fs.StringVar(&o.leftovers, "leftovers", "", "write what was not submitted to `FILE` (default: a new cdnrefresh-leftovers-TIME.txt here)")
	if o.action == refresh.ActionRefresh {
		fs.BoolVar(&o.prefetch, "prefetch", false, "prefetch instead of refresh (as cdnrefresh prefetch)")
		fs.BoolVar(&o.both, "both", false, "refresh, then prefetch once the purge is complete (a refresh takes effect minutes after it is sent; the wait shows as progress)")
		fs.BoolVar(&o.noWait, "no-wait", false, "with --both: do not wait for the purge; the prefetches are left over (named, in the leftovers file)")
	}
	o.kinds = addKindFlags(fs)
}

// check reads the flags that have a fixed set of values.
func (o *refreshOptions) check() error {
	switch config.ObjectType(o.typ) {
	case config.File, config.Directory, config.Regex, config.IgnoreParams:
	default:
		return fmt.Errorf("--type %q is not one of file, directory, regex, ignore_params", o.typ)
	}
	switch o.area {
	case "", "domestic", "overseas":
	default:
		return fmt.Errorf("--area %q is not domestic or overseas", o.area)
	}
	switch refresh.Provider(o.provider) {
	case "", refresh.CDN, refresh.DCDN:
	default:
		return fmt.Errorf("--provider %q is not cdn or dcdn", o.provider)
	}
	if o.file != "" && len(o.urls) > 0 {
		return errors.New("give URLs as arguments or with --file, not both")
	}
	return o.kinds.check(o.action == refresh.ActionPrefetch || o.prefetch)
}

// actions are what is done to each URL, in order.
func (o *refreshOptions) actions() []refresh.Action {
	switch {
	case o.both:
		return []refresh.Action{refresh.ActionRefresh, refresh.ActionPrefetch}
	case o.prefetch:
		return []refresh.Action{refresh.ActionPrefetch}
	}
	return []refresh.Action{o.action}
}

func (o *refreshOptions) usage(fs *flag.FlagSet) func() {
	return func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: cdnrefresh %s [URL ...] [--file FILE | -] [flags]\n\n", o.action)
		fmt.Fprintln(w, "URLs come as arguments, from --file, or from stdin. Without --config,")
		fmt.Fprintln(w, "credentials and URLs are enough: any domain of the URLs is refreshed.")
		fmt.Fprintln(w, "The batch is planned at once and sent at the API's limits.")
		fmt.Fprintln(w)
		fs.PrintDefaults()
		fmt.Fprint(w, "\n"+exitCodes)
	}
}

// entry is one URL as the operator gave it: where (line 17, argument 2)
// and its text.
type entry struct {
	where string
	text  string
}

// readEntries returns the URLs of o's arguments, else of its --file, else
// of stdin (but not with --tag): one a line, blank lines skipped, #
// starting a comment at the start of a line or after a space (a leftovers
// file reads back).
func readEntries(o *refreshOptions, stdin io.Reader) ([]entry, error) {
	var out []entry
	if len(o.urls) == 0 && o.kinds != nil && !o.kinds.needURLs(o.file) {
		return nil, nil
	}
	if len(o.urls) > 0 && !(len(o.urls) == 1 && o.urls[0] == "-") {
		for i, u := range o.urls {
			out = append(out, entry{where: "argument " + strconv.Itoa(i+1), text: u})
		}
		return out, nil
	}
	in := stdin
	if f, ok := stdin.(*os.File); ok && o.file == "" && len(o.urls) == 0 && term.IsTerminal(int(f.Fd())) {
		return nil, exit(exitUsage, errors.New("no URLs given: name them as arguments, or give them one a line with --file FILE or on stdin"))
	}
	if o.file != "" && o.file != "-" {
		f, err := os.Open(o.file)
		if err != nil {
			return nil, exit(exitUsage, err)
		}
		defer f.Close()
		in = f
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		if i := strings.Index(line, "\t#"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, entry{where: "line " + strconv.Itoa(n), text: line})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read URLs: %w", err)
	}
	if len(out) == 0 {
		return nil, exit(exitUsage, errors.New("no URLs given (as arguments, one a line in --file, or on stdin)"))
	}
	return out, nil
}

// leftover is a URL (or cache tag) that was not submitted, with why.
type leftover struct {
	Where  string         `json:"where"` // line 17, argument 2, --tag T
	URL    string         `json:"url"`
	Tag    string         `json:"tag,omitempty"` // the cache tag of https://DOMAIN/
	Action refresh.Action `json:"action"`
	Status refresh.Status `json:"status"` // spilled or rejected
	Reason string         `json:"reason"`
}

// taskRef is a task a call was given, with its provider.
type taskRef struct {
	Provider refresh.Provider `json:"provider"`
	ID       string           `json:"id"`
}

// refreshResult is what a run did, printed with --json. The counts are
// of URLs (times actions): every one given is submitted, duplicate,
// spilled or rejected.
type refreshResult struct {
	URLs      int        `json:"urls"`
	Submitted int        `json:"submitted"`
	Duplicate int        `json:"duplicate"`
	Spilled   int        `json:"spilled"`
	Rejected  int        `json:"rejected"`
	Calls     int        `json:"calls"`
	Tasks     []taskRef  `json:"tasks"`
	Leftovers []leftover `json:"leftovers"`
	// LeftoversFile holds the leftovers, one URL a line: feed it back with
	// --file.
	LeftoversFile string      `json:"leftovers_file,omitempty"`
	Waited        *waitResult `json:"waited,omitempty"`
	// Plan is the calls a --dry-run would make.
	Plan []refresh.Call `json:"plan,omitempty"`
}

// refreshURLs is refresh and prefetch on clk.
func refreshURLs(ctx context.Context, clk clock, action refresh.Action, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o := &refreshOptions{action: action}
	fs := newFlags(string(action), stderr)
	o.define(fs)
	fs.Usage = o.usage(fs)
	var err error
	if o.urls, err = parseArgs(fs, args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return exit(exitUsage, err)
	}
	entries, err := readEntries(o, stdin)
	if err != nil {
		return err
	}
	var domains []string
	if d := *o.kinds.domain; d != "" {
		domains = append(domains, d)
	}
	for _, e := range entries {
		if u, err := refresh.CanonicalPattern(e.text); err == nil {
			domains = append(domains, refresh.Host(u))
		}
	}
	cfg, err := loadCLIConfig(o.config, o.profile, domains)
	if err != nil {
		return err
	}
	rules, err := urlmap.Compile(cfg.Rules)
	if err != nil {
		return exit(exitUsage, err)
	}
	mapper := app.NewMapper(cfg, rules)
	planner := app.NewPlanner(cfg, nil)
	if planner.CollapseThreshold == plan.CollapseAuto {
		// An operator names the URLs to refresh, and the command paces
		// them at the physical limit: only a threshold set on purpose
		// collapses them.
		planner.CollapseThreshold = 0
	}
	res, jobs, whereOf := mapEntries(o, entries, mapper)
	switch {
	case o.dryRun:
		res.Plan, _ = planner.Plan(jobs, refresh.NoQuotaLimit)
		res.Plan = orEmpty(res.Plan)
		res.Calls, res.Rejected = len(res.Plan), len(res.Leftovers)
		return finishRefresh(o, res, stdout, stderr, len(jobs))
	case len(jobs) == 0:
		res.Rejected = len(res.Leftovers)
		writeLeftovers(o, &res, clk.now(), stderr)
		return finishRefresh(o, res, stdout, stderr, 0)
	case cfg.Credentials.Empty():
		return noCredentials
	}
	cdn, closeCDN, err := openCDN(cfg, clk)
	if err != nil {
		return err
	}
	defer closeCDN()
	if err := submit(ctx, clk, cdn, mapper, planner, jobs, whereOf, o, &res, stderr); err != nil {
		return err
	}
	if len(res.Leftovers) > 0 {
		writeLeftovers(o, &res, clk.now(), stderr)
	}
	if o.wait && len(res.Tasks) > 0 && ctx.Err() == nil {
		res.Waited, err = follow(ctx, clk, cdn, res.Tasks, o.timeout, newProgress(stderr, o.quiet, len(res.Tasks)))
		if err != nil {
			fmt.Fprintf(stderr, "cdnrefresh %s: following the tasks: %v\n", o.action, err)
		}
	}
	return finishRefresh(o, res, stdout, stderr, len(jobs))
}

// mapEntries turns each --tag, and each entry for each action, into its
// jobs by the rules, once each in canonical spelling: the result counts
// them, the duplicates skipped and the rejected ones (as leftovers);
// whereOf[i] is where jobs[i] came from.
func mapEntries(o *refreshOptions, entries []entry, mapper refresh.Mapper) (res refreshResult, jobs []refresh.Job, whereOf []string) {
	type input struct {
		where string
		c     refresh.Change
	}
	var in []input
	for _, c := range o.kinds.tagEvent(o.force).Changes {
		in = append(in, input{"--tag " + c.Tag, c})
	}
	objectType := config.ObjectType(o.typ).API()
	for _, act := range o.actions() {
		for _, e := range entries {
			c := refresh.Change{Source: "cli", URL: e.text, Op: refresh.OpCreate, Action: act, ObjectType: objectType, Force: o.force}
			in = append(in, input{e.where, o.kinds.apply(c)})
		}
	}
	res = refreshResult{URLs: len(in), Tasks: []taskRef{}, Leftovers: []leftover{}}
	seen := map[string]bool{}
	for _, x := range in {
		js, rejected, why := mapper.Map(x.c)
		if len(js)+len(rejected) == 0 {
			rejected = []refresh.Outcome{{Reason: why}}
		}
		for _, r := range rejected {
			res.Leftovers = append(res.Leftovers, leftover{Where: x.where, URL: x.c.URL, Tag: x.c.Tag, Action: cmp.Or(x.c.Action, refresh.ActionRefresh), Status: refresh.Rejected, Reason: r.Reason})
		}
		for _, j := range js {
			if o.provider != "" {
				j.Provider = refresh.Provider(o.provider)
			}
			if j.Action == refresh.ActionPrefetch && o.area != "" {
				j.Area = o.area
			}
			if seen[j.DedupeKey()] {
				res.Duplicate++
				continue
			}
			seen[j.DedupeKey()] = true
			jobs = append(jobs, j)
			whereOf = append(whereOf, x.where)
		}
	}
	return res, jobs, whereOf
}

// submit carries jobs out in one plan through a pipeline over cdn, with
// progress on stderr, and records in res what became of each: submitted
// (with the calls and tasks), or left over with the reason.
func submit(ctx context.Context, clk clock, cdn *alicdn.Client, mapper refresh.Mapper, planner plan.Planner, jobs []refresh.Job, whereOf []string, o *refreshOptions, res *refreshResult, stderr io.Writer) error {
	prog := newProgress(stderr, o.quiet, len(jobs)+len(res.Leftovers))
	defer prog.finish()
	prog.rejected = len(res.Leftovers)
	guard := &quotaGuard{read: cdn.Remaining, limits: planner.Limits, out: prog}
	w := &watch{planner: planner, submitter: cdn, prog: prog}
	p, err := refresh.NewPipeline(refresh.Options{
		Mapper:    mapper,
		Planner:   w,
		Submitter: w,
		Spiller:   leftoverSpill{},
		Quota:     guard.remaining,
		Now:       clk.now,
	})
	if err != nil {
		return err
	}
	outs, err := p.Flush(refresh.WithLimitWaits(ctx, prog.waiting), jobs)
	if err != nil {
		return err
	}
	if outs, err = afterPurge(ctx, clk, p, cdn, outs, o, stderr); err != nil {
		return err
	}
	for i, out := range outs {
		if out.Status == refresh.Submitted {
			res.Submitted++
			continue
		}
		reason := out.Reason
		if out.Reason == refresh.ReasonQuota && guard.unread(out.Job.Provider) {
			reason = "quota unreadable: at most one call's worth is sent blind"
		}
		res.Leftovers = append(res.Leftovers, leftover{Where: whereOf[i], URL: out.Job.URL, Tag: out.Job.Tag, Action: out.Job.Action, Status: out.Status, Reason: reason})
	}
	res.Calls, res.Tasks = w.calls, w.tasks
	for _, l := range res.Leftovers {
		if l.Status == refresh.Rejected {
			res.Rejected++
		} else {
			res.Spilled++ // spilled, or another outcome that may be tried again
		}
	}
	return nil
}

// afterPurge sends the prefetches of --both that wait for their purge
// (status Waiting): it follows the purge's tasks until they are complete,
// with progress, then prefetches; a purge that fails or does not complete
// within --timeout leaves its prefetch over, with why. With --no-wait they
// are left over at once.
func afterPurge(ctx context.Context, clk clock, p *refresh.Pipeline, cdn *alicdn.Client, outs []refresh.Outcome, o *refreshOptions, stderr io.Writer) ([]refresh.Outcome, error) {
	var at []int
	var refs []taskRef
	seen := map[taskRef]bool{}
	for i, out := range outs {
		if out.Status != refresh.Waiting {
			continue
		}
		at = append(at, i)
		for _, id := range refresh.TaskIDs(out.TaskID) {
			if r := (taskRef{Provider: out.Job.Provider.OrDefault(), ID: id}); !seen[r] {
				seen[r] = true
				refs = append(refs, r)
			}
		}
	}
	if len(at) == 0 {
		return outs, nil
	}
	leave := func(reason string) ([]refresh.Outcome, error) {
		for _, i := range at {
			outs[i].Reason = reason
		}
		return outs, nil
	}
	if o.noWait {
		return leave("after_purge: prefetch once task " + outs[at[0]].TaskID + " is complete (--no-wait)")
	}
	if !o.quiet {
		fmt.Fprintf(stderr, "waiting for %d purge task(s) to complete before %d prefetch(es): a refresh takes effect minutes after it is sent\n", len(refs), len(at))
	}
	w, err := follow(ctx, clk, cdn, refs, o.timeout, newProgress(stderr, o.quiet, len(refs)))
	if err != nil || len(w.Failed)+len(w.Running) > 0 {
		return leave(fmt.Sprintf("after_purge: the purge did not complete (%d failed, %d still running)", len(w.Failed), len(w.Running)))
	}
	work := make([]refresh.Pending, len(at))
	for n, i := range at {
		work[n] = refresh.Pending{Job: outs[i].Job, FirstSeen: clk.now()}
	}
	sent, err := p.Replay(ctx, work)
	if err != nil {
		return nil, err
	}
	for n, i := range at {
		outs[i] = sent[n]
	}
	return outs, nil
}

// finishRefresh prints the result and returns the exit code it stands for.
func finishRefresh(o *refreshOptions, res refreshResult, stdout, stderr io.Writer, sendable int) error {
	if o.json {
		if err := printJSON(stdout, res); err != nil {
			return err
		}
	} else {
		printRefresh(stdout, o, res)
	}
	printLeftovers(stderr, o, res)
	switch {
	case o.dryRun && len(res.Leftovers) > 0:
		return exit(exitPartial, nil)
	case o.dryRun:
		return nil
	case res.Submitted == 0 && sendable > 0:
		return exit(exitNothing, fmt.Errorf("nothing was submitted: %s", mainReason(res.Leftovers)))
	case len(res.Leftovers) > 0:
		return exit(exitPartial, nil)
	case res.Waited != nil && len(res.Waited.Failed)+len(res.Waited.Running) > 0:
		return exit(exitPartial, nil)
	}
	return nil
}

// mainReason is the reason most leftovers share.
func mainReason(ls []leftover) string {
	n := map[string]int{}
	best := ""
	for _, l := range ls {
		if n[l.Reason]++; n[l.Reason] > n[best] {
			best = l.Reason
		}
	}
	return best
}

// maxNamed caps the leftovers named on the terminal; the leftovers file
// and --json name them all.
const maxNamed = 20

// printRefresh writes the summary for people: the counts and tasks.
func printRefresh(stdout io.Writer, o *refreshOptions, res refreshResult) {
	if o.dryRun {
		for i, c := range res.Plan {
			fmt.Fprintf(stdout, "call %d: %s %s (%s)\n", i+1, c.API, plural(len(c.URLs), "URL"), strings.Join(callDomains(c), ", "))
			for _, u := range c.URLs {
				fmt.Fprintf(stdout, "  %s\n", u)
			}
		}
		fmt.Fprintf(stdout, "dry run: %s for %s, %s skipped, %d rejected; nothing sent\n",
			plural(res.Calls, "call"), plural(res.URLs-res.Duplicate-res.Rejected, "URL"), plural(res.Duplicate, "duplicate"), res.Rejected)
	} else {
		fmt.Fprintf(stdout, "%s: %d submitted in %s, %s skipped, %d spilled, %d rejected\n",
			plural(res.URLs, "URL"), res.Submitted, plural(res.Calls, "call"), plural(res.Duplicate, "duplicate"), res.Spilled, res.Rejected)
		if len(res.Tasks) > 0 {
			ids := make([]string, len(res.Tasks))
			for i, t := range res.Tasks {
				ids[i] = t.ID
			}
			fmt.Fprintf(stdout, "tasks: %s\n", strings.Join(ids, " "))
		}
		if res.Waited != nil {
			printWaited(stdout, res.Waited)
		}
	}
}

// printLeftovers names each leftover with its reason (the first
// maxNamed; the file has them all), and where the file is.
func printLeftovers(stderr io.Writer, o *refreshOptions, res refreshResult) {
	for i, l := range res.Leftovers {
		if i == maxNamed {
			more := len(res.Leftovers) - maxNamed
			fmt.Fprintf(stderr, "… %d more not shown (truncated: %d)", more, more)
			if res.LeftoversFile != "" {
				fmt.Fprintf(stderr, "; all are in %s", res.LeftoversFile)
			}
			fmt.Fprintln(stderr)
			break
		}
		fmt.Fprintf(stderr, "%s %s %s: %s (%s)\n", l.Status, l.Action, l.Where, l.URL, l.Reason)
	}
	if res.LeftoversFile != "" {
		fmt.Fprintf(stderr, "not submitted: %s, written to %s; to try them again: cdnrefresh %s --file %s\n",
			plural(len(res.Leftovers), "URL"), res.LeftoversFile, o.action, res.LeftoversFile)
	}
}

// writeLeftovers writes res.Leftovers to the file of --leftovers, or a new
// one in the working directory, one URL a line with its reason after a
// # (which --file skips), and records where; a failure is told on stderr,
// where the leftovers are named anyway.
func writeLeftovers(o *refreshOptions, res *refreshResult, now time.Time, stderr io.Writer) {
	name := o.leftovers
	if name == "" {
		name = "cdnrefresh-leftovers-" + now.Format("20060102-150405") + ".txt"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# cdnrefresh %s, %s: %s not submitted. Fix the rejected ones, then: cdnrefresh %s --file %s\n",
		o.action, now.UTC().Format(time.RFC3339), plural(len(res.Leftovers), "URL"), o.action, name)
	for _, l := range res.Leftovers {
		if l.Tag != "" { // not a URL: --file would refresh the domain's root
			fmt.Fprintf(&b, "# %s (--tag %s --domain %s): %s: %s\n", l.Status, l.Tag, refresh.Host(l.URL), l.Where, oneLine(l.Reason))
			continue
		}
		fmt.Fprintf(&b, "%s\t# %s %s, %s: %s\n", l.URL, l.Status, l.Action, l.Where, oneLine(l.Reason))
	}
	if err := os.WriteFile(name, []byte(b.String()), 0o600); err != nil {
		fmt.Fprintf(stderr, "cdnrefresh %s: write the leftovers: %v\n", o.action, err)
		return
	}
	res.LeftoversFile = absPath(name)
}

// plural writes n and the noun: "1 URL", "2 URLs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// oneLine keeps a reason on its line of the leftovers file.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// callDomains lists the domains a call is for.
func callDomains(c refresh.Call) []string {
	var out []string
	seen := map[string]bool{}
	for _, u := range c.URLs {
		if h := refresh.Hostname(u); !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}

// leftoverSpill keeps nothing: what the pipeline cannot submit comes back
// as its outcome, and the run writes it to the leftovers file.
type leftoverSpill struct{}

func (leftoverSpill) Spill(context.Context, []refresh.Pending) error { return nil }

// quotaGuard reads the quota for the plan. When it cannot be read, it
// says so and answers one call's worth of each kind, so that nothing is
// sent blind beyond one call the API itself would refuse if the quota
// were spent.
type quotaGuard struct {
	read   func(context.Context, refresh.Provider) (refresh.Quota, error)
	limits plan.Limits
	out    *progress
	failed map[refresh.Provider]bool
}

func (g *quotaGuard) remaining(ctx context.Context, p refresh.Provider) (refresh.Quota, error) {
	q, err := g.read(ctx, p)
	if err == nil {
		return q, nil
	}
	if g.failed == nil {
		g.failed = map[refresh.Provider]bool{}
	}
	g.failed[p.OrDefault()] = true
	one := oneCall(p, g.limits)
	g.out.note(fmt.Sprintf("%s quota could not be read (%v): at most one call's worth (%d URLs) is sent blind, the rest is left over",
		strings.ToUpper(string(p.OrDefault())), err, one.URL))
	return one, nil
}

// unread reports whether p's quota could not be read.
func (g *quotaGuard) unread(p refresh.Provider) bool { return g.failed[p.OrDefault()] }

// oneCall is one call's worth of each of p's quota kinds.
func oneCall(p refresh.Provider, l plan.Limits) refresh.Quota {
	if p.OrDefault() == refresh.DCDN {
		return refresh.Quota{URL: l.DCDNRefreshURLs, Dir: l.DCDNRefreshDirs, Regex: l.DCDNRefreshRegex, IgnoreParams: l.DCDNRefreshURLs, Preload: l.DCDNPreloadURLs}
	}
	return refresh.Quota{URL: l.RefreshURLs, Dir: l.RefreshDirs, Regex: l.RefreshRegex, IgnoreParams: l.RefreshURLs, Preload: l.PushURLs}
}

// watch stands between the pipeline and its planner and CDN client, to
// show the operator each call and keep the tasks they were given.
type watch struct {
	planner   refresh.Planner
	submitter refresh.Submitter
	prog      *progress
	calls     int
	planned   int
	tasks     []taskRef
}

func (w *watch) Plan(jobs []refresh.Job, q refresh.Quota) ([]refresh.Call, []refresh.Job) {
	calls, over := w.planner.Plan(jobs, q)
	w.planned += len(calls)
	w.prog.planned(w.planned, len(over))
	return calls, over
}

func (w *watch) Submit(ctx context.Context, c refresh.Call) (string, error) {
	w.calls++
	n := w.calls
	w.planned = max(w.planned, n)
	id, err := w.submitter.Submit(ctx, c)
	if err == nil {
		for _, part := range refresh.TaskIDs(id) {
			w.tasks = append(w.tasks, taskRef{Provider: c.Provider.OrDefault(), ID: part})
		}
	}
	w.prog.call(n, w.planned, c, id, err)
	return id, err
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
