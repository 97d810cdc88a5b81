package plan

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// CollapseAuto, as Planner.CollapseThreshold, collapses File refreshes into
// Directory refreshes only under quota pressure; see Planner.
const CollapseAuto = -1

// DefaultDailyURLs is the account's documented daily URL refresh quota
// (RefreshObjectCaches API page, "Refresh quota": 10,000 URLs a day), the
// day's total assumed when the expected remainder is estimated.
const DefaultDailyURLs = 10000

// candidate is a directory a collapse may pick: its files pending.
type candidate struct {
	k     collapseKey
	dom   string // domKey(k)
	dir   string
	depth int
	files map[*item]struct{}
	pick  *target // once picked
	why   string  // the pressure it was picked under
	// absorbed: picked, then carried by a directory above it picked later
	absorbed bool
}

// pressure is what makes the auto collapse act: URL units beyond what the
// quota can bear, and per domain URLs beyond what its minute budget sends
// within MaxWait.
type pressure struct {
	url      int               // URL units over the quota (incl. the day's expected remainder)
	expected int               // of them, the day's expected remainder
	domain   map[string]int    // domKey -> URLs over its budget
	why      string            // of the URL quota, for the note: "10000 left for 31842"
	domWhy   map[string]string // of a domain's budget
}

func (pr *pressure) any() bool { return pr.url > 0 || pr.domainShort() }

// domainShort reports whether some domain's budget is short.
func (pr *pressure) domainShort() bool {
	for _, n := range pr.domain {
		if n > 0 {
			return true
		}
	}
	return false
}

// domKey names a domain's minute budget: per provider (its API) and origin.
// The limiter counts a domain by its host name (refresh.Hostname): http and
// https, and every port, share one budget.
func domKey(k collapseKey) string { return string(k.provider) + "|" + refresh.Hostname(k.origin) }

// helps reports whether collapsing files of the domain dom (a domKey)
// eases the pressure.
func (pr *pressure) helps(dom string) bool { return pr.url > 0 || pr.domain[dom] > 0 }

// measure returns the pressure of the pending File refreshes of files.
func (p Planner) measure(files []*item, q, avail refresh.Quota) pressure {
	pr := pressure{domain: map[string]int{}, domWhy: map[string]string{}}
	n := 0
	perOrigin := map[collapseKey]int{} // provider and origin -> files
	for _, f := range files {
		if f.state == statePending && f.key.objectType == refresh.File {
			n++
			perOrigin[collapseKey{provider: f.key.provider, origin: f.canon[:f.originLen]}]++
		}
	}
	perHost := map[string]int{}        // domKey -> files
	hostOf := map[string]collapseKey{} // domKey -> its provider and an origin
	for k, c := range perOrigin {      // a domKey once per origin, not per file
		dk := domKey(k)
		perHost[dk] += c
		hostOf[dk] = k
	}
	if avail.URL != refresh.Unlimited {
		pr.expected = p.expected(q.URL)
		pr.url = n + pr.expected - avail.URL
		pr.why = fmt.Sprintf("%d left for %d", avail.URL, n+pr.expected)
		if pr.expected > 0 {
			pr.why += fmt.Sprintf(" (%d of them expected later today)", pr.expected)
		}
	}
	if p.DomainURLsPerMinute > 0 {
		// The budget is a sliding minute: what was spent frees up only a
		// minute after it was spent, so a wait under a minute counts on
		// nothing freeing up, each whole minute on one more budget.
		budget := p.DomainURLsPerMinute * (1 + int(max(p.MaxWait, 0)/time.Minute))
		for dk, c := range perHost {
			k := hostOf[dk]
			host := refresh.Hostname(k.origin)
			left := budget
			if p.DomainSpent != nil {
				api := refresh.APIFor(k.provider, refresh.ActionRefresh, refresh.File, false)
				left -= p.DomainSpent(api, host)
			}
			if c > left {
				pr.domain[dk] = c - left
				pr.domWhy[dk] = fmt.Sprintf("%d URLs for %s, %d a minute, %d of them left within max_wait", c, host, p.DomainURLsPerMinute, max(left, 0))
			}
		}
	}
	return pr
}

// expected returns the URL units the rest of the quota day is expected to
// need at the pace of the day so far, remain being what the quota API
// says remains (the reserve included): what was spent (of DailyURLs) times
// the share of the day to come over the share gone. Nothing is expected in
// the day's first hour, whose pace says little.
func (p Planner) expected(remain int) int {
	if p.DayElapsed == nil {
		return 0
	}
	e := p.DayElapsed()
	if e < 1.0/24 || e >= 1 {
		return 0
	}
	total := cmp.Or(p.DailyURLs, DefaultDailyURLs)
	spent := total - remain
	if spent <= 0 {
		return 0
	}
	return int(float64(spent) * (1 - e) / e)
}

