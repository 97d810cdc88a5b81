// Package plan turns one window's jobs into API-sized CDN calls, as pure
// functions of the jobs, the remaining quota and the limits.
//
// Planner.Plan, in this order:
//
//  1. Drops exact duplicates: jobs with the same URL (and cache tag) and
//     the same value of every other field the request carries (provider,
//     action, object type, force, area, L2 preload, headers, QueryHashkey,
//     Edge Routine) are one piece of work, sent once and listed in the one
//     call's Jobs for each of them.
//  2. Admits Directory refresh jobs within the directory quota, earliest
//     first. A directory job beneath another directory job of the same
//     provider, area and L2 preload is covered by it (when the outer one
//     forces, or the inner one does not) and is admitted with it, at the
//     place of the earliest of them.
//  3. Covers File and IgnoreParams refresh jobs beneath an admitted
//     directory job of the same provider, area and L2 preload (when the
//     directory forces, or the job does not): they cost no quota, send no
//     URL, and appear in the directory call's Jobs. Prefetch jobs are never
//     covered.
//  4. Collapses many File refreshes into one Directory refresh when
//     Planner.CollapseThreshold is set and directory quota remains (see
//     Planner).
//  5. Admits the remaining jobs within their quota (File: URL, IgnoreParams,
//     Regex, prefetch: Preload), earliest first; the rest comes back in
//     over, in the order given.
//  6. Splits the admitted work into calls within every per-call limit
//     (Limits) of the API refresh.APIFor names: per group of the fields
//     above, paths sorted by domain and then path, packed greedily so that
//     no call exceeds its path limit or the distinct-domain limit (one
//     domain for Edge Routine and cache-tag calls, whose tags are packed
//     as paths are). Cache tags draw on the directory quota.
//
// Output is deterministic: refresh calls before prefetch calls (a prefetch
// must follow the purge of the same URL), then by provider, object type
// and first URL; URLs within a call sorted; Jobs sorted by URL and then the
// job's other fields.
//
// Limits are documented on the API pages cited by the constants in this
// package.
package plan

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// Planner forms API-sized calls within the remaining quota. The zero
// Planner uses the documented limits, keeps no reserve and never collapses.
type Planner struct {
	// Limits are the per-call limits; zero fields mean the documented ones.
	Limits Limits
	// Reserve is kept back from every quota, e.g. for a person using the
	// console; the planner plans only what remains beyond it.
	Reserve refresh.Quota
	// CollapseThreshold N > 0 lets the planner replace File refreshes by
	// one Directory refresh while directory quota remains. Only File
	// refresh jobs left after dedupe and cover take part, grouped by
	// provider, force, area, L2 preload and scheme+host. Within a group,
	// directories are visited deepest first (then in path order); a
	// directory is picked when at least N of the group's files lie at any
	// depth beneath it and not beneath a directory picked before. Each file
	// then goes to the shallowest picked directory above it, so a picked
	// directory beneath another one is absorbed by it. Picked directories
	// are granted directory quota in order of most files first (then URL);
	// files of a directory not granted stay File refreshes. The host root
	// ("https://d/") counts as a directory. 0 or less turns collapse off.
	//
	// CollapseAuto collapses only under quota pressure: when the pending
	// File refreshes (plus the day's expected remainder, see DayElapsed)
	// exceed the remaining URL quota less Reserve, or when a domain has more
	// of them than DomainURLsPerMinute lets through within MaxWait. Then,
	// while the pressure lasts, it picks the directory that carries the most
	// pending files (then the deepest, then by URL), among each file's own
	// directory and up to CollapseMaxDepth directories above it, of those
	// that ease the pressure; a directory picked earlier beneath it is
	// absorbed. When only the expected remainder presses, a directory must
	// carry at least as many files as one directory unit is worth today
	// (remaining URL units per remaining directory unit).
	CollapseThreshold int
	// DirReserve directory units are never spent on a collapse (either
	// mode), for directory jobs and people.
	DirReserve int
	// CollapseMaxDepth is how many directories above a file's own one an
	// auto collapse may reach (0: only its own directory).
	CollapseMaxDepth int
	// DomainURLsPerMinute is each domain's URL budget a minute (0: not
	// taken into account), and MaxWait the longest wait for it an auto
	// collapse spares.
	DomainURLsPerMinute int
	MaxWait             time.Duration
	// DomainSpent, when set, says how much of a domain's minute budget
	// calls of an API used over the last minute (the limiter's count): the
	// rest is what a window's files can take now.
	DomainSpent func(api, domain string) int
	// DayElapsed returns the share of the quota day gone (0 to 1); nil
	// expects nothing more today. DailyURLs is the day's URL quota
	// (default DefaultDailyURLs).
	DayElapsed func() float64
	DailyURLs  int
}

var _ refresh.BoundedPlanner = Planner{}

// Within returns p for calls that must be sent within d: the auto collapse
// spares no longer a wait for a domain's minute budget (MaxWait).
func (p Planner) Within(d time.Duration) refresh.Planner {
	p.MaxWait = max(min(p.MaxWait, d), 0)
	return p
}

