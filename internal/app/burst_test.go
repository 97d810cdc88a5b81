package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/app/apptest"
	"github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/window/redisconn"
	"github.com/cdnrefresh/cdnrefresh/internal/window/redistest"
)

// The deploy burst BenchmarkDeployBurst replays.
const (
	burstEvents   = 10000
	burstSpan     = 60 * time.Second // of arrivals, uncompressed
	burstCompress = 20               // time runs this many times faster
	burstRepeats  = 0.20             // share of events that repeat a recent object
	burstLookback = 200              // a repeat is of one of the last this many events
)

// burstConfig is the documented defaults compressed burstCompress times:
// window 2 s → 100 ms, 50 calls/s → 1,000, 1,000 URLs/min/domain →
// 20,000. %s adds window keys (redis_url).
const burstConfig = `
rules:
  - {bucket: site, prefix: a/, domains: [a.example.com]}
  - {bucket: site, prefix: b/, domains: [b.example.com]}
  - {bucket: site, prefix: c/, domains: [c.example.com]}
window: {duration: 100ms%s}
limits: {refresh_qps: 1000, domain_urls_per_minute: 20000}
`

// burst returns the events of a deploy burst: one changed object each,
// spread over three domains, burstRepeats of them a repeat of an object
// changed within the last burstLookback events.
func burst(seed uint64) []refresh.Event {
	rng := rand.New(rand.NewPCG(seed, 1))
	evs := make([]refresh.Event, burstEvents)
	var keys []string
	for i := range evs {
		var key string
		if len(keys) > 0 && rng.Float64() < burstRepeats {
			key = keys[len(keys)-1-rng.IntN(min(len(keys), burstLookback))]
		} else {
			key = fmt.Sprintf("%c/build-42/assets/%05d.js", 'a'+len(keys)%3, len(keys))
			keys = append(keys, key)
		}
		evs[i] = refresh.Event{
			ID: fmt.Sprintf("oss:burst-%d-%05d", seed, i),
			Changes: []refresh.Change{{
				Source: "oss", EventID: fmt.Sprintf("66%014X/%s", i, key),
				Bucket: "site", Key: key, Op: refresh.OpCreate, ETag: fmt.Sprintf("%032X", i),
			}},
		}
	}
	return evs
}

// burstResult is what one replay measured.
type burstResult struct {
	latencies            []time.Duration
	submitted, duplicate int
	spilled, rejected    int
	peakHeap             uint64
	wall                 time.Duration
}

// replayBurst sends evs through the pipelines, event i at i/len(evs) of
// the compressed span and to pipeline i mod len(ps), each event in its own
// invocation, and measures each invocation from its start (Join) to its
// answer.
func replayBurst(b *testing.B, ps []*refresh.Pipeline, evs []refresh.Event) burstResult {
	var res burstResult
	res.latencies = make([]time.Duration, len(evs))
	reports := make([]refresh.Report, len(evs))
	span := burstSpan / burstCompress

	stop := make(chan struct{})
	peak := make(chan uint64)
	go func() { peak <- samplePeakHeap(stop) }()

	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range evs {
		if d := time.Until(start.Add(span * time.Duration(i) / time.Duration(len(evs)))); d > 0 {
			time.Sleep(d) // arrivals are the load being measured
		}
		wg.Go(func() {
			t0 := time.Now()
			r, err := ps[i%len(ps)].Run(ctx, evs[i])
			res.latencies[i] = time.Since(t0)
			if err != nil {
				b.Errorf("event %s: %v", evs[i].ID, err)
			}
			reports[i] = r
		})
	}
	wg.Wait()
	res.wall = time.Since(start)
	close(stop)
	res.peakHeap = <-peak
	for _, r := range reports {
		res.submitted += r.Submitted
		res.duplicate += r.Duplicate
		res.spilled += r.Spilled
		res.rejected += r.Rejected
	}
	return res
}

// samplePeakHeap returns the most heap in use by live and not yet swept
// objects, sampled every 5 ms until stop is closed.
func samplePeakHeap(stop <-chan struct{}) uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		metrics.Read(s)
		peak = max(peak, s[0].Value.Uint64())
		select {
		case <-stop:
			return peak
		case <-tick.C:
		}
	}
}

