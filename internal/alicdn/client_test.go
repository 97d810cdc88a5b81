package alicdn_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/alicdn"
	cdnemu "github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

var _ refresh.Submitter = (*alicdn.Client)(nil)

var emuCreds = refresh.Credentials{AccessKeyID: cdnemu.AccessKeyID, AccessKeySecret: cdnemu.AccessKeySecret}

// sleeps records the backoffs the client asked for, without sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

type fixture struct {
	client *alicdn.Client
	emu    *cdnemu.Server
	sleeps *sleeps
	url    string
}

// setup starts an emulator on 127.0.0.1 and a client aimed at it with
// the emulator's credentials, a recording sleep and jitter fixed at 0.5.
func setup(t *testing.T, opts cdnemu.Options, mod func(*alicdn.Config)) *fixture {
	t.Helper()
	return setupWith(t, cdnemu.New(opts), mod)
}

// setupWith is setup with an emulator already made.
func setupWith(t *testing.T, emu *cdnemu.Server, mod func(*alicdn.Config)) *fixture {
	t.Helper()
	ts := httptest.NewServer(emu)
	t.Cleanup(ts.Close)
	f := &fixture{emu: emu, sleeps: &sleeps{}, url: ts.URL}
	cfg := alicdn.Config{
		Endpoint:    ts.URL,
		Credentials: emuCreds,
		Sleep:       f.sleeps.sleep,
		Rand:        func() float64 { return 0.5 },
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := alicdn.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.client = c
	return f
}

func urls(n int, format string) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf(format, i)
	}
	return s
}

