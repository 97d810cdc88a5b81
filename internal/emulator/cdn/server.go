package cdn

import (
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The emulator's default credentials. They are not secret: print them,
// put them in READMEs and test fixtures.
const (
	AccessKeyID     = "LTAIemulatorKey01"
	AccessKeySecret = "emulator-secret-not-real"
)

// API versions served.
const (
	CDNVersion  = "2018-05-10"
	DCDNVersion = "2018-01-15"
)

// Default limits, as documented for a new account (platform.md §6.1, §6.2).
const (
	DefaultURLQuota            = 10000
	DefaultDirQuota            = 100
	DefaultRegexQuota          = 20
	DefaultIgnoreParamsQuota   = 100
	DefaultPreloadQuota        = 1000
	DefaultDomainURLsPerMinute = 1000
	DefaultTaskDuration        = 5 * time.Second

	preloadEdgeQuota = 20
	blockQuota       = 100
)

// Options configure a Server. The zero value is a fresh account with the
// default credentials and the documented default quotas.
type Options struct {
	// Now is the clock for quotas, the per-minute budget and task state;
	// default time.Now. Request timestamps are checked against it only
	// when MaxClockSkew is set.
	Now func() time.Time
	// Keys maps AccessKeyId to AccessKeySecret. Default: one pair,
	// AccessKeyID and AccessKeySecret.
	Keys map[string]string

	// Daily quotas per product (CDN and DCDN count apart). 0 means the
	// documented default; a negative value means none at all.
	URLQuota, DirQuota, RegexQuota, IgnoreParamsQuota, PreloadQuota int
	// DomainURLsPerMinute caps URL refreshes per domain in any rolling
	// minute: 0 means the default 1,000, a negative value turns it off.
	DomainURLsPerMinute int
	// TaskDuration is how long a task stays Refreshing before it is
	// Complete, by Now: 0 means 5 s, a negative value means at once.
	TaskDuration time.Duration
	// Domains, when not empty, are the only domains the account owns;
	// any other answers 404 InvalidDomain.NotFound.
	Domains []string
	// PreloadDetailAllowed puts the account on the allow-list of
	// DescribePreloadDetailById; otherwise it answers 403 Forbidden.
	PreloadDetailAllowed bool
	// MaxClockSkew, when positive, refuses requests whose Timestamp is
	// further than this from Now (InvalidTimeStamp.Expired), as the gateway
	// does with 15 minutes. Zero leaves timestamps unchecked, so that tests
	// may run the emulator on a fake clock.
	MaxClockSkew time.Duration
	// Seed seeds the fault-injection random numbers.
	Seed int64
}

// Faults are failures to inject. Probabilities are in [0, 1] and are drawn
// for each authenticated request, in the order Next, Throttle,
// ServerError; Delay applies before any answer.
type Faults struct {
	// Throttle answers 503 Throttling (CDN) or 429 TooManyRequests (DCDN).
	Throttle float64
	// ServerError answers 500 InternalError.
	ServerError float64
	// Delay holds the answer this long, with probability DelayProb (1 when
	// DelayProb is 0 and Delay is set).
	Delay     time.Duration
	DelayProb float64
	// Next forces the next len(Next) requests to answer these error codes,
	// one each, e.g. "QuotaExceeded.Refresh" or "Throttling".
	Next []string
}

// Call is one accepted action call, as the emulator understood it.
type Call struct {
	Action        string
	Version       string
	Method        string
	ObjectType    string
	Force         bool
	Area          string
	L2Preload     bool
	WithHeader    string
	URLs          []string
	Domain        string   // DomainName of a cache-tag refresh or task query
	CacheTags     []string // CacheTag of a cache-tag refresh
	TaskID        string   // the task ids answered, or the TaskId asked about
	SecurityToken bool     // the request carried an STS SecurityToken
	AccessKeyID   string
}

// Stats count what the emulator saw.
type Stats struct {
	Requests int            // every HTTP request
	Accepted int            // requests answered 200
	Refused  map[string]int // error code -> requests answered with it
	URLs     int            // object paths accepted by refresh and prefetch calls
	STS      int            // authenticated requests carrying a SecurityToken
}

// Server is the emulator. It implements http.Handler and is safe for
// concurrent use.
type Server struct {
	now     func() time.Time
	keys    map[string]string
	limits  quota
	perMin  int
	taskDur time.Duration
	domains map[string]bool
	detail  bool
	skew    time.Duration

	mu       sync.Mutex
	rng      *rand.Rand
	faults   Faults
	seq      uint64 // request ids
	nextTask int64
	tasks    []Task
	quotas   map[string]*quota // product -> remaining
	quotaDay string
	minute   map[string][]stamp // product|domain -> URL refreshes in the last minute
	nonces   map[string]bool
	calls    []Call
	stats    Stats
}

type quota struct {
	url, dir, regex, ignoreParams, preload int
}

type stamp struct {
	t time.Time
	n int
}

// New returns a Server with opts.
func New(opts Options) *Server {
	s := &Server{
		now:      opts.Now,
		keys:     opts.Keys,
		perMin:   opts.DomainURLsPerMinute,
		taskDur:  opts.TaskDuration,
		detail:   opts.PreloadDetailAllowed,
		skew:     opts.MaxClockSkew,
		rng:      rand.New(rand.NewPCG(uint64(opts.Seed), 0x5eed)),
		nextTask: 17000000000,
		minute:   map[string][]stamp{},
		nonces:   map[string]bool{},
		stats:    Stats{Refused: map[string]int{}},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if len(s.keys) == 0 {
		s.keys = map[string]string{AccessKeyID: AccessKeySecret}
	}
	s.limits = quota{
		url:          quotaValue(opts.URLQuota, DefaultURLQuota),
		dir:          quotaValue(opts.DirQuota, DefaultDirQuota),
		regex:        quotaValue(opts.RegexQuota, DefaultRegexQuota),
		ignoreParams: quotaValue(opts.IgnoreParamsQuota, DefaultIgnoreParamsQuota),
		preload:      quotaValue(opts.PreloadQuota, DefaultPreloadQuota),
	}
	if s.perMin == 0 {
		s.perMin = DefaultDomainURLsPerMinute
	}
	if s.taskDur == 0 {
		s.taskDur = DefaultTaskDuration
	}
	if len(opts.Domains) > 0 {
		s.domains = map[string]bool{}
		for _, d := range opts.Domains {
			s.domains[strings.ToLower(d)] = true
		}
	}
	s.resetQuotaLocked()
	return s
}

func quotaValue(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// Inject replaces the faults to inject.
func (s *Server) Inject(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.Next = append([]string(nil), f.Next...)
	s.faults = f
}

// Calls returns every accepted action call so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	copy(out, s.calls)
	return out
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Refused = make(map[string]int, len(s.stats.Refused))
	for k, v := range s.stats.Refused {
		st.Refused[k] = v
	}
	return st
}

// Reset forgets the recorded calls and zeroes the counters. Tasks and
// quotas are kept.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
	s.stats = Stats{Refused: map[string]int{}}
}

// ResetQuota restores every daily quota, as the daily reset does, and
// clears the per-minute budget.
func (s *Server) ResetQuota() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetQuotaLocked()
	s.minute = map[string][]stamp{}
}

