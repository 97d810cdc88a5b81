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
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return l
}

// perCall returns how many paths one call of the given kind may carry. l
// must have its defaults filled in. Unknown kinds get the URL limit; such
// calls fail Validate.
func (l Limits) perCall(p refresh.Provider, a refresh.Action, t refresh.ObjectType) int {
	dcdn := p == refresh.DCDN
	if a == refresh.ActionPrefetch {
		if dcdn {
			return l.DCDNPreloadURLs
		}
		return l.PushURLs
	}
	switch t {
	case refresh.Directory:
		if dcdn {
			return l.DCDNRefreshDirs
		}
		return l.RefreshDirs
	case refresh.Regex:
		if dcdn {
			return l.DCDNRefreshRegex
		}
		return l.RefreshRegex
	}
	if dcdn {
		return l.DCDNRefreshURLs
	}
	return l.RefreshURLs
}

// domains returns how many distinct domain names one call of provider p may
// name. l must have its defaults filled in.
func (l Limits) domains(p refresh.Provider) int {
	if p == refresh.DCDN {
		return l.DCDNDomains
	}
	return l.Domains
}