func TestSubmit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call refresh.Call
		want cdnemu.Call
	}{
		{
			"CDN refresh files",
			refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, URLs: []string{"http://a.com/1", "https://b.com/2"}},
			cdnemu.Call{Action: "RefreshObjectCaches", Version: "2018-05-10", ObjectType: "File", URLs: []string{"http://a.com/1", "https://b.com/2"}},
		},
		{
			"CDN refresh directory forced",
			refresh.Call{API: "RefreshObjectCaches", Provider: refresh.CDN, Action: refresh.ActionRefresh, ObjectType: refresh.Directory, Force: true, URLs: []string{"http://a.com/d/"}},
			cdnemu.Call{Action: "RefreshObjectCaches", Version: "2018-05-10", ObjectType: "Directory", Force: true, URLs: []string{"http://a.com/d/"}},
		},
		{
			"CDN push",
			refresh.Call{Provider: refresh.CDN, Action: refresh.ActionPrefetch, Area: "overseas", L2Preload: true, WithHeader: `{"Accept-Encoding":["gzip"]}`, URLs: []string{"http://a.com/p"}},
			cdnemu.Call{Action: "PushObjectCache", Version: "2018-05-10", Area: "overseas", L2Preload: true, WithHeader: `{"Accept-Encoding":["gzip"]}`, URLs: []string{"http://a.com/p"}},
		},
		{
			"DCDN refresh regex forced",
			refresh.Call{Provider: refresh.DCDN, Action: refresh.ActionRefresh, ObjectType: refresh.Regex, Force: true, URLs: []string{`http://a.com/img/.*\.png`}},
			cdnemu.Call{Action: "RefreshDcdnObjectCaches", Version: "2018-01-15", ObjectType: "Regex", Force: true, URLs: []string{`http://a.com/img/.*\.png`}},
		},
		{
			"DCDN preload",
			refresh.Call{Provider: refresh.DCDN, Action: refresh.ActionPrefetch, WithHeader: `{"Accept-Language":["zh-CN"]}`, URLs: []string{"http://a.com/p"}},
			cdnemu.Call{Action: "PreloadDcdnObjectCaches", Version: "2018-01-15", WithHeader: `{"Accept-Language":["zh-CN"]}`, URLs: []string{"http://a.com/p"}},
		},
		{
			"CDN refresh ignoring parameters",
			refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, ObjectType: refresh.IgnoreParams, URLs: []string{"http://a.com/x"}},
			cdnemu.Call{Action: "RefreshObjectCaches", Version: "2018-05-10", ObjectType: "IgnoreParams", URLs: []string{"http://a.com/x"}},
		},
		{
			"CDN push in hash key query mode",
			refresh.Call{Provider: refresh.CDN, Action: refresh.ActionPrefetch, QueryHashkey: true, URLs: []string{"http://a.com/p"}},
			cdnemu.Call{Action: "PushObjectCache", Version: "2018-05-10", QueryHashkey: true, URLs: []string{"http://a.com/p"}},
		},
		{
			"DCDN Edge Routine cache, forced directory",
			refresh.Call{Provider: refresh.DCDN, Action: refresh.ActionRefresh, ObjectType: refresh.Directory, Force: true,
				Routine: "name.sub", MergeDomains: "b.com,c.com", URLs: []string{"http://a.com/d/"}},
			cdnemu.Call{Action: "RefreshErObjectCaches", Version: "2018-01-15", ObjectType: "Directory", Force: true,
				RoutineID: "name.sub", MergeDomains: []string{"b.com", "c.com"}, URLs: []string{"http://a.com/d/"}},
		},
		{
			"DCDN Edge Routine cache, File sent explicitly",
			refresh.Call{API: "RefreshErObjectCaches", Provider: refresh.DCDN, Action: refresh.ActionRefresh, Routine: "name.sub", URLs: []string{"http://a.com/x"}},
			cdnemu.Call{Action: "RefreshErObjectCaches", Version: "2018-01-15", ObjectType: "File", RoutineID: "name.sub", URLs: []string{"http://a.com/x"}},
		},
		{
			"API alone",
			refresh.Call{API: "PreloadDcdnObjectCaches", URLs: []string{"http://a.com/p"}},
			cdnemu.Call{Action: "PreloadDcdnObjectCaches", Version: "2018-01-15", URLs: []string{"http://a.com/p"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, cdnemu.Options{}, nil)
			id, err := f.client.Submit(context.Background(), tt.call)
			if err != nil {
				t.Fatalf("Submit(%+v): %v", tt.call, err)
			}
			calls := f.emu.Calls()
			if len(calls) != 1 {
				t.Fatalf("emulator got %d calls, want 1", len(calls))
			}
			got := calls[0]
			if got.TaskID != id || id == "" {
				t.Errorf("Submit = %q, emulator answered %q", id, got.TaskID)
			}
			if got.Method != "POST" {
				t.Errorf("method %s, want POST", got.Method)
			}
			got.TaskID, got.Method, got.AccessKeyID = "", "", ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("call reaching the server mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSubmitBadCall(t *testing.T) {
	t.Parallel()
	f := setup(t, cdnemu.Options{}, nil)
	tests := []struct {
		name string
		call refresh.Call
	}{
		{"no URLs", refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh}},
		{"API disagrees", refresh.Call{API: "PushObjectCache", Provider: refresh.CDN, Action: refresh.ActionRefresh, URLs: []string{"http://a.com/"}}},
		{"unknown provider", refresh.Call{Provider: "akamai", Action: refresh.ActionRefresh, URLs: []string{"http://a.com/"}}},
		{"bad object type", refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, ObjectType: "file", URLs: []string{"http://a.com/"}}},
		{"Edge Routine on two domains", refresh.Call{Provider: refresh.DCDN, Action: refresh.ActionRefresh, Routine: "r.sub", URLs: []string{"http://a.com/", "http://b.com/"}}},
		{"Edge Routine id", refresh.Call{Provider: refresh.DCDN, Action: refresh.ActionRefresh, Routine: "nodot", URLs: []string{"http://a.com/"}}},
		{"Edge Routine on CDN", refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, Routine: "r.sub", URLs: []string{"http://a.com/"}}},
		{"no cache tags", refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, ObjectType: refresh.CacheTag, URLs: []string{"https://a.com/"}}},
		{"empty cache tag", refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, ObjectType: refresh.CacheTag, URLs: []string{"https://a.com/"}, Tags: []string{""}}},
		{"cache tag with a comma", refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, ObjectType: refresh.CacheTag, URLs: []string{"https://a.com/"}, Tags: []string{"a,b"}}},
		{"cache tags of two domains", refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, ObjectType: refresh.CacheTag, URLs: []string{"https://a.com/", "https://b.com/"}, Tags: []string{"a"}}},
		{"QueryHashkey on DCDN", refresh.Call{Provider: refresh.DCDN, Action: refresh.ActionPrefetch, QueryHashkey: true, URLs: []string{"http://a.com/"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.client.Submit(context.Background(), tt.call)
			if v, code := refresh.FailureOf(err); err == nil || v != refresh.Reject || code != "InvalidCall" {
				t.Errorf("Submit(%+v) = %v, want an InvalidCall rejection", tt.call, err)
			}
		})
	}
	if st := f.emu.Stats(); st.Requests != 0 {
		t.Errorf("bad calls sent %d requests, want 0", st.Requests)
	}
}

func TestSubmitRefused(t *testing.T) {
	t.Parallel()
	f := setup(t, cdnemu.Options{}, func(c *alicdn.Config) { c.Credentials.AccessKeySecret = "wrong" })
	_, err := f.client.Submit(context.Background(), refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, URLs: []string{"http://a.com/x"}})
	var ae *alicdn.APIError
	if !errors.As(err, &ae) || ae.Code != "SignatureDoesNotMatch" {
		t.Fatalf("Submit with a wrong secret = %v, want SignatureDoesNotMatch", err)
	}
	if v := verdict(err); v != refresh.Keep {
		t.Errorf("SignatureDoesNotMatch: verdict %v, want keep (not retried, not rejected)", v)
	}
	if st := f.emu.Stats(); st.Requests != 1 {
		t.Errorf("sent %d requests, want 1 (no retry)", st.Requests)
	}
}