func (s *Server) resetQuotaLocked() {
	s.quotas = map[string]*quota{}
	for _, p := range []string{productCDN, productDCDN} {
		q := s.limits
		s.quotas[p] = &q
	}
	s.quotaDay = quotaDay(s.now())
}

// quotaDay names the quota day of t; quotas roll over at 00:00 UTC+8.
func quotaDay(t time.Time) string {
	return t.In(time.FixedZone("UTC+8", 8*3600)).Format(time.DateOnly)
}

// quotaLocked returns product's remaining quota, rolled over if a new day
// has begun.
func (s *Server) quotaLocked(product string, now time.Time) *quota {
	if d := quotaDay(now); d != s.quotaDay {
		s.resetQuotaLocked()
	}
	return s.quotas[product]
}

// request is one decoded, authenticated request.
type request struct {
	method  string
	params  url.Values
	product *product
	action  string
	keyID   string
	sts     bool
	now     time.Time
}

func (q *request) get(name string) string { return q.params.Get(name) }

// ServeHTTP answers one RPC request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.seq++
	rid := requestID(s.seq)
	s.stats.Requests++
	s.mu.Unlock()

	body, host, e := s.serve(r)
	if e != nil {
		s.mu.Lock()
		s.stats.Refused[e.code]++
		s.mu.Unlock()
		writeJSON(w, rid, e.status, map[string]any{
			"RequestId": rid,
			"HostId":    host,
			"Code":      e.code,
			"Message":   e.message,
			"Recommend": "https://error-center.aliyun.com/status/search?Keyword=" + url.QueryEscape(e.code) + "&source=PopGw",
		})
		return
	}
	s.mu.Lock()
	s.stats.Accepted++
	s.mu.Unlock()
	body["RequestId"] = rid
	writeJSON(w, rid, http.StatusOK, body)
}

func writeJSON(w http.ResponseWriter, rid string, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"Code":"InternalError","Message":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("x-acs-request-id", rid)
	w.WriteHeader(status)
	w.Write(b)
}

