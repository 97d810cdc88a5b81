package plan

import (
	"cmp"
	"slices"
	"strings"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// split packs the admitted items into calls within lim and returns them
// sorted.
func split(jobs []refresh.Job, items []*item, lim Limits) []refresh.Call {
	groups := make(map[groupKey][]*item)
	for _, it := range items {
		if it.state == stateAdmitted {
			it.host = refresh.Hostname(it.url)
			groups[it.key] = append(groups[it.key], it)
		}
	}
	var calls []refresh.Call
	for k, g := range groups {
		slices.SortFunc(g, func(a, b *item) int {
			return cmp.Or(strings.Compare(a.host, b.host), strings.Compare(a.url, b.url), strings.Compare(a.tag, b.tag))
		})
		api := k.api()
		per, doms := lim.perCall(api, k.objectType), lim.domains(api)
		start, hosts := 0, 0
		for i, it := range g {
			newHost := i == start || it.host != g[i-1].host
			if i > start && (i-start == per || newHost && hosts == doms) {
				calls = append(calls, makeCall(jobs, k, g[start:i]))
				start, hosts, newHost = i, 0, true
			}
			if newHost {
				hosts++
			}
		}
		calls = append(calls, makeCall(jobs, k, g[start:]))
	}
	slices.SortFunc(calls, func(a, b refresh.Call) int {
		return cmp.Or(
			cmp.Compare(actionRank(a.Action), actionRank(b.Action)),
			strings.Compare(string(a.Provider), string(b.Provider)),
			strings.Compare(string(a.Action), string(b.Action)),
			strings.Compare(a.API, b.API),
			strings.Compare(string(a.ObjectType), string(b.ObjectType)),
			strings.Compare(a.URLs[0], b.URLs[0]),
			slices.Compare(a.Tags, b.Tags),
			compareBool(a.Force, b.Force),
			strings.Compare(a.Area, b.Area),
			compareBool(a.L2Preload, b.L2Preload),
			strings.Compare(a.WithHeader, b.WithHeader),
			compareBool(a.QueryHashkey, b.QueryHashkey),
			strings.Compare(a.Routine, b.Routine),
			strings.Compare(a.MergeDomains, b.MergeDomains),
		)
	})
	return calls
}

// actionRank puts refreshes before prefetches: a prefetch sent before the
// purge of the same URL would warm the stale copy, or be undone by it.
func actionRank(a refresh.Action) int {
	if a == refresh.ActionRefresh {
		return 0
	}
	return 1
}

// makeCall forms the call of group k sending the URLs of items, or for a
// cache-tag group their tags, on the one domain URL they share.
func makeCall(jobs []refresh.Job, k groupKey, items []*item) refresh.Call {
	api := k.api()
	c := refresh.Call{
		API:                 api,
		Provider:            k.provider,
		Action:              k.action,
		ObjectType:          k.objectType,
		ObjectTypeSpellings: refresh.ObjectTypeSpellings(api, k.objectType),
		Force:               k.force,
		Area:                k.area,
		L2Preload:           k.l2,
		WithHeader:          k.withHeader,
		QueryHashkey:        k.queryHashkey,
		Routine:             k.routine,
		MergeDomains:        k.mergeDomains,
		URLs:                make([]string, len(items)),
	}
	n := 0
	for i, it := range items {
		c.URLs[i] = it.url
		n += 1 + len(it.jobs)
		if it.note != "" {
			if c.Notes == nil {
				c.Notes = map[string]string{}
			}
			c.Notes[it.url] = it.note
		}
	}
	slices.Sort(c.URLs)
	if k.objectType == refresh.CacheTag {
		c.URLs = []string{refresh.DomainURL(c.URLs[0])} // one domain per call (Limits.domains)
		c.Tags = make([]string, len(items))
		for i, it := range items {
			c.Tags[i] = it.tag
		}
		slices.Sort(c.Tags)
	}
	c.Jobs = make([]refresh.Job, 0, n)
	for _, it := range items {
		if it.first >= 0 {
			c.Jobs = append(c.Jobs, jobs[it.first])
		}
		for _, j := range it.jobs {
			c.Jobs = append(c.Jobs, jobs[j])
		}
	}
	slices.SortStableFunc(c.Jobs, compareJobs)
	return c
}

// compareJobs orders jobs by URL and then by their other fields.
func compareJobs(a, b refresh.Job) int {
	return cmp.Or(
		strings.Compare(a.URL, b.URL),
		strings.Compare(string(a.Provider), string(b.Provider)),
		strings.Compare(string(a.Action), string(b.Action)),
		strings.Compare(string(a.ObjectType), string(b.ObjectType)),
		compareBool(a.Force, b.Force),
		strings.Compare(a.Area, b.Area),
		compareBool(a.L2Preload, b.L2Preload),
		strings.Compare(a.WithHeader, b.WithHeader),
		compareBool(a.QueryHashkey, b.QueryHashkey),
		strings.Compare(a.Tag, b.Tag),
		strings.Compare(a.Routine, b.Routine),
		strings.Compare(a.MergeDomains, b.MergeDomains),
		strings.Compare(a.Key, b.Key),
	)
}
