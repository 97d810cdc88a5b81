package urlmap_test

import (
	"testing"

	"github.com/cdnrefresh/cdnrefresh/internal/config"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// TestMapRefreshKinds: cache tags from a rule's templates or a change,
// Edge Routine caches beside a DCDN rule's refreshes, and QueryHashkey on
// prefetches; what a domain's provider cannot do is rejected with why.
func TestMapRefreshKinds(t *testing.T) {
	rules := mustCompile(t, []config.Rule{
		// 0: CDN, tagged by directory, file name and extension, on two domains.
		{Bucket: "shop", Prefix: "img/", Domains: []string{"www.example.com", "m.example.com:8443"}, OnCreate: config.CreateBoth,
			CacheTags: config.Strings{"{dir}", "site", "p-{base}", "{ext}"}, Prefetch: config.Prefetch{QueryHashkey: true}},
		// 1: CDN, tagged by the key's directory: empty at the root.
		{Bucket: "shop", Domains: []string{"root.example.com"}, CacheTags: config.Strings{"{dir}", "all"}},
		// 2: DCDN behind an Edge Routine; prefetched too.
		{Bucket: "er", Domains: []string{"er.example.com"}, Provider: refresh.DCDN, OnCreate: config.CreateBoth, ObjectType: config.IgnoreParams,
			EdgeRoutine: &config.EdgeRoutine{ID: "pages.sub", MergeDomains: []string{"Merged.example.com"}}},
		// 3: prefetch only, with tags (which then do nothing).
		{Bucket: "warm", Domains: []string{"warm.example.com"}, OnCreate: config.CreatePrefetch, CacheTags: config.Strings{"site"}},
	})
	cdnTag := func(domain, tag, key string) refresh.Job {
		return refresh.Job{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.CacheTag, URL: "https://" + domain + "/", Tag: tag, Key: key}
	}
	hashed := func(url, key string) refresh.Job {
		j := prefetchJob(url, key)
		j.QueryHashkey = true
		return j
	}
	erJob := func(a refresh.Action, routine, url string) refresh.Job {
		j := refresh.Job{Action: a, Provider: refresh.DCDN, ObjectType: refresh.IgnoreParams, URL: url, Key: "p/a.html"}
		if a == refresh.ActionPrefetch {
			j.ObjectType = refresh.File
		}
		if routine != "" {
			j.Routine, j.MergeDomains = routine, "merged.example.com"
		}
		return j
	}
	const key = "img/products/42.png"
	tests := []mapCase{
		{
			"tags per domain, after the URLs; prefetch in hash key mode",
			refresh.Change{Bucket: "shop", Key: key, Op: refresh.OpCreate},
			[]refresh.Job{
				refreshJob("https://www.example.com/img/products/42.png", key), hashed("https://www.example.com/img/products/42.png", key),
				refreshJob("https://m.example.com:8443/img/products/42.png", key), hashed("https://m.example.com:8443/img/products/42.png", key),
				cdnTag("www.example.com", "img/products", key), cdnTag("www.example.com", "site", key),
				cdnTag("www.example.com", "p-42.png", key), cdnTag("www.example.com", "png", key),
				cdnTag("m.example.com", "img/products", key), cdnTag("m.example.com", "site", key),
				cdnTag("m.example.com", "p-42.png", key), cdnTag("m.example.com", "png", key),
			}, nil, "",
		},
		{
			"a deleted object's tags are refreshed too",
			refresh.Change{Bucket: "shop", Key: "a.txt", Op: refresh.OpDelete},
			[]refresh.Job{refreshJob("https://root.example.com/a.txt", "a.txt"), cdnTag("root.example.com", "all", "a.txt")},
			[]refresh.Outcome{{Job: cdnTag("root.example.com", "", "a.txt"), Status: refresh.Rejected, Reason: "cache_tags[0]: empty cache tag"}}, "",
		},
		{
			"a tag with a comma is rejected, the rest goes on",
			refresh.Change{Bucket: "shop", Key: "a,b/c.txt", Op: refresh.OpCreate},
			[]refresh.Job{refreshJob("https://root.example.com/a,b/c.txt", "a,b/c.txt"), cdnTag("root.example.com", "all", "a,b/c.txt")},
			[]refresh.Outcome{{Job: cdnTag("root.example.com", "a,b", "a,b/c.txt"), Status: refresh.Rejected,
				Reason: "cache_tags[0]: a cache tag cannot hold a comma: the API separates tags with commas"}}, "",
		},
		{
			"prefetch only: no tags",
			refresh.Change{Bucket: "warm", Key: "a.js", Op: refresh.OpCreate},
			[]refresh.Job{{Action: refresh.ActionPrefetch, Provider: refresh.CDN, ObjectType: refresh.File, URL: "https://warm.example.com/a.js", Key: "a.js"}}, nil, "",
		},
		{
			"Edge Routine cache beside each refresh, never a prefetch",
			refresh.Change{Bucket: "er", Key: "p/a.html", Op: refresh.OpCreate},
			[]refresh.Job{
				erJob(refresh.ActionRefresh, "", "https://er.example.com/p/a.html"),
				erJob(refresh.ActionRefresh, "pages.sub", "https://er.example.com/p/a.html"),
				erJob(refresh.ActionPrefetch, "", "https://er.example.com/p/a.html"),
			}, nil, "",
		},
	}
	checkMap(t, rules, tests)
}

// TestMapNamedKinds: what a webhook or the CLI names — a cache tag on a
// domain, an Edge Routine, QueryHashkey — is checked against the domain's
// rule.
func TestMapNamedKinds(t *testing.T) {
	rules := mustCompile(t, []config.Rule{
		{Bucket: "site", Domains: []string{"www.example.com"}},
		{Bucket: "d", Domains: []string{"d.example.com"}, Provider: refresh.DCDN, ObjectType: config.Directory, Force: true},
	})
	tagJob := func(p refresh.Provider, domain, tag string, force bool) refresh.Job {
		return refresh.Job{Action: refresh.ActionRefresh, Provider: p, ObjectType: refresh.CacheTag, URL: "https://" + domain + "/", Tag: tag, Force: force}
	}
	tests := []mapCase{
		{"tag", refresh.Change{URL: "https://WWW.example.com/", Tag: "product-42"},
			[]refresh.Job{tagJob(refresh.CDN, "www.example.com", "product-42", false)}, nil, ""},
		{"tag on DCDN, the rule's force", refresh.Change{URL: "https://d.example.com/", Tag: "t"},
			[]refresh.Job{tagJob(refresh.DCDN, "d.example.com", "t", true)}, nil, ""},
		{"tag on a foreign domain", refresh.Change{URL: "https://evil.example.net/", Tag: "t"}, nil,
			[]refresh.Outcome{{Job: refresh.Job{Action: refresh.ActionRefresh, URL: "https://evil.example.net/"}, Status: refresh.Rejected, Reason: "domain not allowed"}}, ""},
		{"empty tag", refresh.Change{URL: "https://www.example.com/", Tag: " "}, nil,
			[]refresh.Outcome{{Job: tagJob(refresh.CDN, "www.example.com", " ", false), Status: refresh.Rejected, Reason: "empty cache tag"}}, ""},
		{"tag to prefetch", refresh.Change{URL: "https://www.example.com/", Tag: "t", Action: refresh.ActionPrefetch}, nil, nil,
			"a cache tag is refreshed, never prefetched"},
		{"edge routine on DCDN", refresh.Change{URL: "https://d.example.com/a/", EdgeRoutine: "r.sub", MergeDomains: "x.example.com"},
			[]refresh.Job{
				{Action: refresh.ActionRefresh, Provider: refresh.DCDN, ObjectType: refresh.Directory, URL: "https://d.example.com/a/", Force: true},
				{Action: refresh.ActionRefresh, Provider: refresh.DCDN, ObjectType: refresh.Directory, URL: "https://d.example.com/a/", Force: true,
					Routine: "r.sub", MergeDomains: "x.example.com"},
			}, nil, ""},
		{"edge routine on CDN", refresh.Change{URL: "https://www.example.com/a", EdgeRoutine: "r.sub"}, nil,
			[]refresh.Outcome{{Job: refresh.Job{Action: refresh.ActionRefresh, URL: "https://www.example.com/a"}, Status: refresh.Rejected,
				Reason: "edge_routine: Edge Routines are DCDN's (RefreshErObjectCaches), and this domain's rule is provider cdn"}}, ""},
		{"query hashkey on CDN", refresh.Change{URL: "https://www.example.com/a", Action: refresh.ActionPrefetch, QueryHashkey: true},
			[]refresh.Job{{Action: refresh.ActionPrefetch, Provider: refresh.CDN, ObjectType: refresh.File, URL: "https://www.example.com/a", QueryHashkey: true}}, nil, ""},
		{"query hashkey on DCDN", refresh.Change{URL: "https://d.example.com/a", Action: refresh.ActionPrefetch, QueryHashkey: true}, nil,
			[]refresh.Outcome{{Job: refresh.Job{Action: refresh.ActionPrefetch, URL: "https://d.example.com/a"}, Status: refresh.Rejected,
				Reason: "query_hashkey: QueryHashkey is a PushObjectCache (CDN) parameter, and this domain's rule is provider dcdn"}}, ""},
		{"keys with an edge routine on CDN", refresh.Change{Bucket: "site", Key: "a.html", EdgeRoutine: "r.sub"}, nil,
			[]refresh.Outcome{{Job: refreshJob("https://www.example.com/a.html", "a.html"), Status: refresh.Rejected,
				Reason: "edge_routine: Edge Routines are DCDN's (RefreshErObjectCaches), and this domain's rule is provider cdn"}}, ""},
	}
	checkMap(t, rules, tests)
}