// groupKey is what jobs in one call share: every field of a job that
// goes into the API request, except its URL or tag.
type groupKey struct {
	provider     refresh.Provider
	action       refresh.Action
	objectType   refresh.ObjectType
	force        bool
	area         string
	l2           bool
	withHeader   string
	queryHashkey bool
	routine      string
	mergeDomains string
}

func keyOf(j refresh.Job) groupKey {
	k := groupKey{
		provider:     j.Provider.OrDefault(),
		action:       j.Action,
		objectType:   j.ObjectType,
		force:        j.Force,
		area:         j.Area,
		l2:           j.L2Preload,
		withHeader:   j.WithHeader,
		queryHashkey: j.QueryHashkey,
		routine:      j.Routine,
		mergeDomains: j.MergeDomains,
	}
	switch k.action {
	case refresh.ActionPrefetch:
		k.objectType = "" // prefetch calls take no object type
	case refresh.ActionRefresh:
		if k.objectType == "" {
			k.objectType = refresh.File // the API's default
		}
	}
	return k
}

// api is the API that carries out the jobs of group k, "" for none.
func (k groupKey) api() string {
	return refresh.APIFor(k.provider, k.action, k.objectType, k.routine != "")
}

type state uint8

const (
	statePending  state = iota
	stateAdmitted       // sends its URL
	stateCovered        // carried out by another item's URL
	stateOver           // does not fit the quota
)

// item is one piece of work: one URL in one group, and the jobs it carries.
type item struct {
	key       groupKey
	url       string
	tag       string // of a cache-tag item
	canon     string // see canonical
	originLen int
	host      string
	first     int   // index of the earliest job asking for it; -1 for a collapsed directory
	jobs      []int // indices of further jobs it carries out
	state     state
	root      *item  // directories: the shallowest directory item covering it
	order     int    // directory roots: the earliest first of the tree
	note      string // a collapsed directory: why, for Call.Notes
}

// carries adds the jobs of o to it.
func (it *item) carries(o *item) {
	it.jobs = append(it.jobs, o.first)
	it.jobs = append(it.jobs, o.jobs...)
}

// Plan returns calls that carry out jobs within the limits and within q
// minus the reserve, and the jobs that do not fit, in the order given. Every
// job appears in exactly one call's Jobs or in over. CDN and DCDN jobs
// draw on the one q. See the package documentation for the steps.
func (p Planner) Plan(jobs []refresh.Job, q refresh.Quota) (calls []refresh.Call, over []refresh.Job) {
	if len(jobs) == 0 {
		return nil, nil
	}
	lim := p.Limits.withDefaults()
	avail := remaining(q, p.Reserve)
	items := dedupe(jobs)

	var dirs, files []*item
	for _, it := range items {
		if it.key.action != refresh.ActionRefresh || it.key.api() == "" {
			continue
		}
		switch it.key.objectType {
		case refresh.Directory:
			dirs = append(dirs, it)
		case refresh.File, refresh.IgnoreParams:
			files = append(files, it)
		}
	}
	if len(dirs) > 0 {
		idx := admitDirs(dirs, &avail.Dir)
		for _, f := range files {
			if c := idx.cover(f, admittedCarrier); c != nil {
				f.state = stateCovered
				c.carries(f)
			}
		}
	}
	if p.CollapseThreshold > 0 || p.CollapseThreshold == CollapseAuto {
		n := avail.Dir // the directory units a collapse may spend
		if n != refresh.Unlimited {
			n -= max(p.DirReserve, 0)
		}
		if n > 0 {
			var got []*item
			if p.CollapseThreshold == CollapseAuto {
				got = p.autoCollapse(files, q, avail, n)
			} else {
				got = collapse(files, p.CollapseThreshold, &n)
			}
			if avail.Dir != refresh.Unlimited {
				avail.Dir -= len(got) // one unit each
			}
			items = append(items, got...)
		}
	}
	for _, it := range items {
		if it.state != statePending {
			continue
		}
		n := pool(&avail, it.key)
		switch {
		case n == nil:
			it.state = stateAdmitted // unknown API: sent as is, Validate and the API reject it
		case *n > 0:
			it.state = stateAdmitted
			if *n != refresh.Unlimited {
				*n--
			}
		default:
			it.state = stateOver
		}
	}
	return split(jobs, items, lim), overJobs(jobs, items)
}

// remaining returns q less the reserve r, never below zero. Unlimited stays
// Unlimited.
func remaining(q, r refresh.Quota) refresh.Quota {
	sub := func(q, r int) int {
		switch {
		case q == refresh.Unlimited:
			return refresh.Unlimited
		case q <= 0:
			return 0
		case r <= 0:
			return q
		case r >= q:
			return 0
		}
		return q - r
	}
	return refresh.Quota{
		URL:          sub(q.URL, r.URL),
		Dir:          sub(q.Dir, r.Dir),
		Regex:        sub(q.Regex, r.Regex),
		IgnoreParams: sub(q.IgnoreParams, r.IgnoreParams),
		Preload:      sub(q.Preload, r.Preload),
	}
}