// requestID formats n like the gateway's request ids (a UUID shape).
func requestID(n uint64) string {
	return fmt.Sprintf("E0C2EF95-%04X-4C93-855E-%012X", (n>>48)&0xffff, n&0xffffffffffff)
}

// serve authenticates and dispatches r, returning the success body or the
// error, and the HostId to report.
func (s *Server) serve(r *http.Request) (map[string]any, string, *apiError) {
	host := r.Host
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return nil, host, errorf(http.StatusBadRequest, "UnsupportedHTTPMethod", "Specified HTTP method %s is not supported.", r.Method)
	}
	if err := r.ParseForm(); err != nil {
		return nil, host, errorf(http.StatusBadRequest, "InvalidParameter", "The request parameters cannot be parsed.")
	}
	q := &request{method: r.Method, params: r.Form, action: r.Form.Get("Action")}
	if q.action == "" {
		return nil, host, missing("Action")
	}
	a, ok := actions[q.action]
	if ok {
		q.product = a.product
		host = a.product.host
	}
	if e := s.verify(q); e != nil {
		return nil, host, e
	}
	if !ok {
		return nil, host, knownError("InvalidAction.NotFound")
	}
	if v := q.get("Version"); v != a.product.version {
		if v == "" {
			return nil, host, missing("Version")
		}
		return nil, host, named("InvalidVersion", "Specified parameter Version %q is not valid for %s.", v, q.action)
	}
	if e := s.fault(r, q); e != nil {
		return nil, host, e
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	q.now = s.now()
	call := Call{
		Action:        q.action,
		Version:       q.get("Version"),
		Method:        q.method,
		SecurityToken: q.sts,
		AccessKeyID:   q.keyID,
	}
	body, e := a.handle(s, q, &call)
	if e != nil {
		return nil, host, e
	}
	s.calls = append(s.calls, call)
	return body, host, nil
}

// verify checks the v1 signature of q (platform.md §7.1.2).
func (s *Server) verify(q *request) *apiError {
	for _, p := range []string{"AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp"} {
		if q.get(p) == "" {
			return missing(p)
		}
	}
	if m := q.get("SignatureMethod"); m != "HMAC-SHA1" {
		return named("IncompleteSignature", "The SignatureMethod %q is not supported; use HMAC-SHA1.", m)
	}
	if v := q.get("SignatureVersion"); v != "1.0" {
		return named("IncompleteSignature", "The SignatureVersion %q is not supported; use 1.0.", v)
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", q.get("Timestamp"))
	if err != nil {
		return named("InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted: %q.", q.get("Timestamp"))
	}
	q.keyID = q.get("AccessKeyId")
	secret, ok := s.keys[q.keyID]
	if !ok {
		return knownError("InvalidAccessKeyId.NotFound")
	}
	sts := StringToSign(q.method, q.params)
	want := Sign(secret, sts)
	if !hmac.Equal([]byte(want), []byte(q.get("Signature"))) {
		return named("SignatureDoesNotMatch", "Specified signature is not matched with our calculation. server string to sign is:%s", sts)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.skew > 0 {
		if d := s.now().Sub(ts); d > s.skew || d < -s.skew {
			return knownError("InvalidTimeStamp.Expired")
		}
	}
	nonce := q.keyID + "|" + q.get("SignatureNonce")
	if s.nonces[nonce] {
		return knownError("SignatureNonceUsed")
	}
	if len(s.nonces) >= 100000 { // bound memory; replays older than this are not caught
		s.nonces = map[string]bool{}
	}
	s.nonces[nonce] = true
	if q.get("SecurityToken") != "" {
		q.sts = true
		s.stats.STS++
	}
	return nil
}

// fault applies the injected faults to one authenticated request.
func (s *Server) fault(r *http.Request, q *request) *apiError {
	s.mu.Lock()
	f := &s.faults
	var e *apiError
	if len(f.Next) > 0 {
		e = knownError(f.Next[0])
		f.Next = f.Next[1:]
	} else if f.Throttle > 0 && s.rng.Float64() < f.Throttle {
		if q.product.name == productDCDN {
			e = knownError("TooManyRequests")
		} else {
			e = knownError("Throttling")
		}
	} else if f.ServerError > 0 && s.rng.Float64() < f.ServerError {
		e = knownError("InternalError")
	}
	var delay time.Duration
	if f.Delay > 0 && (f.DelayProb == 0 || s.rng.Float64() < f.DelayProb) {
		delay = f.Delay
	}
	s.mu.Unlock()

	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
		}
	}
	return e
}
