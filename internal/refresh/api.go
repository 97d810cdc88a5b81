package refresh

// The CDN (API version 2018-05-10) and DCDN (2018-01-15) operations
// cdnrefresh calls, by their action names. This is the one list: the
// planner names calls with them, the client sends them, the limiters pace
// them.
const (
	APIRefresh       = "RefreshObjectCaches"          // CDN refresh
	APIPush          = "PushObjectCache"              // CDN prefetch
	APICacheTag      = "RefreshObjectCacheByCacheTag" // CDN refresh by cache tag
	APIQuota         = "DescribeRefreshQuota"
	APITasks         = "DescribeRefreshTasks"
	APITaskByID      = "DescribeRefreshTaskById"
	APIPreloadDetail = "DescribePreloadDetailById" // allow-listed accounts only

	APIRefreshDCDN  = "RefreshDcdnObjectCaches"          // DCDN refresh
	APIPreloadDCDN  = "PreloadDcdnObjectCaches"          // DCDN prefetch
	APICacheTagDCDN = "RefreshDcdnObjectCacheByCacheTag" // DCDN refresh by cache tag
	APIRefreshER    = "RefreshErObjectCaches"            // DCDN Edge Routine cache refresh
	APIQuotaDCDN    = "DescribeDcdnRefreshQuota"
	APITasksDCDN    = "DescribeDcdnRefreshTasks"
	APITaskByIDDCDN = "DescribeDcdnRefreshTaskById"
)

// DefaultProvider is the provider of a rule, job or call that names none.
const DefaultProvider = CDN

// OrDefault returns p, or DefaultProvider when p is empty.
func (p Provider) OrDefault() Provider {
	if p == "" {
		return DefaultProvider
	}
	return p
}

// APIFor returns the operation that carries out the jobs of provider p
// (an empty p is DefaultProvider), action a and object type t, Edge
// Routine caches when edgeRoutine, or "" when there is none. It is the one
// place a job's API follows from: the planner names calls with it, the
// client sends what it names.
//
//   - refresh: RefreshObjectCaches (CDN), RefreshDcdnObjectCaches (DCDN);
//     of an Edge Routine's cache, RefreshErObjectCaches (DCDN only);
//   - refresh by cache tag (t CacheTag): RefreshObjectCacheByCacheTag (CDN),
//     RefreshDcdnObjectCacheByCacheTag (DCDN);
//   - prefetch: PushObjectCache (CDN), PreloadDcdnObjectCaches (DCDN).
func APIFor(p Provider, a Action, t ObjectType, edgeRoutine bool) string {
	p = p.OrDefault()
	if p != CDN && p != DCDN {
		return ""
	}
	dcdn := p == DCDN
	switch {
	case a == ActionPrefetch && !edgeRoutine && t != CacheTag:
		return pick(dcdn, APIPreloadDCDN, APIPush)
	case a != ActionRefresh:
		return ""
	case t == CacheTag:
		if edgeRoutine {
			return ""
		}
		return pick(dcdn, APICacheTagDCDN, APICacheTag)
	case edgeRoutine:
		return pick(dcdn, APIRefreshER, "")
	}
	return pick(dcdn, APIRefreshDCDN, APIRefresh)
}

func pick(dcdn bool, ifDCDN, ifCDN string) string {
	if dcdn {
		return ifDCDN
	}
	return ifCDN
}

// API returns the operation that carries out j (APIFor), or "".
func (j Job) API() string { return APIFor(j.Provider, j.Action, j.ObjectType, j.Routine != "") }

// The spellings of the parameter-ignoring object type. The CDN
// RefreshObjectCaches page (seed 001, Request parameters, ObjectType)
// lists File | Directory | Regex | ExQuery; the DCDN pages
// (RefreshDcdnObjectCaches; seed 003, RefreshErObjectCaches) list
// IgnoreParams, and DescribeRefreshQuota answers IgnoreParamsQuota for
// both.
const (
	SpellIgnoreParams = "IgnoreParams"
	SpellExQuery      = "ExQuery"
)