func TestSubmitRejected(t *testing.T) {
	t.Parallel()
	long := "http://a.com/" + strings.Repeat("x", 1025-len("http://a.com/"))
	refreshCall := func(ot refresh.ObjectType, u []string) refresh.Call {
		return refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, ObjectType: ot, URLs: u}
	}
	tests := []struct {
		name     string
		opts     cdnemu.Options
		secret   string
		call     refresh.Call
		wantCode string
	}{
		{"1001 URLs", cdnemu.Options{}, "", refreshCall(refresh.File, urls(1001, "http://a.com/%d")), "SingleRequest.OverLimit"},
		{"101 dirs", cdnemu.Options{}, "", refreshCall(refresh.Directory, urls(101, "http://a.com/%d/")), "SingleRequest.OverLimit"},
		{"2 regexes", cdnemu.Options{}, "", refreshCall(refresh.Regex, []string{"http://a.com/a.*", "http://a.com/b.*"}), "InvalidObjectPath.Size.Malformed"},
		{"101 pushes", cdnemu.Options{}, "", refresh.Call{Provider: refresh.CDN, Action: refresh.ActionPrefetch, URLs: urls(101, "http://a.com/%d")}, "SingleRequest.OverLimit"},
		{"11 domains", cdnemu.Options{}, "", refreshCall("", urls(11, "http://d%d.a.com/x")), "SingleRequest.OverLimit"},
		{"1025-char URL", cdnemu.Options{}, "", refreshCall("", []string{long}), "InvalidObjectPath.Malformed"},
		{"wildcard", cdnemu.Options{}, "", refreshCall("", []string{"http://*.a.com/x"}), "InvalidExtensiveDomain.ValueNotSupported"},
		{"foreign domain", cdnemu.Options{Domains: []string{"a.com"}}, "", refreshCall("", []string{"http://b.com/x"}), "InvalidDomain.NotFound"},
		{"DCDN 1001 URLs", cdnemu.Options{}, "", refresh.Call{Provider: refresh.DCDN, Action: refresh.ActionRefresh, URLs: urls(1001, "http://a.com/%d")}, "SingleRequest.OverLimit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, tt.opts, func(c *alicdn.Config) {
				if tt.secret != "" {
					c.Credentials.AccessKeySecret = tt.secret
				}
			})
			_, err := f.client.Submit(context.Background(), tt.call)
			var ae *alicdn.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("Submit error = %v, want an *APIError", err)
			}
			v, code := refresh.FailureOf(err)
			if ae.Code != tt.wantCode || code != tt.wantCode || (v != refresh.SplitURLs && v != refresh.SplitDomains) {
				t.Errorf("error %s: verdict %v code %q, want %s with a split verdict", ae.Code, v, code, tt.wantCode)
			}
			if st := f.emu.Stats(); st.Requests != 1 {
				t.Errorf("sent %d requests, want 1 (no retry)", st.Requests)
			}
			if s := err.Error(); strings.Contains(s, "string to sign") || strings.Contains(s, cdnemu.AccessKeySecret) || strings.Contains(s, "Signature=") {
				t.Errorf("error text leaks signing material: %s", s)
			}
		})
	}
}

func TestSubmitQuotaExhausted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     cdnemu.Options
		call     refresh.Call
		wantCode string
	}{
		{"CDN URLs", cdnemu.Options{URLQuota: 2}, refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, URLs: urls(3, "http://a.com/%d")}, "QuotaExceeded.Refresh"},
		{"DCDN dirs", cdnemu.Options{DirQuota: -1}, refresh.Call{Provider: refresh.DCDN, Action: refresh.ActionRefresh, ObjectType: refresh.Directory, URLs: []string{"http://a.com/d/"}}, "QuotaExceeded.Refresh"},
		{"CDN preload", cdnemu.Options{PreloadQuota: 1}, refresh.Call{Provider: refresh.CDN, Action: refresh.ActionPrefetch, URLs: urls(2, "http://a.com/%d")}, "QuotaExceeded.Preload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, tt.opts, nil)
			_, err := f.client.Submit(context.Background(), tt.call)
			var ae *alicdn.APIError
			if !errors.As(err, &ae) || ae.Code != tt.wantCode || verdict(err) != refresh.QuotaSpent {
				t.Fatalf("Submit error = %v, want %s with verdict quota-spent", err, tt.wantCode)
			}
			if ae.Status != 400 || ae.RequestID == "" {
				t.Errorf("status %d request %q, want 400 and a request id", ae.Status, ae.RequestID)
			}
			if st := f.emu.Stats(); st.Requests != 1 || len(f.sleeps.got()) != 0 {
				t.Errorf("sent %d requests with sleeps %v, want 1 and none", st.Requests, f.sleeps.got())
			}
		})
	}
}

