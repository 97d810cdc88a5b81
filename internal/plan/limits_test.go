package plan_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/plan"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

func TestDefaultLimits(t *testing.T) {
	want := plan.Limits{
		RefreshURLs: 1000, RefreshDirs: 100, RefreshRegex: 1, Domains: 10, PushURLs: 100,
		DCDNRefreshURLs: 1000, DCDNRefreshDirs: 100, DCDNRefreshRegex: 1, DCDNDomains: 10, DCDNPreloadURLs: 100,
		ERURLs: 1000, ERDirs: 100, CacheTags: 10,
	}
	if diff := cmp.Diff(want, plan.DefaultLimits()); diff != "" {
		t.Errorf("DefaultLimits() mismatch (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	call := func(api string, p refresh.Provider, a refresh.Action, ot refresh.ObjectType, urls ...string) refresh.Call {
		return refresh.Call{API: api, Provider: p, Action: a, ObjectType: ot, URLs: urls}
	}
	refreshFile := func(urls ...string) refresh.Call {
		return call(refresh.APIRefresh, refresh.CDN, refresh.ActionRefresh, refresh.File, urls...)
	}
	er := func(urls ...string) refresh.Call {
		c := call(refresh.APIRefreshER, refresh.DCDN, refresh.ActionRefresh, refresh.File, urls...)
		c.Routine = "r.sub"
		return c
	}
	tags := func(tags ...string) refresh.Call {
		c := call(refresh.APICacheTag, refresh.CDN, refresh.ActionRefresh, refresh.CacheTag, "https://d/")
		c.Tags = tags
		return c
	}
	hosts := func(n int) []string {
		return urlList(n, "https://h%02d.example/x")
	}
	tests := []struct {
		name    string
		call    refresh.Call
		limits  plan.Limits
		wantErr string // substring; "" means valid
	}{
		{"valid file refresh", refreshFile("https://d/a", "d/b"), plan.Limits{}, ""},
		{"1000 URLs", refreshFile(urlList(1000, "https://d/%d")...), plan.Limits{}, ""},
		{"1001 URLs", refreshFile(urlList(1001, "https://d/%d")...), plan.Limits{}, "1001 File paths, over the per-call limit of 1000"},
		{"own lower limit", refreshFile("https://d/a", "https://d/b"), plan.Limits{RefreshURLs: 1}, "over the per-call limit of 1"},
		{"10 domains", refreshFile(hosts(10)...), plan.Limits{}, ""},
		{"11 domains", refreshFile(hosts(11)...), plan.Limits{}, "11 distinct domains, over the per-call limit of 10"},
		{"ports and case are one domain", refreshFile("https://D/a", "https://d:8080/b", "http://user@d/c"), plan.Limits{DCDNDomains: 1, Domains: 1}, ""},
		{"no paths", refreshFile(), plan.Limits{}, "no paths"},
		{"empty path", refreshFile("https://d/a", ""), plan.Limits{}, "path 1 is empty"},
		{"no domain", refreshFile("/a"), plan.Limits{}, "names no domain"},
		{"line break", refreshFile("https://d/a\nhttps://e/b"), plan.Limits{}, "line break"},
		{"repeated", refreshFile("https://d/a", "https://d/a"), plan.Limits{}, "appears twice"},
		{"too long", refreshFile("https://d/" + strings.Repeat("x", 1015)), plan.Limits{}, "1025 bytes long"},
		{"1024 bytes", refreshFile("https://d/" + strings.Repeat("x", 1014)), plan.Limits{}, ""},
		{"101 directories", call(refresh.APIRefresh, refresh.CDN, refresh.ActionRefresh, refresh.Directory, urlList(101, "https://d/%d/")...), plan.Limits{}, "101 Directory paths"},
		{"directory without slash", call(refresh.APIRefresh, refresh.CDN, refresh.ActionRefresh, refresh.Directory, "https://d/a"), plan.Limits{}, "does not end with /"},
		{"2 regexes", call(refresh.APIRefreshDCDN, refresh.DCDN, refresh.ActionRefresh, refresh.Regex, "https://d/a.*", "https://d/b.*"), plan.Limits{}, "2 Regex paths, over the per-call limit of 1"},
		{"101 pushes", call(refresh.APIPush, refresh.CDN, refresh.ActionPrefetch, "", urlList(101, "https://d/%d")...), plan.Limits{}, "101 prefetch paths, over the per-call limit of 100"},
		{"100 preloads", call(refresh.APIPreloadDCDN, refresh.DCDN, refresh.ActionPrefetch, "", urlList(100, "https://d/%d")...), plan.Limits{}, ""},
		{"prefetch with object type", call(refresh.APIPush, refresh.CDN, refresh.ActionPrefetch, refresh.File, "https://d/a"), plan.Limits{}, "want none for prefetch"},
		{"unknown object type", call(refresh.APIRefresh, refresh.CDN, refresh.ActionRefresh, "Tag", "https://d/a"), plan.Limits{}, `unknown object type "Tag"`},
		{"refresh without object type", call(refresh.APIRefresh, refresh.CDN, refresh.ActionRefresh, "", "https://d/a"), plan.Limits{}, "unknown object type"},
		{"wrong API", call(refresh.APIRefresh, refresh.DCDN, refresh.ActionRefresh, refresh.File, "https://d/a"), plan.Limits{}, `needs API "RefreshDcdnObjectCaches"`},
		{"unknown provider", call("", "akamai", refresh.ActionRefresh, refresh.File, "https://d/a"), plan.Limits{}, `no API for provider "akamai"`},
		{"edge routine", er("https://d/a", "https://d/b"), plan.Limits{}, ""},
		{"edge routine, 2 domains", er("https://d/a", "https://e/b"), plan.Limits{}, "2 distinct domains, over the per-call limit of 1"},
		{"edge routine, 1001 URLs", er(urlList(1001, "https://d/%d")...), plan.Limits{}, "1001 File paths, over the per-call limit of 1000"},
		{"edge routine on CDN", refresh.Call{API: refresh.APIRefreshER, Provider: refresh.CDN, Action: refresh.ActionRefresh, ObjectType: refresh.File, Routine: "r.s", URLs: []string{"https://d/a"}}, plan.Limits{}, "no API"},
		{"10 cache tags", tags(urlList(10, "t%d")...), plan.Limits{}, ""},
		{"11 cache tags", tags(urlList(11, "t%d")...), plan.Limits{}, "11 CacheTag paths, over the per-call limit of 10"},
		{"cache tag with a comma", tags("a,b"), plan.Limits{}, "comma"},
		{"cache tag twice", tags("a", "a"), plan.Limits{}, "appears twice"},
		{"bad area", refresh.Call{API: refresh.APIPush, Provider: refresh.CDN, Action: refresh.ActionPrefetch, Area: "mars", URLs: []string{"https://d/a"}}, plan.Limits{}, `unknown area "mars"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := plan.Validate(tt.call, tt.limits)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate(%d paths) = %v, want nil", len(tt.call.URLs), err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate(%d paths) = %v, want an error containing %q", len(tt.call.URLs), err, tt.wantErr)
			}
		})
	}
}

func TestLimitsCapPaths(t *testing.T) {
	l := plan.DefaultLimits().CapPaths(500)
	if l.RefreshURLs != 500 || l.PushURLs != 100 || l.RefreshDirs != 100 || l.Domains != plan.MaxDomains {
		t.Errorf("CapPaths(500) = %+v; want URL paths capped at 500, the smaller limits and the domain limit kept", l)
	}
	if got := plan.DefaultLimits().CapPaths(0); got != plan.DefaultLimits() {
		t.Errorf("CapPaths(0) = %+v; want the defaults", got)
	}
}
