package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/emulator/oss"
	"golang.org/x/sync/errgroup"
)

func runEmulator(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("emulator", stderr)
	addr := fs.String("addr", "127.0.0.1:8765", "`ADDRESS` of the CDN and DCDN API emulator")
	ossAddr := fs.String("oss-addr", "127.0.0.1:8766", "`ADDRESS` of the OSS emulator; empty: none")
	buckets := fs.String("buckets", "my-site", "comma-separated OSS `BUCKETS` to create")
	opts := emulatorFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	o, err := opts()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return errUsage
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen for the CDN emulator: %w", err)
	}
	c := cdn.New(o)
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	fmt.Fprintf(stdout, "  CDN/DCDN API: CDNREFRESH_CDN_ENDPOINT=http://%s\n", ln.Addr())
	fmt.Fprintf(stdout, "  credentials:  ALIBABA_CLOUD_ACCESS_KEY_ID=%s ALIBABA_CLOUD_ACCESS_KEY_SECRET=%s\n", cdn.AccessKeyID, cdn.AccessKeySecret)
	fmt.Fprintf(stdout, "  control:      http://%s/_emulator/stats (GET), /_emulator/faults (GET, POST), /_emulator/reset (POST)\n", ln.Addr())
	if o.EventTarget != "" {
		fmt.Fprintf(stdout, "  CDN events:   posted to %s/invoke as Function Compute's CDN event trigger\n", strings.TrimSuffix(o.EventTarget, "/"))
	}

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serve(ctx, ln, c) })
	g.Go(func() error { c.Run(ctx, 200*time.Millisecond); return nil })
	if *ossAddr != "" {
		oln, err := net.Listen("tcp", *ossAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen for the OSS emulator: %w", err)
		}
		// One key pair signs for both services, as one RAM user would.
		o := oss.New(oss.Options{Keys: map[string]string{cdn.AccessKeyID: cdn.AccessKeySecret}, Buckets: strings.Split(*buckets, ",")})
		fmt.Fprintf(stdout, "listening on http://%s\n", oln.Addr())
		fmt.Fprintf(stdout, "  OSS:          CDNREFRESH_OSS_ENDPOINT=http://%s (buckets: %s; same credentials)\n", oln.Addr(), *buckets)
		g.Go(func() error { return serve(ctx, oln, o) })
	}
	return g.Wait()
}

// emulatorFlags defines the flags that set the CDN emulator's options on
// fs and returns the function that reads them once fs is parsed.
func emulatorFlags(fs *flag.FlagSet) func() (cdn.Options, error) {
	var o cdn.Options
	quota := func(p *int, name, what, def string) {
		fs.IntVar(p, name, 0, "daily "+what+" quota (0: the documented "+def+"; -1: none)")
	}
	quota(&o.URLQuota, "quota-urls", "URL refresh", "10,000")
	quota(&o.DirQuota, "quota-dirs", "directory (and cache-tag) refresh", "100")
	quota(&o.RegexQuota, "quota-regex", "regex refresh", "20")
	quota(&o.IgnoreParamsQuota, "quota-ignore-params", "IgnoreParams refresh", "100")
	quota(&o.PreloadQuota, "quota-preload", "prefetch", "1,000")
	fs.IntVar(&o.URLQuota, "url-quota", 0, "older name of --quota-urls")
	fs.IntVar(&o.PreloadQuota, "preload-quota", 0, "older name of --quota-preload")
	fs.IntVar(&o.DomainURLsPerMinute, "domain-urls-per-minute", 0, "URL refreshes per domain per minute (0: the documented 1,000; -1: no limit)")
	fs.IntVar(&o.CacheTagsPerCall, "cache-tags-per-call", 0, "cache tags per call (0: 10; -1: no limit)")
	fs.IntVar(&o.PreloadQueue, "preload-queue", 0, "prefetch URLs waiting before PreloadQueueFull (0: the documented 100,000; -1: no limit)")
	fs.IntVar(&o.DomainRefreshQueue, "domain-refresh-queue", 0, "refreshes in progress per domain before TooMany.Refresh (0: no limit)")
	perSecond := fs.String("calls-per-second", "", "override calls-per-second limits: `ACTION=N,...` (*=N for every action; N=-1: no limit)")
	fs.IntVar(&o.ThrottleStatus, "throttle-status", http.StatusTooManyRequests, "answer to a call over its rate: 429 (TooManyRequests) or 503 (Throttling)")
	fs.StringVar(&o.IgnoreParamsSpelling, "ignore-params-spelling", cdn.SpellBoth, "ObjectType spelling CDN RefreshObjectCaches accepts: both, IgnoreParams or ExQuery")
	taskSeconds := fs.Float64("task-seconds", cdn.DefaultTaskDuration.Seconds(), "`SECONDS` from a task's creation to Complete or Failed (0 or negative: at once)")
	fs.Float64Var(&o.Faults.Throttle, "throttle-rate", 0, "share of API requests answered as throttled (see --throttle-status)")
	fs.Float64Var(&o.Faults.ServerError, "fail-rate", 0, "share of API requests answered 500 InternalError")
	fs.DurationVar(&o.Faults.Delay, "delay", 0, "hold each API answer this long (with --delay-rate: some of them)")
	fs.Float64Var(&o.Faults.DelayProb, "delay-rate", 0, "share of API answers held for --delay (0: all)")
	fs.Float64Var(&o.Faults.TaskFail, "task-fail-rate", 0, "share of tasks that end Failed")
	domains := fs.String("domains", "", "comma-separated domains the account owns; others answer InvalidDomain.NotFound (empty: any)")
	fs.BoolVar(&o.Suspended, "suspended", false, "answer refresh and prefetch calls 403 OperationDenied")
	fs.BoolVar(&o.PreloadDetailAllowed, "preload-detail", false, "put the account on DescribePreloadDetailById's allow-list")
	fs.Int64Var(&o.Seed, "seed", 0, "seed of the fault and task-failure random numbers")
	fs.StringVar(&o.EventTarget, "cdn-events-url", "", "post CachedObjectsRefreshed/Pushed events to the function at `URL` as FC's CDN event trigger does")
	return func() (cdn.Options, error) {
		o.TaskDuration = time.Duration(*taskSeconds * float64(time.Second))
		if *taskSeconds == 0 {
			o.TaskDuration = -1
		}
		if *domains != "" {
			o.Domains = strings.Split(*domains, ",")
		}
		if *perSecond != "" {
			o.CallsPerSecond = map[string]int{}
			for _, kv := range strings.Split(*perSecond, ",") {
				k, v, ok := strings.Cut(kv, "=")
				n, err := strconv.Atoi(v)
				if !ok || err != nil {
					return cdn.Options{}, fmt.Errorf("--calls-per-second: %q is not ACTION=N", kv)
				}
				o.CallsPerSecond[k] = n
			}
		}
		return o, o.Check()
	}
}

// serve answers requests on ln with h until ctx is done, then shuts down
// gracefully (cutting connections after 5 s) and returns nil.
func serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	stop := context.AfterFunc(ctx, func() {
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	})
	defer stop()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	}
	return nil
}