func TestSubmitRetries(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		name       string
		provider   refresh.Provider
		next       []string
		wantErr    string // code, or "" for success
		wantSleeps []time.Duration
	}{
		{"throttled twice then accepted", refresh.CDN, []string{"Throttling", "Throttling"}, "", []time.Duration{100 * ms, 200 * ms}},
		{"DCDN 429 then accepted", refresh.DCDN, []string{"TooManyRequests"}, "", []time.Duration{100 * ms}},
		{"per-minute limit then accepted", refresh.CDN, []string{"QuotaPerMinuteExceeded.Refresh"}, "", []time.Duration{100 * ms}},
		{"queue full then accepted", refresh.CDN, []string{"TooMany.Refresh", "ServiceBusy"}, "", []time.Duration{100 * ms, 200 * ms}},
		{"server errors exhaust attempts", refresh.CDN, []string{"InternalError", "InternalError", "InternalError", "InternalError"}, "InternalError", []time.Duration{100 * ms, 200 * ms, 400 * ms}},
		{"unknown 5xx code", refresh.CDN, []string{"InvalidDomain.Configure_failed"}, "InvalidDomain.Configure_failed", nil},
		{"quota then nothing", refresh.CDN, []string{"QuotaExceeded.Refresh"}, "QuotaExceeded.Refresh", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, cdnemu.Options{}, nil)
			f.emu.Inject(cdnemu.Faults{Next: tt.next})
			_, err := f.client.Submit(context.Background(), refresh.Call{Provider: tt.provider, Action: refresh.ActionRefresh, URLs: []string{"http://a.com/x"}})
			code := ""
			if err != nil {
				var f *refresh.Failure
				if !errors.As(err, &f) {
					t.Fatalf("error %v is no *refresh.Failure", err)
				}
				code = f.Code
			}
			if code != tt.wantErr {
				t.Errorf("Submit error %v, want code %q", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantSleeps, f.sleeps.got()); diff != "" {
				t.Errorf("backoffs mismatch (-want +got):\n%s", diff)
			}
			if st := f.emu.Stats(); st.Requests != len(tt.wantSleeps)+1 {
				t.Errorf("sent %d requests, want %d", st.Requests, len(tt.wantSleeps)+1)
			}
		})
	}
}

func TestBackoffCapAndJitter(t *testing.T) {
	t.Parallel()
	var rands []float64
	f := setup(t, cdnemu.Options{}, func(c *alicdn.Config) {
		c.Retry = alicdn.RetryPolicy{Base: time.Second, Cap: 3 * time.Second, MaxAttempts: 4}
		c.Rand = func() float64 { rands = append(rands, 0.999); return 0.999 }
	})
	f.emu.Inject(cdnemu.Faults{Next: []string{"Throttling", "Throttling", "Throttling", "Throttling"}})
	f.client.Submit(context.Background(), refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, URLs: []string{"http://a.com/x"}})
	want := []time.Duration{999 * time.Millisecond, 1998 * time.Millisecond, 2997 * time.Millisecond}
	if diff := cmp.Diff(want, f.sleeps.got()); diff != "" {
		t.Errorf("backoffs (base 1s, cap 3s) mismatch (-want +got):\n%s", diff)
	}
}

func TestRetryHonoursDeadline(t *testing.T) {
	t.Parallel()
	deadline := time.Now().Add(time.Hour)
	f := setup(t, cdnemu.Options{}, func(c *alicdn.Config) {
		c.Now = func() time.Time { return deadline.Add(-150 * time.Millisecond) } // 150 ms left
		c.Rand = func() float64 { return 0.99 }                                   // first backoff 198 ms
	})
	f.emu.Inject(cdnemu.Faults{Next: []string{"Throttling", "Throttling"}})
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	_, err := f.client.Submit(ctx, refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, URLs: []string{"http://a.com/x"}})
	var ae *alicdn.APIError
	if !errors.As(err, &ae) || ae.Code != "Throttling" || verdict(err) != refresh.Retry {
		t.Fatalf("Submit error = %v, want the last Throttling error", err)
	}
	if got := f.sleeps.got(); len(got) != 0 {
		t.Errorf("slept %v past the deadline, want no sleep", got)
	}
}

