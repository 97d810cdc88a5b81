package cdn

import (
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
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

// Defaults, as documented for a new account (see Documented for each
// statement and its source).
const (
	DefaultURLQuota            = 10000
	DefaultDirQuota            = 100
	DefaultRegexQuota          = 20
	DefaultIgnoreParamsQuota   = 100
	DefaultPreloadQuota        = 1000
	DefaultDomainURLsPerMinute = 1000
	DefaultPreloadQueue        = 100000
	DefaultTaskDuration        = 5 * time.Second

	// DefaultCacheTagsPerCall is the emulator's own limit on the tags of
	// one cache-tag refresh: no API page gives one (the CacheTag parameter
	// is only "separated by commas"), so the emulator keeps to a
	// conservative 10, like the 10 domains of one RefreshObjectCaches call
	// and the 10 ids of one DescribeRefreshTaskById call.
	DefaultCacheTagsPerCall = 10

	preloadEdgeQuota = 20
	blockQuota       = 100
)

// The spellings of ObjectType IgnoreParams that Options.IgnoreParamsSpelling
// chooses from for CDN RefreshObjectCaches.
const (
	SpellBoth         = "both"
	SpellIgnoreParams = "IgnoreParams"
	SpellExQuery      = "ExQuery"
)

// Domain states other than online, for Options.DomainStatus.
const (
	DomainOffline     = "offline"     // 404 InvalidDomain.Offline
	DomainConfiguring = "configuring" // 403 ServiceBusy
	DomainIllegal     = "illegal"     // 403 IllegalOperation
)

// Options configure a Server. The zero value is a fresh account with the
// default credentials, the documented limits and quotas, and no faults.
type Options struct {
	// Now is the clock for quotas, rate limits, the per-minute budget and
	// task state; default time.Now. Request timestamps are checked against
	// it only when MaxClockSkew is set.
	Now func() time.Time
	// Keys maps AccessKeyId to AccessKeySecret. Default: one pair,
	// AccessKeyID and AccessKeySecret.
	Keys map[string]string

	// Daily quotas per product (CDN and DCDN count apart). 0 means the
	// documented default; a negative value means none at all.
	URLQuota, DirQuota, RegexQuota, IgnoreParamsQuota, PreloadQuota int
	// DomainURLsPerMinute caps URL refreshes (File and IgnoreParams) per
	// domain in any rolling minute: 0 means the default 1,000, a negative
	// value turns it off.
	DomainURLsPerMinute int
	// CallsPerSecond overrides the documented calls-per-second limits by
	// Action; the key "*" sets every action at once. A negative value
	// turns the limit off.
	CallsPerSecond map[string]int
	// ThrottleStatus is how a call over its calls-per-second limit (and an
	// injected throttle) is answered: 429 TooManyRequests (default; seed
	// 001's error table) or 503 Throttling (the older API pages).
	ThrottleStatus int
	// IgnoreParamsSpelling chooses the spelling of the parameter-ignoring
	// ObjectType that CDN RefreshObjectCaches accepts: SpellBoth (default),
	// SpellIgnoreParams or SpellExQuery. The other spelling is answered 400
	// InvalidObjectType.Malformed. DCDN always spells it IgnoreParams.
	IgnoreParamsSpelling string
	// CacheTagsPerCall caps the tags of one cache-tag refresh: 0 means
	// DefaultCacheTagsPerCall, a negative value turns it off.
	CacheTagsPerCall int
	// PreloadQueue caps the prefetch URLs not yet done per product before
	// PreloadQueueFull: 0 means the documented 100,000, negative is off.
	PreloadQueue int
	// DomainRefreshQueue, when positive, caps the refresh paths not yet
	// done per domain before TooMany.Refresh. No page gives the size, so
	// it is off by default.
	DomainRefreshQueue int

	// TaskDuration is how long a task takes from creation to Complete or
	// Failed, by Now: Pending for its first fifth, then Refreshing. 0 means
	// DefaultTaskDuration, a negative value means done at once.
	TaskDuration time.Duration
	// Domains, when not empty, are the only domains the account owns;
	// any other answers 404 InvalidDomain.NotFound.
	Domains []string
	// DomainStatus puts domains in a state other than online, e.g.
	// {"old.example.com": DomainOffline}; refreshing or prefetching them
	// is answered with the state's code.
	DomainStatus map[string]string
	// Suspended answers refresh and prefetch calls 403 OperationDenied, as
	// for an account whose CDN service is suspended.
	Suspended bool
	// PreloadDetailAllowed puts the account on the allow-list of
	// DescribePreloadDetailById; otherwise it answers 403 Forbidden.
	PreloadDetailAllowed bool
	// MaxClockSkew, when positive, refuses requests whose Timestamp is
	// further than this from Now (InvalidTimeStamp.Expired), as the gateway
	// does with 15 minutes. Zero leaves timestamps unchecked, so that tests
	// may run the emulator on a fake clock.
	MaxClockSkew time.Duration
	// Faults are injected from the start, and again after ResetAll.
	Faults Faults
	// Seed seeds the random numbers of faults and task failures.
	Seed int64

	// EventTarget, when set, is the base URL of a function to which the
	// emulator posts CachedObjectsRefreshed and CachedObjectsPushed events
	// as Function Compute's CDN event trigger would (see Event).
	EventTarget string
	// EventRetries is how many times a failed delivery is retried: 0 means
	// 3, as FC retries an asynchronous invocation; negative means never.
	EventRetries int
	// EventClient posts the events; default: a client with a 60 s timeout.
	EventClient *http.Client
}

// Faults are failures to inject. Probabilities are in [0, 1] and are drawn
// for each authenticated request to one of Actions (every action when
// empty), in the order Next, Throttle, ServerError; Delay applies before
// any answer. TaskFail applies to each task record as it is created.
type Faults struct {
	// Throttle answers as Options.ThrottleStatus does.
	Throttle float64
	// ServerError answers 500 InternalError.
	ServerError float64
	// Delay holds the answer this long, with probability DelayProb (1 when
	// DelayProb is 0 and Delay is set).
	Delay     time.Duration
	DelayProb float64
	// Next forces the next len(Next) requests to answer these error codes,
	// one each, e.g. "QuotaExceeded.Refresh" or "ServiceBusy".
	Next []string
	// Actions limits the faults above to these actions.
	Actions []string
	// TaskFail is the share of new tasks that end Failed, with a
	// documented Description.
	TaskFail float64
}

// Check reports the first fault that is out of range: a probability
// outside [0, 1], a negative delay, an action not served, an empty code.
func (f Faults) Check() error {
	for _, r := range []struct {
		name string
		v    float64
	}{{"throttle rate", f.Throttle}, {"fail rate", f.ServerError}, {"delay rate", f.DelayProb}, {"task fail rate", f.TaskFail}} {
		if r.v < 0 || r.v > 1 {
			return fmt.Errorf("%s %v is not between 0 and 1", r.name, r.v)
		}
	}
	if f.Delay < 0 {
		return fmt.Errorf("delay %v is negative", f.Delay)
	}
	for _, a := range f.Actions {
		if _, ok := actions[a]; !ok {
			return fmt.Errorf("action %q is not one the emulator serves", a)
		}
	}
	for _, c := range f.Next {
		if c == "" {
			return errors.New("an empty error code among the next ones")
		}
	}
	return nil
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
	QueryHashkey  bool
	URLs          []string
	Domain        string   // DomainName of a cache-tag refresh or task query
	CacheTags     []string // CacheTag of a cache-tag refresh
	RoutineID     string   // RoutineId of RefreshErObjectCaches
	MergeDomains  []string // MergeDomainName of RefreshErObjectCaches
	TaskID        string   // the task ids answered, or the TaskId asked about
	SecurityToken bool     // the request carried an STS SecurityToken
	AccessKeyID   string
}

// Stats count what the emulator saw.
type Stats struct {
	Requests   int            `json:"requests"`    // every API request
	Accepted   int            `json:"accepted"`    // requests answered 200
	Refused    map[string]int `json:"refused"`     // error code -> requests answered with it
	Calls      map[string]int `json:"calls"`       // action -> authenticated requests to it
	URLs       int            `json:"urls"`        // object paths accepted by refresh and prefetch calls
	DomainURLs map[string]int `json:"domain_urls"` // domain -> object paths accepted for it
	STS        int            `json:"sts"`         // authenticated requests carrying a SecurityToken
	Tasks      map[string]int `json:"tasks"`       // status now -> task records
	Events     EventStats     `json:"events"`
}

// EventStats count the CDN events posted to Options.EventTarget.
type EventStats struct {
	Delivered int `json:"delivered"` // events the function accepted
	Failed    int `json:"failed"`    // deliveries that failed, retries included
	Retries   int `json:"retries"`   // deliveries that were retries
	Dropped   int `json:"dropped"`   // events given up after the last retry
}

// Check reports the first option that New would not understand.
func (o Options) Check() error {
	switch o.ThrottleStatus {
	case 0, http.StatusTooManyRequests, http.StatusServiceUnavailable:
	default:
		return fmt.Errorf("throttle status %d is neither 429 nor 503", o.ThrottleStatus)
	}
	switch o.IgnoreParamsSpelling {
	case "", SpellBoth, SpellIgnoreParams, SpellExQuery:
	default:
		return fmt.Errorf("IgnoreParams spelling %q is not %s, %s or %s", o.IgnoreParamsSpelling, SpellBoth, SpellIgnoreParams, SpellExQuery)
	}
	for d, st := range o.DomainStatus {
		switch st {
		case DomainOffline, DomainConfiguring, DomainIllegal:
		default:
			return fmt.Errorf("domain %s: state %q is not %s, %s or %s", d, st, DomainOffline, DomainConfiguring, DomainIllegal)
		}
	}
	for a := range o.CallsPerSecond {
		if _, ok := actions[a]; !ok && a != "*" {
			return fmt.Errorf("calls per second: action %q is not one the emulator serves", a)
		}
	}
	if o.EventTarget != "" {
		u, err := url.Parse(o.EventTarget)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("event target %q is not an http(s) URL", o.EventTarget)
		}
	}
	return o.Faults.Check()
}

