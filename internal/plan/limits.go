package plan

import (
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// Per-call limits of CDN RefreshObjectCaches ("each request can contain up to
// 1,000 URLs, or 100 directories, or 1 regular expression; at most 10
// domain names"); see
// https://www.alibabacloud.com/help/en/cdn/developer-reference/api-cdn-2018-05-10-refreshobjectcaches
// (ObjectPath and the usage notes). IgnoreParams paths are URLs and share
// the URL limit.
const (
	MaxRefreshURLs  = 1000
	MaxRefreshDirs  = 100
	MaxRefreshRegex = 1
	MaxDomains      = 10
)

// MaxPushURLs is the per-call limit of CDN PushObjectCache ("you can submit up
// to 100 URL prefetch tasks at a time"); see
// https://www.alibabacloud.com/help/en/cdn/developer-reference/api-cdn-2018-05-10-pushobjectcache
const MaxPushURLs = 100

// Per-call limits of DCDN RefreshDcdnObjectCaches ("each request can contain
// up to 1,000 URLs or 100 directories"; 10 domain names as on the CDN
// RefreshObjectCaches page, assumed for DCDN too); see
// https://www.alibabacloud.com/help/en/edge-security-acceleration/dcdn/developer-reference/api-dcdn-2018-01-15-refreshdcdnobjectcaches
// The page states no regex limit; the CDN one (1) is assumed.
const (
	MaxDCDNRefreshURLs  = 1000
	MaxDCDNRefreshDirs  = 100
	MaxDCDNRefreshRegex = 1
	MaxDCDNDomains      = 10
)

// MaxDCDNPreloadURLs is the per-call limit of DCDN PreloadDcdnObjectCaches
// ("you can submit up to 100 URL prefetch tasks in each request"); see
// https://www.alibabacloud.com/help/en/edge-security-acceleration/dcdn/developer-reference/api-dcdn-2018-01-15-preloaddcdnobjectcaches
const MaxDCDNPreloadURLs = 100

// Per-call limits of DCDN RefreshErObjectCaches, the Edge Routine cache
// refresh (seed 003, Operation description: "up to 1,000 URLs or 100
// directories ... in each request"; ObjectPath: "The URLs in a request must
// belong to the same domain name"). The page states no regex limit; the
// CDN one (1) is assumed.
const (
	MaxERURLs    = 1000
	MaxERDirs    = 100
	MaxERRegex   = 1
	MaxERDomains = 1
)

// MaxCacheTags is how many cache tags one RefreshObjectCacheByCacheTag or
// RefreshDcdnObjectCacheByCacheTag call carries, comma-joined in CacheTag,
// for one DomainName. The documents are silent on a limit (seed 000:
// "the tags ... separated by commas"); 10 is the emulator's assumption
// (internal/emulator/cdn, DefaultCacheTagsPerCall, marked Assumed in
// documented.go), which the planner keeps to. More tags are split into
// more calls; a call the API refuses as too long is halved by the
// pipeline, never refused whole.
const MaxCacheTags = 10

// MaxPathLength is the longest ObjectPath entry the refresh and prefetch APIs
// accept, in bytes (the ObjectPath parameter on the RefreshObjectCaches and
// PushObjectCache API pages cited above).
const MaxPathLength = 1024

// Limits are the per-call limits the planner keeps to. A zero or negative
// field means the documented default (see DefaultLimits), so the zero Limits
// is ready to use; lower values make smaller calls.
//
// The domain limits are applied to prefetch calls too: the prefetch pages
// state none, and keeping to it costs at most a few more calls.
type Limits struct {
	RefreshURLs  int // CDN File and IgnoreParams paths per call
	RefreshDirs  int // CDN Directory paths per call
	RefreshRegex int // CDN Regex patterns per call
	Domains      int // CDN distinct domain names per call
	PushURLs     int // CDN prefetch URLs per call

	DCDNRefreshURLs  int // DCDN File and IgnoreParams paths per call
	DCDNRefreshDirs  int // DCDN Directory paths per call
	DCDNRefreshRegex int // DCDN Regex patterns per call
	DCDNDomains      int // DCDN distinct domain names per call
	DCDNPreloadURLs  int // DCDN prefetch URLs per call

	ERURLs    int // RefreshErObjectCaches File and IgnoreParams paths per call
	ERDirs    int // RefreshErObjectCaches Directory paths per call
	CacheTags int // cache tags per cache-tag call (CDN and DCDN)
}

// CapPaths returns l with no call carrying more than n paths (n > 0), e.g.
// a domain's per-minute URL budget: a call over it would never be let
// through.
func (l Limits) CapPaths(n int) Limits {
	if n > 0 {
		for _, f := range []*int{&l.RefreshURLs, &l.RefreshDirs, &l.PushURLs, &l.DCDNRefreshURLs, &l.DCDNRefreshDirs, &l.DCDNPreloadURLs, &l.ERURLs, &l.ERDirs} {
			*f = min(*f, n)
		}
	}
	return l
}

// DefaultLimits returns the limits the provider documents.
func DefaultLimits() Limits {
	return Limits{
		RefreshURLs:      MaxRefreshURLs,
		RefreshDirs:      MaxRefreshDirs,
		RefreshRegex:     MaxRefreshRegex,
		Domains:          MaxDomains,
		PushURLs:         MaxPushURLs,
		DCDNRefreshURLs:  MaxDCDNRefreshURLs,
		DCDNRefreshDirs:  MaxDCDNRefreshDirs,
		DCDNRefreshRegex: MaxDCDNRefreshRegex,
		DCDNDomains:      MaxDCDNDomains,
		DCDNPreloadURLs:  MaxDCDNPreloadURLs,
		ERURLs:           MaxERURLs,
		ERDirs:           MaxERDirs,
		CacheTags:        MaxCacheTags,
	}
}

// withDefaults replaces every zero or negative field by its default.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	for _, f := range []struct{ v, def *int }{
		{&l.RefreshURLs, &d.RefreshURLs},
		{&l.RefreshDirs, &d.RefreshDirs},
		{&l.RefreshRegex, &d.RefreshRegex},
		{&l.Domains, &d.Domains},
		{&l.PushURLs, &d.PushURLs},
		{&l.DCDNRefreshURLs, &d.DCDNRefreshURLs},
		{&l.DCDNRefreshDirs, &d.DCDNRefreshDirs},
		{&l.DCDNRefreshRegex, &d.DCDNRefreshRegex},
		{&l.DCDNDomains, &d.DCDNDomains},
		{&l.DCDNPreloadURLs, &d.DCDNPreloadURLs},
		{&l.ERURLs, &d.ERURLs},
		{&l.ERDirs, &d.ERDirs},
		{&l.CacheTags, &d.CacheTags},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return l
}