// ObjectTypeSpellings returns the values of ObjectType that may mean t to
// api, in the order a client tries them: for CDN RefreshObjectCaches,
// IgnoreParams is first sent as IgnoreParams and, when the API refuses
// the spelling, as ExQuery. It returns nil where there is one spelling,
// t itself, and for APIs that take no ObjectType.
func ObjectTypeSpellings(api string, t ObjectType) []string {
	if api == APIRefresh && t == IgnoreParams {
		return []string{SpellIgnoreParams, SpellExQuery}
	}
	return nil
}

// QuotaKind names one of an account's daily quotas, after the
// DescribeRefreshQuota fields it is read from (UrlRemain, DirRemain,
// RegexRemain, IgnoreParamsRemain, PreloadRemain, PreloadEdgeRemain,
// BlockRemain).
type QuotaKind string

// Quota kinds. Jobs draw on the first five; the quota API also reports the
// last two.
const (
	QuotaURL          QuotaKind = "url"
	QuotaDir          QuotaKind = "dir"
	QuotaRegex        QuotaKind = "regex"
	QuotaIgnoreParams QuotaKind = "ignore_params"
	QuotaPreload      QuotaKind = "preload"
	QuotaPreloadEdge  QuotaKind = "preload_edge"
	QuotaBlock        QuotaKind = "block"
)

// SpendKinds are the quota kinds jobs draw on.
var SpendKinds = []QuotaKind{QuotaURL, QuotaDir, QuotaRegex, QuotaIgnoreParams, QuotaPreload}

// quotaKind is the daily quota a job or call of action a and object type t
// draws on.
func quotaKind(a Action, t ObjectType) QuotaKind {
	if a == ActionPrefetch {
		return QuotaPreload
	}
	switch t {
	case Directory, CacheTag:
		// A cache tag, like a directory, purges all in its scope; no page
		// says which quota it draws on, and the emulator counts each tag
		// against the directory quota (documented.go, Assumed).
		return QuotaDir
	case Regex:
		return QuotaRegex
	case IgnoreParams:
		return QuotaIgnoreParams
	}
	return QuotaURL
}

// QuotaKind is the daily quota j draws on.
func (j Job) QuotaKind() QuotaKind { return quotaKind(j.Action, j.ObjectType) }

// QuotaKind is the daily quota c draws on.
func (c Call) QuotaKind() QuotaKind { return quotaKind(c.Action, c.ObjectType) }

// Of returns what remains of kind k (Unlimited for a kind q does not cap).
func (q Quota) Of(k QuotaKind) int {
	switch k {
	case QuotaURL:
		return q.URL
	case QuotaDir:
		return q.Dir
	case QuotaRegex:
		return q.Regex
	case QuotaIgnoreParams:
		return q.IgnoreParams
	case QuotaPreload:
		return q.Preload
	}
	return Unlimited
}

// field returns the field of q that kind k counts, or nil.
func (q *Quota) field(k QuotaKind) *int {
	switch k {
	case QuotaURL:
		return &q.URL
	case QuotaDir:
		return &q.Dir
	case QuotaRegex:
		return &q.Regex
	case QuotaIgnoreParams:
		return &q.IgnoreParams
	case QuotaPreload:
		return &q.Preload
	}
	return nil
}

// Spend takes n from kind k (never below 0); n < 0 empties it.
func (q *Quota) Spend(k QuotaKind, n int) {
	f := q.field(k)
	if f == nil || *f == Unlimited {
		return
	}
	if n < 0 {
		*f = 0
		return
	}
	*f = max(0, *f-n)
}

// Allowance is one daily quota: its total and what remains of it today.
type Allowance struct {
	Total  int `json:"total"`
	Remain int `json:"remain"`
}

// DailyQuota is an account's daily quotas as the quota API answers them
// (DescribeRefreshQuota, DescribeDcdnRefreshQuota): every kind it reports.
type DailyQuota map[QuotaKind]Allowance

// Remaining returns what remains of the kinds jobs draw on; a kind the
// answer lacks counts as none left.
func (d DailyQuota) Remaining() Quota {
	var q Quota
	for _, k := range SpendKinds {
		*q.field(k) = d[k].Remain
	}
	return q
}
