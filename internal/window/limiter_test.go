package window

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/window/redistest"
)

var (
	_ refresh.CountingLimiter = (*LocalLimiter)(nil)
	_ refresh.CountingLimiter = (*RedisLimiter)(nil)
)

// limiterKinds builds each limiter over clk, the Redis ones on a fresh
// server (skipped without redis-server).
func limiterKinds(t *testing.T, clk *sleepClock, l Limits) map[string]func(t *testing.T) refresh.Limiter {
	o := Options{Now: clk.Now, After: clk.After}
	return map[string]func(t *testing.T) refresh.Limiter{
		"local": func(t *testing.T) refresh.Limiter {
			ll, err := NewLocalLimiter(l, o)
			if err != nil {
				t.Fatal(err)
			}
			return ll
		},
		"redis": func(t *testing.T) refresh.Limiter {
			addr, _ := redistest.Start(t)
			rl, err := NewRedisLimiter(testClient(t, addr), l, o)
			if err != nil {
				t.Fatal(err)
			}
			return rl
		},
	}
}

func TestLimiterQPS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		api   string
		calls int
		// want is the least simulated time the calls take.
		want time.Duration
	}{
		{"CDN refresh at 50/s", "RefreshObjectCaches", 51, time.Second},
		{"DCDN refresh at 30/s", "RefreshDcdnObjectCaches", 31, time.Second},
		{"task list at 10/s", "DescribeRefreshTasks", 11, time.Second},
		{"unknown API not paced", "DescribeCdnUserQuota", 100, 0},
	}
	for _, kind := range []string{"local", "redis"} {
		for _, tt := range tests {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				clk := newSleepClock()
				l := limiterKinds(t, clk, Limits{})[kind](t)
				for i := range tt.calls {
					if err := l.Wait(context.Background(), tt.api, nil); err != nil {
						t.Fatalf("Wait %d: %v", i, err)
					}
				}
				// Pacing at the limit: at least want, and not much more.
				if got := clk.Slept(); got < tt.want || got > tt.want+tt.want/10+2*time.Millisecond*time.Duration(tt.calls) {
					t.Errorf("%d calls of %s took %v, want about %v", tt.calls, tt.api, got, tt.want)
				}
			})
		}
	}
}

func TestLimiterDomainBudget(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"local", "redis"} {
		t.Run(kind, func(t *testing.T) {
			clk := newSleepClock()
			l := limiterKinds(t, clk, Limits{QPS: map[string]float64{"RefreshObjectCaches": 1000}})[kind](t)
			ctx := context.Background()
			steps := []struct {
				name      string
				urls      map[string]int
				wantSlept time.Duration // total simulated time after the step
			}{
				{"600 for a", map[string]int{"a.example.com": 600}, 0},
				{"400 for a fits", map[string]int{"a.example.com": 400, "b.example.com": 1}, 0},
				{"1 more for a waits a minute and the margin", map[string]int{"a.example.com": 1}, urlWindow},
				{"b still has room", map[string]int{"b.example.com": 999}, urlWindow},
				{"400 for a waits for the 400 to leave", map[string]int{"a.example.com": 400}, urlWindow},
			}
			for _, s := range steps {
				if err := l.Wait(ctx, "RefreshObjectCaches", s.urls); err != nil {
					t.Fatalf("%s: Wait error = %v", s.name, err)
				}
				// Each call costs at most 1 ms of QPS spacing.
				if got := clk.Slept(); got < s.wantSlept || got > s.wantSlept+10*time.Millisecond {
					t.Errorf("%s: slept %v in all, want %v", s.name, got, s.wantSlept)
				}
			}
			// The budget is per API: prefetch of a has its own.
			before := clk.Slept()
			if err := l.Wait(ctx, "PushObjectCache", map[string]int{"a.example.com": 1000}); err != nil || clk.Slept() != before {
				t.Errorf("prefetch within its own budget: err %v, slept %v more, want nil, 0", err, clk.Slept()-before)
			}
		})
	}
}

// TestLimiterSpent: what a domain's minute budget has spent, per API, and
// that it frees up a minute later.
func TestLimiterSpent(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"local", "redis"} {
		t.Run(kind, func(t *testing.T) {
			clk := newSleepClock()
			l := limiterKinds(t, clk, Limits{QPS: map[string]float64{"RefreshObjectCaches": 1000}})[kind](t)
			spent := l.(interface{ Spent(api, domain string) int })
			ctx := context.Background()
			for _, n := range []int{600, 300} {
				if err := l.Wait(ctx, "RefreshObjectCaches", map[string]int{"a.example.com": n}); err != nil {
					t.Fatal(err)
				}
			}
			if got := spent.Spent("RefreshObjectCaches", "a.example.com"); got != 900 {
				t.Errorf("Spent(a) = %d, want 900", got)
			}
			if got := spent.Spent("PushObjectCache", "a.example.com") + spent.Spent("RefreshObjectCaches", "b.example.com"); got != 0 {
				t.Errorf("Spent of another API or domain = %d, want 0", got)
			}
			<-clk.After(urlWindow + time.Millisecond)
			if got := spent.Spent("RefreshObjectCaches", "a.example.com"); got != 0 {
				t.Errorf("Spent(a) a minute later = %d, want 0", got)
			}
		})
	}
}