// Server is the emulator. It implements http.Handler and is safe for
// concurrent use.
type Server struct {
	opts    Options
	now     func() time.Time
	keys    map[string]string
	limits  quota
	perMin  int
	perSec  map[string]int // action -> calls per second; absent or <= 0: none
	taskDur time.Duration
	domains map[string]bool
	status  map[string]string
	events  *http.Client

	mu       sync.Mutex
	rng      *rand.Rand
	faults   Faults
	seq      uint64 // request ids
	nextTask int64
	tasks    []Task
	merge    map[string]*mergedID // product|domain|second -> URL task id being filled
	quotas   map[string]*quota    // product -> remaining
	quotaDay string
	minute   map[string][]stamp     // product|domain -> URL refreshes in the last minute
	second   map[string][]time.Time // action -> calls in the last second
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
		opts:    opts,
		now:     opts.Now,
		keys:    opts.Keys,
		perMin:  opts.DomainURLsPerMinute,
		taskDur: opts.TaskDuration,
		events:  opts.EventClient,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if len(s.keys) == 0 {
		s.keys = map[string]string{AccessKeyID: AccessKeySecret}
	}
	s.limits = quota{
		url:          orDefault(opts.URLQuota, DefaultURLQuota),
		dir:          orDefault(opts.DirQuota, DefaultDirQuota),
		regex:        orDefault(opts.RegexQuota, DefaultRegexQuota),
		ignoreParams: orDefault(opts.IgnoreParamsQuota, DefaultIgnoreParamsQuota),
		preload:      orDefault(opts.PreloadQuota, DefaultPreloadQuota),
	}
	if s.perMin == 0 {
		s.perMin = DefaultDomainURLsPerMinute
	}
	if s.taskDur == 0 {
		s.taskDur = DefaultTaskDuration
	}
	s.perSec = map[string]int{}
	for name, a := range actions {
		s.perSec[name] = a.perSecond
		if v, ok := opts.CallsPerSecond["*"]; ok {
			s.perSec[name] = v
		}
		if v, ok := opts.CallsPerSecond[name]; ok {
			s.perSec[name] = v
		}
	}
	if len(opts.Domains) > 0 {
		s.domains = map[string]bool{}
		for _, d := range opts.Domains {
			s.domains[strings.ToLower(d)] = true
		}
	}
	s.status = map[string]string{}
	for d, st := range opts.DomainStatus {
		s.status[strings.ToLower(d)] = st
	}
	if s.events == nil {
		s.events = &http.Client{Timeout: 60 * time.Second}
	}
	s.resetLocked()
	return s
}