// pool returns the quota an item of group k draws on, or nil if it draws on
// none.
func pool(q *refresh.Quota, k groupKey) *int {
	if k.api() == "" {
		return nil
	}
	if k.action == refresh.ActionPrefetch {
		return &q.Preload
	}
	switch k.objectType {
	case refresh.Directory, refresh.CacheTag: // see refresh.QuotaKind
		return &q.Dir
	case refresh.Regex:
		return &q.Regex
	case refresh.IgnoreParams:
		return &q.IgnoreParams
	}
	return &q.URL // File, and unknown types the API will reject
}

// dedupe returns one item per distinct piece of work, in the order of first
// appearance.
func dedupe(jobs []refresh.Job) []*item {
	type workKey struct {
		groupKey
		url, tag string
	}
	seen := make(map[workKey]*item, len(jobs))
	items := make([]*item, 0, len(jobs))
	store := make([]item, len(jobs)) // one allocation for all items
	for i, j := range jobs {
		k := workKey{keyOf(j), j.URL, j.Tag}
		if it, ok := seen[k]; ok {
			it.jobs = append(it.jobs, i)
			continue
		}
		it := &store[len(items)]
		it.key, it.url, it.tag, it.first = k.groupKey, j.URL, j.Tag, i
		it.canon, it.originLen = refresh.PrefixForm(j.URL)
		seen[k] = it
		items = append(items, it)
	}
	return items
}

// dirIndex finds directory items by canonical URL.
type dirIndex map[string][]*item

// cover returns the carrier of the shallowest directory item that covers t
// and whose carrier ok accepts, or nil.
func (x dirIndex) cover(t *item, ok func(carrier *item) bool) *item {
	var found *item
	refresh.EachDir(t.canon, t.originLen, true, func(dir string) bool {
		for _, d := range x[dir] {
			if covers(d, t) && ok(carrierOf(d)) {
				found = carrierOf(d)
				return false
			}
		}
		return true
	})
	return found
}

// covers reports whether refreshing directory d also carries out t, which
// lies at or beneath it: same provider, area, L2 preload and Edge Routine
// (an Edge Routine's cache is refreshed by its own API), and d forces or t
// does not. A directory covers another of the same path only if it forces
// and the other does not.
func covers(d, t *item) bool {
	if d == t || d.key.provider != t.key.provider || d.key.area != t.key.area || d.key.l2 != t.key.l2 ||
		d.key.routine != t.key.routine || d.key.mergeDomains != t.key.mergeDomains {
		return false
	}
	if t.key.objectType == refresh.Directory && d.canon == t.canon {
		return d.key.force && !t.key.force
	}
	return d.key.force || !t.key.force
}

func carrierOf(d *item) *item {
	if d.root != nil {
		return d.root
	}
	return d
}

func admittedCarrier(c *item) bool { return c.state == stateAdmitted }
func anyCarrier(*item) bool        { return true }

// admitDirs admits directory items within quota *n: each tree of
// directories covering one another is admitted or refused as a whole, trees
// in the order of their earliest member. A directory whose tree is refused
// may still be covered by an admitted directory of another tree. It returns
// the index of the directory items.
func admitDirs(dirs []*item, n *int) dirIndex {
	idx := make(dirIndex, len(dirs))
	for _, d := range dirs {
		idx[d.canon] = append(idx[d.canon], d)
	}
	for _, l := range idx {
		// At one path, the forcing directory comes first: it covers the other.
		slices.SortFunc(l, func(a, b *item) int {
			if a.key.force != b.key.force {
				if a.key.force {
					return -1
				}
				return 1
			}
			return strings.Compare(a.url, b.url)
		})
	}
	for _, d := range dirs {
		d.root = idx.cover(d, anyCarrier)
	}
	var roots []*item
	for _, d := range dirs { // resolve chains; covering is transitive, so roots are reached at once
		for d.root != nil && d.root.root != nil {
			d.root = d.root.root
		}
		if d.root == nil {
			d.order = d.first
			roots = append(roots, d)
		}
	}
	for _, d := range dirs {
		if d.root != nil {
			d.root.order = min(d.root.order, d.first)
		}
	}
	slices.SortStableFunc(roots, func(a, b *item) int { return cmp.Compare(a.order, b.order) })
	for _, r := range roots {
		if *n <= 0 {
			r.state = stateOver
			continue
		}
		r.state = stateAdmitted
		if *n != refresh.Unlimited {
			*n--
		}
	}
	for _, d := range dirs {
		if d.root == nil {
			continue
		}
		if c := idx.cover(d, admittedCarrier); c != nil {
			d.state = stateCovered
			d.root = c
			c.carries(d)
		} else {
			d.state = stateOver
		}
	}
	return idx
}

// overJobs returns the jobs of items that did not fit, in the order given.
func overJobs(jobs []refresh.Job, items []*item) []refresh.Job {
	var idx []int
	for _, it := range items {
		if it.state == stateOver {
			idx = append(idx, it.first)
			idx = append(idx, it.jobs...)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	slices.Sort(idx)
	out := make([]refresh.Job, len(idx))
	for i, k := range idx {
		out[i] = jobs[k]
	}
	return out
}