// TestLimiterSettle: a call the API refused gives its URLs back; one it
// accepted counts from when its answer came, and a call sent after that
// waits the minute and the margin, naming the domain it waits for; one
// refused because the domain's minute is spent elsewhere makes the next
// call wait a minute.
func TestLimiterSettle(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"local", "redis"} {
		t.Run(kind, func(t *testing.T) {
			clk := newSleepClock()
			l := limiterKinds(t, clk, Limits{QPS: map[string]float64{"RefreshObjectCaches": 1000}})[kind](t).(refresh.CountingLimiter)
			var waits []refresh.LimitWait
			ctx := refresh.WithLimitWaits(context.Background(), func(w refresh.LimitWait) { waits = append(waits, w) })
			full := map[string]int{"a.example.com": 1000}

			settle, err := l.Reserve(ctx, "RefreshObjectCaches", full)
			if err != nil {
				t.Fatal(err)
			}
			settle(refresh.Refused) // the API counted none
			start := clk.Slept()
			if settle, err = l.Reserve(ctx, "RefreshObjectCaches", full); err != nil {
				t.Fatal(err)
			}
			if got := clk.Slept() - start; got > 10*time.Millisecond {
				t.Errorf("Reserve after a refused call of 1000 URLs waited %v, want none: the URLs were given back", got)
			}
			<-clk.After(5 * time.Second) // the call takes 5 s to be answered
			settle(refresh.Counted)
			answered := clk.Slept()
			if _, err := l.Reserve(ctx, "RefreshObjectCaches", map[string]int{"a.example.com": 1}); err != nil {
				t.Fatal(err)
			}
			if got := clk.Slept() - answered; got < urlWindow || got > urlWindow+10*time.Millisecond {
				t.Errorf("next URL waited %v after the accepted call's answer, want %v", got, urlWindow)
			}
			if len(waits) == 0 || waits[len(waits)-1].Domain != "a.example.com" || waits[len(waits)-1].Wait < time.Minute {
				t.Errorf("waits told = %+v, want the last one for a.example.com's minute budget", waits)
			}

			b := map[string]int{"b.example.com": 10}
			if settle, err = l.Reserve(ctx, "RefreshObjectCaches", b); err != nil {
				t.Fatal(err)
			}
			settle(refresh.BudgetSpent) // b's minute is spent by someone else
			spent := clk.Slept()
			if _, err := l.Reserve(ctx, "RefreshObjectCaches", b); err != nil {
				t.Fatal(err)
			}
			if got := clk.Slept() - spent; got < urlWindow || got > urlWindow+10*time.Millisecond {
				t.Errorf("next call to b waited %v after its minute was spent elsewhere, want %v", got, urlWindow)
			}
		})
	}
}

func TestLimiterRefusals(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"local", "redis"} {
		t.Run(kind, func(t *testing.T) {
			clk := newSleepClock()
			l := limiterKinds(t, clk, Limits{})[kind](t)

			if err := l.Wait(context.Background(), "RefreshObjectCaches", map[string]int{"a": 1001}); err == nil {
				t.Error("Wait(1001 URLs for one domain) error = nil, want one: it can never fit")
			}
			if err := l.Wait(context.Background(), "RefreshObjectCaches", map[string]int{"a": 1000}); err != nil {
				t.Fatalf("Wait(1000 URLs) error = %v", err)
			}
			// The next URL needs a minute; a deadline sooner fails at once.
			ctx, cancel := context.WithDeadline(context.Background(), clk.Now().Add(10*time.Second))
			defer cancel()
			before := clk.Slept()
			err := l.Wait(ctx, "RefreshObjectCaches", map[string]int{"a": 1})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Wait past the deadline: error = %v, want one wrapping context.DeadlineExceeded", err)
			}
			if clk.Slept() != before {
				t.Errorf("Wait past the deadline slept %v, want 0", clk.Slept()-before)
			}
			// A cancelled context fails.
			done, cancel2 := context.WithCancel(context.Background())
			cancel2()
			if err := l.Wait(done, "RefreshObjectCaches", map[string]int{"a": 1}); !errors.Is(err, context.Canceled) {
				t.Errorf("Wait(cancelled) error = %v, want context.Canceled", err)
			}
		})
	}
}