func TestCanceledContextIsNotRetried(t *testing.T) {
	t.Parallel()
	f := setup(t, cdnemu.Options{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.client.Submit(ctx, refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, URLs: []string{"http://a.com/x"}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Submit on a canceled context = %v, want context.Canceled", err)
	}
	if n := len(f.sleeps.got()); n != 0 {
		t.Errorf("slept %d times, want 0", n)
	}
}

// limiter records its calls and can refuse.
type limiter struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (l *limiter) Wait(ctx context.Context, api string, perDomain map[string]int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, fmt.Sprint(api, " ", perDomain))
	return l.err
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	lim := &limiter{}
	f := setup(t, cdnemu.Options{}, func(c *alicdn.Config) { c.Limiter = lim })
	f.emu.Inject(cdnemu.Faults{Next: []string{"Throttling"}})
	call := refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, URLs: []string{"http://a.com/1", "http://A.com:8080/2", "https://b.com/3"}}
	if _, err := f.client.Submit(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	want := []string{"RefreshObjectCaches map[a.com:2 b.com:1]", "RefreshObjectCaches map[a.com:2 b.com:1]"}
	if diff := cmp.Diff(want, lim.calls); diff != "" {
		t.Errorf("limiter waits (one per attempt) mismatch (-want +got):\n%s", diff)
	}

	lim.err = errors.New("would pass deadline")
	_, err := f.client.Submit(context.Background(), call)
	if err == nil || !strings.Contains(err.Error(), "would pass deadline") {
		t.Errorf("Submit with a refusing limiter = %v, want its error", err)
	}
	if st := f.emu.Stats(); st.Requests != 2 {
		t.Errorf("requests %d, want 2 (none after the limiter refused)", st.Requests)
	}
}

// counting is a refresh.CountingLimiter that records how each attempt
// was settled.
type counting struct {
	limiter
	settled []refresh.Settlement
}

func (l *counting) Reserve(ctx context.Context, api string, perDomain map[string]int) (func(refresh.Settlement), error) {
	if err := l.Wait(ctx, api, perDomain); err != nil {
		return nil, err
	}
	return func(s refresh.Settlement) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.settled = append(l.settled, s)
	}, nil
}