// BenchmarkDeployBurst replays a deploy burst against the CDN API emulator
// (on 127.0.0.1, through the real SDK client) through the whole pipeline:
// 10,000 OSS events of one object each, arriving evenly over 60 seconds on
// three domains, 20% of them repeats of an object changed within the last
// 200 events. Each event is its own invocation, as FC's OSS trigger sends
// them.
//
// Time is compressed 20×: the 60 s of arrivals take 3 s of wall-clock
// time, and every duration and rate in the config is scaled to match
// (window 2 s → 100 ms, 50 calls/s → 1,000, 1,000 URLs per minute and
// domain → 20,000, in the emulator too). The latencies p50_ms and p99_ms
// (from an invocation's start, which joins the window, to its answer) are
// wall-clock milliseconds of the compressed run: multiply the window's
// share of them by 20 for real time. peak_heap_MB is the heap of the
// whole test process, emulator included.
//
// "local" is one instance with the in-process window; "redis-2" is two
// instances sharing the window and the rate budget through redis-server
// (skipped when it is not installed).
func BenchmarkDeployBurst(b *testing.B) {
	b.Run("local", func(b *testing.B) { benchBurst(b, 1, "") })
	b.Run("redis-2", func(b *testing.B) {
		addr, _ := redistest.Start(b)
		benchBurst(b, 2, "redis://"+addr)
	})
}

func benchBurst(b *testing.B, instances int, redisURL string) {
	var all []time.Duration
	var calls, urls, submitted, duplicate, spilled, rejected int
	var peak uint64
	var wall time.Duration
	for i := range b.N {
		b.StopTimer()
		if redisURL != "" {
			rdb, err := redisconn.Dial(redisURL)
			if err != nil {
				b.Fatal(err)
			}
			if err := rdb.Cmd.FlushAll(context.Background()).Err(); err != nil {
				b.Fatalf("flush redis: %v", err)
			}
			rdb.Close()
		}
		emu, endpoint := apptest.Emulator(b, cdn.Options{DomainURLsPerMinute: 20000, TaskDuration: -1})
		extra := ""
		if redisURL != "" {
			extra = ", redis_url: " + redisURL
		}
		ps := make([]*refresh.Pipeline, instances)
		for n := range ps {
			a := apptest.NewApp(b, fmt.Sprintf(burstConfig, extra), endpoint, nil, app.Options{InstanceID: fmt.Sprintf("instance-%d", n+1)})
			ps[n] = a.Pipeline
		}
		evs := burst(uint64(i + 1))
		runtime.GC()
		b.StartTimer()

		res := replayBurst(b, ps, evs)

		b.StopTimer()
		for _, c := range emu.Calls() {
			if c.Action == "RefreshObjectCaches" {
				calls++
			}
		}
		urls += emu.Stats().URLs
		all = append(all, res.latencies...)
		submitted += res.submitted
		duplicate += res.duplicate
		spilled += res.spilled
		rejected += res.rejected
		peak = max(peak, res.peakHeap)
		wall += res.wall
		b.StartTimer()
	}
	n := float64(b.N)
	slices.Sort(all)
	b.ReportMetric(wall.Seconds()/n, "wall_s")
	b.ReportMetric(burstCompress, "time_compression_x")
	b.ReportMetric(float64(calls)/n, "api_calls")
	b.ReportMetric(float64(urls)/n, "urls_submitted")
	b.ReportMetric(float64(duplicate)/n, "duplicates_suppressed")
	b.ReportMetric(float64(spilled)/n, "urls_spilled")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99_ms")
	b.ReportMetric(float64(peak)/(1<<20), "peak_heap_MB")
	if submitted+duplicate+spilled+rejected != burstEvents*b.N {
		b.Errorf("outcomes: %d submitted + %d duplicate + %d spilled + %d rejected; want %d in all", submitted, duplicate, spilled, rejected, burstEvents*b.N)
	}
}