// TestRedisLimiterShared: two instances share the account's budget.
func TestRedisLimiterShared(t *testing.T) {
	t.Parallel()
	addr, _ := redistest.Start(t)
	clk := newSleepClock()
	o := Options{Now: clk.Now, After: clk.After}
	var ls []*RedisLimiter
	for range 2 {
		l, err := NewRedisLimiter(testClient(t, addr), Limits{}, o)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	ctx := context.Background()
	// 20 alternating calls at 50/s take at least 19 intervals.
	for i := range 20 {
		if err := ls[i%2].Wait(ctx, "RefreshObjectCaches", nil); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := clk.Slept(), 19*20*time.Millisecond; got < want {
		t.Errorf("20 calls from two instances took %v, want at least %v", got, want)
	}
	before := clk.Slept()
	if err := ls[0].Wait(ctx, "RefreshObjectCaches", map[string]int{"a": 700}); err != nil {
		t.Fatal(err)
	}
	if err := ls[1].Wait(ctx, "RefreshObjectCaches", map[string]int{"a": 700}); err != nil {
		t.Fatal(err)
	}
	if got := clk.Slept() - before; got < time.Minute-time.Second {
		t.Errorf("second instance's 700 URLs waited %v, want about a minute: the budget is shared", got)
	}
}

func TestRedisLimiterFallback(t *testing.T) {
	t.Parallel()
	addr, stop := redistest.Start(t)
	clk := newSleepClock()
	var logs logBuffer
	rdb := testClient(t, addr)
	l, err := NewRedisLimiter(rdb, Limits{}, Options{Now: clk.Now, After: clk.After, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := l.Wait(ctx, "RefreshObjectCaches", map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	stop()
	for i := range 3 {
		if err := l.Wait(ctx, "RefreshObjectCaches", map[string]int{"a": 1}); err != nil {
			t.Fatalf("Wait %d with Redis stopped: %v", i, err)
		}
	}
	if n := logs.count("level=WARN"); n != 1 {
		t.Errorf("%d warnings for one outage, want 1", n)
	}
	// The fallback still paces.
	before := clk.Slept()
	if err := l.Wait(ctx, "RefreshObjectCaches", map[string]int{"a": 1000}); err != nil {
		t.Fatal(err)
	}
	if clk.Slept()-before < 50*time.Second {
		t.Errorf("fallback let 1003 URLs for one domain through in %v, want a wait", clk.Slept()-before)
	}
}

func TestLimitsInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		l    Limits
	}{
		{"negative QPS", Limits{QPS: map[string]float64{"RefreshObjectCaches": -1}}},
		{"zero QPS", Limits{QPS: map[string]float64{"RefreshObjectCaches": 0}}},
		{"NaN QPS", Limits{QPS: map[string]float64{"RefreshObjectCaches": math.NaN()}}},
		{"infinite QPS", Limits{QPS: map[string]float64{"RefreshObjectCaches": math.Inf(1)}}},
		{"negative URLs per minute", Limits{URLsPerMinute: -5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewLocalLimiter(tt.l, Options{}); err == nil {
				t.Errorf("NewLocalLimiter(%+v) error = nil, want one", tt.l)
			}
			if _, err := NewRedisLimiter(testClient(t, "127.0.0.1:1"), tt.l, Options{}); err == nil {
				t.Errorf("NewRedisLimiter(%+v) error = nil, want one", tt.l)
			}
		})
	}
	if _, err := NewRedisLimiter(nil, Limits{}, Options{}); err == nil {
		t.Error("NewRedisLimiter(nil client) error = nil, want one")
	}
}

func TestLimitsOverride(t *testing.T) {
	t.Parallel()
	clk := newSleepClock()
	l, err := NewLocalLimiter(Limits{QPS: map[string]float64{"RefreshObjectCaches": 5}, URLsPerMinute: 10}, Options{Now: clk.Now, After: clk.After})
	if err != nil {
		t.Fatal(err)
	}
	for range 6 {
		if err := l.Wait(context.Background(), "RefreshObjectCaches", nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := clk.Slept(); got < time.Second || got > 1100*time.Millisecond {
		t.Errorf("6 calls at 5/s took %v, want about 1s", got)
	}
	if err := l.Wait(context.Background(), "RefreshObjectCaches", map[string]int{"a": 11}); err == nil {
		t.Error("Wait(11 URLs, budget 10) error = nil, want one")
	}
}