// perCall returns how many paths (URLs, directories, patterns or cache
// tags) one call of api with object type t may carry. l must have its
// defaults filled in. Unknown kinds get the URL limit; such calls fail
// Validate.
func (l Limits) perCall(api string, t refresh.ObjectType) int {
	switch api {
	case refresh.APIPush:
		return l.PushURLs
	case refresh.APIPreloadDCDN:
		return l.DCDNPreloadURLs
	case refresh.APICacheTag, refresh.APICacheTagDCDN:
		return l.CacheTags
	case refresh.APIRefreshER:
		return pickLimit(t, l.ERURLs, l.ERDirs, MaxERRegex)
	case refresh.APIRefreshDCDN:
		return pickLimit(t, l.DCDNRefreshURLs, l.DCDNRefreshDirs, l.DCDNRefreshRegex)
	}
	return pickLimit(t, l.RefreshURLs, l.RefreshDirs, l.RefreshRegex)
}

// pickLimit returns the limit of object type t among a refresh API's.
func pickLimit(t refresh.ObjectType, urls, dirs, regex int) int {
	switch t {
	case refresh.Directory:
		return dirs
	case refresh.Regex:
		return regex
	}
	return urls
}

// domains returns how many distinct domain names one call of api may
// name. l must have its defaults filled in.
func (l Limits) domains(api string) int {
	switch api {
	case refresh.APIRefreshER:
		return MaxERDomains
	case refresh.APICacheTag, refresh.APICacheTagDCDN:
		return 1 // one DomainName per call (seed 000)
	case refresh.APIRefreshDCDN, refresh.APIPreloadDCDN:
		return l.DCDNDomains
	}
	return l.Domains
}