// TestLimiterSettled: an attempt the API refused gives its URLs back to
// the limiter (the API counted none), one refused for the domain's minute
// budget says it is spent; an accepted one, or one that got no answer,
// counts.
func TestLimiterSettled(t *testing.T) {
	t.Parallel()
	dead := closedPort(t)
	tests := []struct {
		name     string
		next     []string // error codes of the first attempts
		endpoint string   // instead of the emulator's
		want     []refresh.Settlement
	}{
		{"accepted", nil, "", []refresh.Settlement{refresh.Counted}},
		{"500, then accepted", []string{"InternalError"}, "", []refresh.Settlement{refresh.Refused, refresh.Counted}},
		{"per-minute refusal, then accepted", []string{"QuotaPerMinuteExceeded.Refresh"}, "", []refresh.Settlement{refresh.BudgetSpent, refresh.Counted}},
		{"refused for good", []string{"InvalidDomain.NotFound"}, "", []refresh.Settlement{refresh.Refused}},
		{"no answer", nil, dead, []refresh.Settlement{refresh.Counted, refresh.Counted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := &counting{}
			f := setup(t, cdnemu.Options{}, func(c *alicdn.Config) {
				c.Limiter = lim
				c.Retry.MaxAttempts = 2
				if tt.endpoint != "" {
					c.Endpoint = tt.endpoint
				}
			})
			f.emu.Inject(cdnemu.Faults{Next: tt.next})
			f.client.Submit(context.Background(), refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, URLs: []string{"http://a.com/1"}})
			if diff := cmp.Diff(tt.want, lim.settled); diff != "" {
				t.Errorf("settlements per attempt mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	keys := map[string]string{cdnemu.AccessKeyID: cdnemu.AccessKeySecret, "STS.role": "role-secret"}
	call := refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, URLs: []string{"http://a.com/x"}}

	t.Run("STS token from context wins", func(t *testing.T) {
		f := setup(t, cdnemu.Options{Keys: keys}, func(c *alicdn.Config) { c.Credentials.AccessKeySecret = "stale" })
		ctx := refresh.WithCredentials(context.Background(), refresh.Credentials{AccessKeyID: "STS.role", AccessKeySecret: "role-secret", SecurityToken: "CAIS+tok/en=="})
		if _, err := f.client.Submit(ctx, call); err != nil {
			t.Fatal(err)
		}
		c := f.emu.Calls()[0]
		if !c.SecurityToken || c.AccessKeyID != "STS.role" {
			t.Errorf("server saw key %q token %v, want STS.role with a token", c.AccessKeyID, c.SecurityToken)
		}
	})
	t.Run("static key", func(t *testing.T) {
		f := setup(t, cdnemu.Options{Keys: keys}, nil)
		if _, err := f.client.Submit(context.Background(), call); err != nil {
			t.Fatal(err)
		}
		if c := f.emu.Calls()[0]; c.SecurityToken || c.AccessKeyID != cdnemu.AccessKeyID {
			t.Errorf("server saw key %q token %v, want the static key and no token", c.AccessKeyID, c.SecurityToken)
		}
	})
	t.Run("none", func(t *testing.T) {
		f := setup(t, cdnemu.Options{}, func(c *alicdn.Config) { c.Credentials = refresh.Credentials{} })
		if _, err := f.client.Submit(context.Background(), call); !errors.Is(err, alicdn.ErrNoCredentials) {
			t.Errorf("Submit without credentials = %v, want ErrNoCredentials", err)
		}
	})
	t.Run("token never in errors", func(t *testing.T) {
		f := setup(t, cdnemu.Options{Keys: keys}, nil)
		ctx := refresh.WithCredentials(context.Background(), refresh.Credentials{AccessKeyID: "STS.role", AccessKeySecret: "wrong-secret", SecurityToken: "sekrit-token-value"})
		_, err := f.client.Submit(ctx, call)
		if err == nil || strings.Contains(err.Error(), "sekrit-token-value") || strings.Contains(err.Error(), "wrong-secret") {
			t.Errorf("error = %v, want one that names no secret", err)
		}
	})
}

func TestConcurrentSubmits(t *testing.T) {
	t.Parallel()
	f := setup(t, cdnemu.Options{}, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := refresh.CDN
			if i%2 == 1 {
				p = refresh.DCDN
			}
			ctx := context.Background()
			if i%3 == 0 {
				ctx = refresh.WithCredentials(ctx, emuCreds)
			}
			_, err := f.client.Submit(ctx, refresh.Call{Provider: p, Action: refresh.ActionRefresh, URLs: []string{fmt.Sprintf("http://a%d.com/x", i)}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if st := f.emu.Stats(); st.Accepted != 50 || st.URLs != 50 {
		t.Errorf("emulator accepted %d calls with %d URLs, want 50 and 50", st.Accepted, st.URLs)
	}
}

func TestSubmitCacheTags(t *testing.T) {
	t.Parallel()
	tagCall := func(p refresh.Provider, force bool, u string, tags ...string) refresh.Call {
		return refresh.Call{Provider: p, Action: refresh.ActionRefresh, ObjectType: refresh.CacheTag, Force: force, URLs: []string{u}, Tags: tags}
	}
	tests := []struct {
		name string
		call refresh.Call
		want string
	}{
		{"CDN", tagCall(refresh.CDN, true, "https://a.com/", "t1", "t2"), "RefreshObjectCacheByCacheTag 2018-05-10 POST a.com [t1 t2] true"},
		{"DCDN", tagCall(refresh.DCDN, false, "https://a.com/", "t1", "t2"), "RefreshDcdnObjectCacheByCacheTag 2018-01-15 POST a.com [t1 t2] false"},
		{"port and scheme dropped", tagCall(refresh.CDN, false, "http://A.com:8080/", "t"), "RefreshObjectCacheByCacheTag 2018-05-10 POST a.com [t] false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, cdnemu.Options{}, nil)
			id, err := f.client.Submit(context.Background(), tt.call)
			if err != nil {
				t.Fatal(err)
			}
			c := f.emu.Calls()[0]
			got := fmt.Sprint(c.Action, " ", c.Version, " ", c.Method, " ", c.Domain, " ", c.CacheTags, " ", c.Force)
			if got != tt.want || c.TaskID != id {
				t.Errorf("server saw %q (task %s), want %q (task %s)", got, c.TaskID, tt.want, id)
			}
		})
	}
}

func TestQuota(t *testing.T) {
	t.Parallel()
	f := setup(t, cdnemu.Options{URLQuota: 50, DirQuota: 5}, nil)
	ctx := context.Background()
	must := func(_ string, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.client.Submit(ctx, refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, URLs: urls(3, "http://a.com/%d")}))
	must(f.client.Submit(ctx, refresh.Call{Provider: refresh.CDN, Action: refresh.ActionPrefetch, URLs: urls(2, "http://a.com/%d")}))
	must(f.client.Submit(ctx, refresh.Call{Provider: refresh.DCDN, Action: refresh.ActionRefresh, ObjectType: refresh.Directory, URLs: []string{"http://a.com/d/"}}))

	tests := []struct {
		provider refresh.Provider
		want     refresh.DailyQuota
	}{
		{refresh.CDN, refresh.DailyQuota{
			refresh.QuotaURL: {Total: 50, Remain: 47}, refresh.QuotaDir: {Total: 5, Remain: 5}, refresh.QuotaRegex: {Total: 20, Remain: 20},
			refresh.QuotaIgnoreParams: {Total: 100, Remain: 100}, refresh.QuotaPreload: {Total: 1000, Remain: 998},
			refresh.QuotaPreloadEdge: {Total: 20, Remain: 20}, refresh.QuotaBlock: {Total: 100, Remain: 100}}},
		{refresh.DCDN, refresh.DailyQuota{
			refresh.QuotaURL: {Total: 50, Remain: 50}, refresh.QuotaDir: {Total: 5, Remain: 4}, refresh.QuotaRegex: {Total: 20, Remain: 20},
			refresh.QuotaIgnoreParams: {Total: 100, Remain: 100}, refresh.QuotaPreload: {Total: 1000, Remain: 1000},
			refresh.QuotaBlock: {Total: 100, Remain: 100}}},
	}
	for _, tt := range tests {
		got, err := f.client.Quota(ctx, tt.provider)
		if err != nil {
			t.Fatalf("Quota(%s): %v", tt.provider, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Quota(%s) mismatch (-want +got):\n%s", tt.provider, diff)
		}
	}
	q, err := f.client.Remaining(ctx, refresh.CDN)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(refresh.Quota{URL: 47, Dir: 5, Regex: 20, IgnoreParams: 100, Preload: 998}, q); diff != "" {
		t.Errorf("Remaining() mismatch (-want +got):\n%s", diff)
	}
	// Remaining answers from the cache, kept in step with what is submitted.
	must(f.client.Submit(ctx, refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, URLs: urls(4, "http://a.com/x%d")}))
	reqs := f.emu.Stats().Requests
	if q, _ = f.client.Remaining(ctx, refresh.CDN); q.URL != 43 || f.emu.Stats().Requests != reqs {
		t.Errorf("Remaining after 4 more URLs = %d with %d new requests, want 43 from the cache", q.URL, f.emu.Stats().Requests-reqs)
	}
}

// clock is a settable fake time source for the emulator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestTasks(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)}
	f := setup(t, cdnemu.Options{Now: clk.Now, TaskDuration: time.Minute, PreloadDetailAllowed: true}, nil)
	ctx := context.Background()
	id, err := f.client.Submit(ctx, refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, URLs: []string{"http://a.com/1", "http://a.com/2"}})
	if err != nil {
		t.Fatal(err)
	}
	failed := f.emu.AddTask(cdnemu.Task{ObjectPath: "http://a.com/d/", ObjectType: "directory", Created: clk.Now().Add(-time.Hour)})
	f.emu.FailTask(failed, "OriginTimeout")
	clk.Advance(2 * time.Minute)

	page, err := f.client.Tasks(ctx, refresh.CDN, refresh.TaskQuery{ObjectType: "Directory", Status: "Failed"})
	if err != nil {
		t.Fatal(err)
	}
	want := refresh.TaskPage{Total: 1, Page: 1, PageSize: 20, Tasks: []refresh.Task{{
		ID: failed, ObjectPath: "http://a.com/d/", ObjectType: "directory", Status: "Failed", Process: "0%",
		Description: "OriginTimeout", Created: time.Date(2025, 3, 1, 7, 0, 0, 0, time.UTC),
	}}}
	if diff := cmp.Diff(want, page); diff != "" {
		t.Errorf("Tasks(failed directories) mismatch (-want +got):\n%s", diff)
	}

	page, err = f.client.Tasks(ctx, refresh.CDN, refresh.TaskQuery{Page: 2, PageSize: 1, Start: clk.Now().Add(-10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 2 || page.Page != 2 || len(page.Tasks) != 1 || page.Tasks[0].Status != "Complete" || page.Tasks[0].ID != id {
		t.Errorf("Tasks(page 2 of 1) = %+v", page)
	}
	if _, err := f.client.Tasks(ctx, refresh.CDN, refresh.TaskQuery{Status: "Failed"}); err == nil {
		t.Error("Tasks(status without object type) = nil error, want one")
	}

	// TasksByID splits 12 ids into calls of at most 10.
	ids := []string{id}
	for i := range 11 {
		ids = append(ids, f.emu.AddTask(cdnemu.Task{ObjectPath: fmt.Sprintf("http://b.com/%d", i)}))
	}
	f.emu.Reset()
	tasks, err := f.client.TasksByID(ctx, refresh.CDN, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 13 {
		t.Errorf("TasksByID(12 ids) returned %d tasks, want 13 (the first id has 2 URLs)", len(tasks))
	}
	if n := len(f.emu.Calls()); n != 2 {
		t.Errorf("TasksByID(12 ids) made %d calls, want 2", n)
	}

	// DCDN.
	did, err := f.client.Submit(ctx, refresh.Call{Provider: refresh.DCDN, Action: refresh.ActionPrefetch, URLs: []string{"http://a.com/p"}})
	if err != nil {
		t.Fatal(err)
	}
	dt, err := f.client.TasksByID(ctx, refresh.DCDN, []string{did})
	if err != nil || len(dt) != 1 || dt[0].ObjectType != "preload" || dt[0].Status != "Pending" {
		t.Errorf("TasksByID(DCDN) = %+v, %v", dt, err)
	}
	dp, err := f.client.Tasks(ctx, refresh.DCDN, refresh.TaskQuery{ObjectType: "preload", Domain: "a.com"})
	if err != nil || dp.Total != 1 || dp.Tasks[0].ID != did {
		t.Errorf("Tasks(DCDN preload) = %+v, %v", dp, err)
	}
}

func TestPreloadDetail(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)}
	f := setup(t, cdnemu.Options{Now: clk.Now, TaskDuration: time.Minute, PreloadDetailAllowed: true}, nil)
	ctx := context.Background()
	id, err := f.client.Submit(ctx, refresh.Call{Provider: refresh.CDN, Action: refresh.ActionPrefetch, URLs: []string{"http://a.com/x.jpg", "http://a.com/y.jpg"}})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	got, err := f.client.PreloadDetail(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := refresh.PreloadDetail{Total: 2, Domains: []refresh.PreloadDomain{{
		TaskID: id, Domain: "a.com", Status: "Complete", Process: "100%", RetCode: "0",
		Created: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC), Ended: time.Date(2025, 3, 1, 8, 1, 0, 0, time.UTC),
		URLs: []refresh.PreloadURL{{URL: "/x.jpg", Success: "100%", Description: "Successfully preloaded"}, {URL: "/y.jpg", Success: "100%", Description: "Successfully preloaded"}},
	}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PreloadDetail mismatch (-want +got):\n%s", diff)
	}

	off := setup(t, cdnemu.Options{}, nil)
	_, err = off.client.PreloadDetail(ctx, "123")
	var ae *alicdn.APIError
	if !errors.As(err, &ae) || ae.Status != 403 || verdict(err) != refresh.Keep {
		t.Errorf("PreloadDetail off the allow-list = %v, want a refused 403", err)
	}
}

// closedPort returns a loopback address nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestTransportErrors(t *testing.T) {
	t.Parallel()
	dead := closedPort(t)

	s := &sleeps{}
	c, err := alicdn.New(alicdn.Config{Endpoint: dead, Credentials: emuCreds, Sleep: s.sleep, Rand: func() float64 { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Submit(context.Background(), refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, URLs: []string{"http://a.com/x"}})
	var te *alicdn.TransportError
	if !errors.As(err, &te) || te.Code != "NetworkError" || verdict(err) != refresh.Retry {
		t.Fatalf("Submit to a closed port = %v, want a retryable NetworkError", err)
	}
	if n := len(s.got()); n != 3 {
		t.Errorf("slept %d times, want 3 (4 attempts)", n)
	}
	for _, leak := range []string{"Signature", "AccessKeyId", cdnemu.AccessKeyID, "ObjectPath"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error text %q contains %q", err, leak)
		}
	}

	f := setup(t, cdnemu.Options{}, func(c *alicdn.Config) {
		c.Timeout = 50 * time.Millisecond
		c.Retry.MaxAttempts = 1
	})
	f.emu.Inject(cdnemu.Faults{Delay: 5 * time.Second})
	_, err = f.client.Submit(context.Background(), refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, URLs: []string{"http://a.com/x"}})
	// Sent and not answered: the API may have done it.
	if !errors.As(err, &te) || te.Code != "Timeout" || verdict(err) != refresh.InDoubt {
		t.Errorf("Submit to a slow server = %v, want a Timeout in doubt", err)
	}

	// Cut off by the caller's deadline while the API holds the call.
	f = setup(t, cdnemu.Options{}, nil)
	f.emu.Inject(cdnemu.Faults{Delay: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = f.client.Submit(ctx, refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, URLs: []string{"http://a.com/x"}})
	if v, code := refresh.FailureOf(err); v != refresh.InDoubt || code != refresh.ReasonInDoubt {
		t.Errorf("Submit cut off by its deadline = %v (%v, %q), want in doubt", err, v, code)
	}
}

func TestProductionEndpoints(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	rt := roundTripper(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Scheme+"://"+r.URL.Host+" "+r.URL.Query().Get("Action"))
		mu.Unlock()
		body := `{"RequestId":"R","RefreshTaskId":"1","PushTaskId":"2","PreloadTaskId":"3"}`
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	})
	c, err := alicdn.New(alicdn.Config{Credentials: emuCreds, Transport: rt})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, call := range []refresh.Call{
		{Provider: refresh.CDN, Action: refresh.ActionRefresh, URLs: []string{"http://a.com/x"}},
		{Provider: refresh.DCDN, Action: refresh.ActionPrefetch, URLs: []string{"http://a.com/x"}},
	} {
		if _, err := c.Submit(ctx, call); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Submit(ctx, refresh.Call{Provider: refresh.CDN, Action: refresh.ActionRefresh, ObjectType: refresh.CacheTag, URLs: []string{"https://a.com/"}, Tags: []string{"t"}}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"POST https://cdn.aliyuncs.com RefreshObjectCaches",
		"POST https://dcdn.aliyuncs.com PreloadDcdnObjectCaches",
		"POST https://cdn.aliyuncs.com RefreshObjectCacheByCacheTag",
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("production requests mismatch (-want +got):\n%s", diff)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestEndpointErrors(t *testing.T) {
	t.Parallel()
	for _, ep := range []string{"ftp://x", "http://h/path", "http://", "a b:1", "http://u@h:1"} {
		if _, err := alicdn.New(alicdn.Config{Endpoint: ep}); err == nil {
			t.Errorf("New(Endpoint %q) = nil error, want one", ep)
		}
	}
	if _, err := alicdn.New(alicdn.Config{Region: "cn hangzhou"}); err == nil {
		t.Error("New(Region with a space) = nil error, want one")
	}
}

// verdict is the verdict err carries.
func verdict(err error) refresh.Verdict {
	v, _ := refresh.FailureOf(err)
	return v
}