// orDefault returns v, def when v is 0, and 0 (none, or off) when v is
// negative.
func orDefault(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// resetLocked puts every piece of state back to what New made.
func (s *Server) resetLocked() {
	s.rng = rand.New(rand.NewPCG(uint64(s.opts.Seed), 0x5eed))
	s.faults = cloneFaults(s.opts.Faults)
	s.nextTask = 17000000000
	s.tasks = nil
	s.merge = map[string]*mergedID{}
	s.minute = map[string][]stamp{}
	s.second = map[string][]time.Time{}
	s.nonces = map[string]bool{}
	s.calls = nil
	s.stats = newStats()
	s.resetQuotaLocked()
}

func newStats() Stats {
	return Stats{Refused: map[string]int{}, Calls: map[string]int{}, DomainURLs: map[string]int{}}
}

func cloneFaults(f Faults) Faults {
	f.Next = slices.Clone(f.Next)
	f.Actions = slices.Clone(f.Actions)
	return f
}

// Inject replaces the faults to inject.
func (s *Server) Inject(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = cloneFaults(f)
}

// Faults returns the faults being injected now.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneFaults(s.faults)
}

// Calls returns every accepted action call so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Stats returns the counters so far, and the task records by status now.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Refused = cloneMap(s.stats.Refused)
	st.Calls = cloneMap(s.stats.Calls)
	st.DomainURLs = cloneMap(s.stats.DomainURLs)
	st.Tasks = map[string]int{}
	now := s.now()
	for i := range s.tasks {
		st.Tasks[s.tasks[i].Status(now)]++
	}
	return st
}