// autoCollapse replaces pending File refreshes by Directory refreshes while
// the pressure lasts, within units directory units (DirReserve already
// left out); see Planner. It returns the new directory items, admitted,
// one unit each.
func (p Planner) autoCollapse(files []*item, q, avail refresh.Quota, units int) []*item {
	pr := p.measure(files, q, avail)
	if !pr.any() {
		return nil
	}
	// Only an actual shortfall (not the expected remainder alone) makes a
	// directory unit worth spending on a few files: otherwise one unit must
	// save at least as many URL units as one is worth today.
	minFiles := 2
	if short := pr.url - pr.expected; short <= 0 && !pr.domainShort() && units != refresh.Unlimited && avail.URL != refresh.Unlimited {
		minFiles = max(2, avail.URL/units)
	}

	cands := map[collapseKey]map[string]*candidate{}
	doms := map[collapseKey]string{} // domKey of each k of cands
	var all []*candidate
	of := map[*item][]*candidate{}
	for _, f := range files {
		if f.state != statePending || f.key.objectType != refresh.File || f.originLen == len(f.canon) || f.key.routine != "" {
			continue
		}
		k := collapseKey{f.key.provider, f.key.force, f.key.area, f.key.l2, f.canon[:f.originLen]}
		byDir := cands[k]
		if byDir == nil {
			byDir = map[string]*candidate{}
			cands[k] = byDir
			doms[k] = domKey(k)
		}
		var dirs []string
		refresh.EachDir(f.canon, f.originLen, false, func(dir string) bool {
			dirs = append(dirs, dir)
			return true
		})
		if len(dirs) > p.CollapseMaxDepth+1 {
			dirs = dirs[len(dirs)-p.CollapseMaxDepth-1:] // within reach of the file's own directory
		}
		for _, dir := range dirs {
			c := byDir[dir]
			if c == nil {
				c = &candidate{k: k, dom: doms[k], dir: dir, depth: depth(dir, f.originLen), files: map[*item]struct{}{}}
				byDir[dir] = c
				all = append(all, c)
			}
			c.files[f] = struct{}{}
			of[f] = append(of[f], c)
		}
	}

	var picked []*candidate
	for pr.any() && units > 0 {
		var best *candidate
		for _, c := range all {
			least := minFiles
			if pr.domain[c.dom] > 0 {
				least = 1 // a file its domain cannot take in time is worth a unit
			}
			if c.pick != nil || c.absorbed || len(c.files) < least || !pr.helps(c.dom) {
				continue
			}
			if best == nil || better(c, best) {
				best = c
			}
		}
		if best == nil {
			break
		}
		why := pr.why
		if pr.url <= 0 {
			why = pr.domWhy[best.dom]
		}
		best.pick = &target{url: best.dir}
		best.why = why
		units--
		moved := len(best.files) // none of them carried by a pick yet
		for f := range best.files {
			for _, c := range of[f] {
				if c != best && c.pick == nil {
					delete(c.files, f)
				}
			}
		}
		pr.url -= moved
		pr.domain[best.dom] -= moved // a directory is no URL of the minute budget
		// A directory picked before beneath this one is absorbed: its files
		// go here, and its unit and its URL come back.
		for _, c := range picked {
			if c != best && c.pick != nil && c.k == best.k && strings.HasPrefix(c.dir, best.dir) {
				for f := range c.files {
					best.files[f] = struct{}{}
				}
				c.pick, c.files, c.absorbed = nil, nil, true
				units++
			}
		}
		picked = append(picked, best)
	}

	var out []*item
	for _, c := range picked {
		if c.pick == nil {
			continue
		}
		d := &item{key: dirKey(c.k), url: c.dir, state: stateAdmitted, first: -1}
		d.note = fmt.Sprintf("collapsed %s under %s (quota pressure: %s)", urls(len(c.files)), c.dir, c.why)
		for _, f := range sortedFiles(c.files) {
			f.state = stateCovered
			d.carries(f)
		}
		out = append(out, d)
	}
	return out
}

// better orders candidates: more files first, then deeper, then by URL.
func better(a, b *candidate) bool {
	return cmp.Or(
		cmp.Compare(len(b.files), len(a.files)),
		cmp.Compare(b.depth, a.depth),
		strings.Compare(a.dir, b.dir),
		compareBool(a.k.force, b.k.force),
	) < 0
}

// dirKey is the group of the Directory refresh collapsing files of k.
func dirKey(k collapseKey) groupKey {
	return groupKey{
		provider:   k.provider,
		action:     refresh.ActionRefresh,
		objectType: refresh.Directory,
		force:      k.force,
		area:       k.area,
		l2:         k.l2,
	}
}

// sortedFiles returns the items of set in the order of their jobs.
func sortedFiles(set map[*item]struct{}) []*item {
	out := make([]*item, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *item) int { return cmp.Compare(a.first, b.first) })
	return out
}

func urls(n int) string {
	if n == 1 {
		return "1 URL"
	}
	return fmt.Sprintf("%d URLs", n)
}