func cloneMap(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Reset forgets the recorded calls and zeroes the counters. Tasks, quotas
// and faults are kept.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
	s.stats = newStats()
}

// ResetAll puts the emulator back to its start: quotas, rate and minute
// budgets, tasks, recorded calls, counters, and faults (Options.Faults).
func (s *Server) ResetAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
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

// ServeHTTP answers one RPC request, or a request to the unsigned control
// endpoints under /_emulator/ (see control.go).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		s.control(w, r)
		return
	}
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
	if rid != "" {
		w.Header().Set("x-acs-request-id", rid)
	}
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
	s.mu.Lock()
	s.stats.Calls[q.action]++
	s.mu.Unlock()
	if v := q.get("Version"); v != a.product.version {
		if v == "" {
			return nil, host, missing("Version")
		}
		return nil, host, refuse("InvalidVersion", "Version %q is not valid for %s.", v, q.action)
	}
	if e := s.rateLimit(q.action); e != nil {
		return nil, host, e
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

// verify checks the v1 signature of q (RPC signature v1: HMAC-SHA1 over
// the sorted, percent-encoded parameters).
func (s *Server) verify(q *request) *apiError {
	for _, p := range []string{"AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp"} {
		if q.get(p) == "" {
			return missing(p)
		}
	}
	if m := q.get("SignatureMethod"); m != "HMAC-SHA1" {
		return refuse("IncompleteSignature", "The SignatureMethod %q is not supported; use HMAC-SHA1.", m)
	}
	if v := q.get("SignatureVersion"); v != "1.0" {
		return refuse("IncompleteSignature", "The SignatureVersion %q is not supported; use 1.0.", v)
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", q.get("Timestamp"))
	if err != nil {
		return refuse("InvalidTimeStamp.Format", "Timestamp %q is not yyyy-MM-ddTHH:mm:ssZ.", q.get("Timestamp"))
	}
	q.keyID = q.get("AccessKeyId")
	secret, ok := s.keys[q.keyID]
	if !ok {
		return knownError("InvalidAccessKeyId.NotFound")
	}
	sts := StringToSign(q.method, q.params)
	want := Sign(secret, sts)
	if !hmac.Equal([]byte(want), []byte(q.get("Signature"))) {
		return refuse("SignatureDoesNotMatch", "server string to sign is:%s", sts)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.MaxClockSkew > 0 {
		if d := s.now().Sub(ts); d > s.opts.MaxClockSkew || d < -s.opts.MaxClockSkew {
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

// throttled is the answer to a call over its rate: Options.ThrottleStatus.
func (s *Server) throttled(detail string, args ...any) *apiError {
	if s.opts.ThrottleStatus == http.StatusServiceUnavailable {
		return refuse("Throttling", detail, args...)
	}
	return refuse("TooManyRequests", detail, args...)
}

// rateLimit admits one call to action if fewer than its calls-per-second
// limit were admitted in the second before Now, the account's rate as the
// API pages state it per action.
func (s *Server) rateLimit(action string) *apiError {
	limit := s.perSec[action]
	if limit <= 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	kept := s.second[action][:0]
	for _, t := range s.second[action] {
		if now.Sub(t) < time.Second {
			kept = append(kept, t)
		}
	}
	s.second[action] = kept
	if len(kept) >= limit {
		return s.throttled("%s allows %d calls per second per account.", action, limit)
	}
	s.second[action] = append(kept, now)
	return nil
}

// fault applies the injected faults to one authenticated request.
func (s *Server) fault(r *http.Request, q *request) *apiError {
	s.mu.Lock()
	f := &s.faults
	if len(f.Actions) > 0 && !slices.Contains(f.Actions, q.action) {
		s.mu.Unlock()
		return nil
	}
	var e *apiError
	if len(f.Next) > 0 {
		e = knownError(f.Next[0])
		f.Next = f.Next[1:]
	} else if f.Throttle > 0 && s.rng.Float64() < f.Throttle {
		e = s.throttled("(injected)")
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
