package refresh_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

func TestAPIFor(t *testing.T) {
	tests := []struct {
		p    refresh.Provider
		a    refresh.Action
		t    refresh.ObjectType
		er   bool
		want string
	}{
		{refresh.CDN, refresh.ActionRefresh, refresh.File, false, "RefreshObjectCaches"},
		{refresh.CDN, refresh.ActionRefresh, refresh.IgnoreParams, false, "RefreshObjectCaches"},
		{refresh.CDN, refresh.ActionPrefetch, refresh.File, false, "PushObjectCache"},
		{refresh.CDN, refresh.ActionRefresh, refresh.CacheTag, false, "RefreshObjectCacheByCacheTag"},
		{refresh.DCDN, refresh.ActionRefresh, refresh.Directory, false, "RefreshDcdnObjectCaches"},
		{refresh.DCDN, refresh.ActionPrefetch, "", false, "PreloadDcdnObjectCaches"},
		{refresh.DCDN, refresh.ActionRefresh, refresh.CacheTag, false, "RefreshDcdnObjectCacheByCacheTag"},
		{refresh.DCDN, refresh.ActionRefresh, refresh.File, true, "RefreshErObjectCaches"},
		{refresh.DCDN, refresh.ActionRefresh, refresh.IgnoreParams, true, "RefreshErObjectCaches"},
		{"", refresh.ActionRefresh, "", false, "RefreshObjectCaches"}, // the default provider
		{refresh.CDN, refresh.ActionRefresh, refresh.File, true, ""},  // Edge Routines are DCDN's
		{refresh.DCDN, refresh.ActionPrefetch, refresh.File, true, ""},
		{refresh.CDN, refresh.ActionPrefetch, refresh.CacheTag, false, ""},
		{refresh.DCDN, refresh.ActionRefresh, refresh.CacheTag, true, ""},
		{"akamai", refresh.ActionRefresh, refresh.File, false, ""},
		{refresh.CDN, "purge", refresh.File, false, ""},
	}
	for _, tt := range tests {
		if got := refresh.APIFor(tt.p, tt.a, tt.t, tt.er); got != tt.want {
			t.Errorf("APIFor(%q, %q, %q, %v) = %q, want %q", tt.p, tt.a, tt.t, tt.er, got, tt.want)
		}
	}
	j := refresh.Job{Provider: refresh.DCDN, Action: refresh.ActionRefresh, ObjectType: refresh.File, Routine: "r.sub"}
	if got := j.API(); got != "RefreshErObjectCaches" {
		t.Errorf("Job{DCDN refresh File, Routine}.API() = %q, want RefreshErObjectCaches", got)
	}
}

func TestObjectTypeSpellings(t *testing.T) {
	tests := []struct {
		api  string
		t    refresh.ObjectType
		want []string
	}{
		{"RefreshObjectCaches", refresh.IgnoreParams, []string{"IgnoreParams", "ExQuery"}},
		{"RefreshObjectCaches", refresh.File, nil},
		{"RefreshDcdnObjectCaches", refresh.IgnoreParams, nil},
		{"RefreshErObjectCaches", refresh.IgnoreParams, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, refresh.ObjectTypeSpellings(tt.api, tt.t)); diff != "" {
			t.Errorf("ObjectTypeSpellings(%s, %s) mismatch (-want +got):\n%s", tt.api, tt.t, diff)
		}
	}
}

func TestDedupeKey(t *testing.T) {
	base := refresh.Job{Provider: refresh.CDN, Action: refresh.ActionRefresh, ObjectType: refresh.File, URL: "https://d/a"}
	if got, want := base.DedupeKey(), "cdn|refresh|File|https://d/a"; got != want {
		t.Errorf("DedupeKey() of a plain job = %q, want %q (unchanged for jobs with no other field)", got, want)
	}
	vary := map[string]func(*refresh.Job){
		"force":         func(j *refresh.Job) { j.Force = true },
		"area":          func(j *refresh.Job) { j.Area = "overseas" },
		"l2":            func(j *refresh.Job) { j.L2Preload = true },
		"header":        func(j *refresh.Job) { j.WithHeader = `{"A":["b"]}` },
		"query hashkey": func(j *refresh.Job) { j.QueryHashkey = true },
		"tag":           func(j *refresh.Job) { j.Tag = "t1" },
		"routine":       func(j *refresh.Job) { j.Routine = "r.sub" },
		"merge":         func(j *refresh.Job) { j.MergeDomains = "e.example" },
	}
	seen := map[string]string{base.DedupeKey(): "base"}
	for name, f := range vary {
		j := base
		f(&j)
		k := j.DedupeKey()
		if other, ok := seen[k]; ok {
			t.Errorf("jobs differing in %s and %s share DedupeKey %q", name, other, k)
		}
		seen[k] = name
	}
	a, b := base, base
	a.Key, b.Key = "k1", "k2"
	if a.DedupeKey() != b.DedupeKey() {
		t.Error("jobs differing only in Key (not sent) have different DedupeKeys")
	}
}

func TestCheckTag(t *testing.T) {
	tests := []struct {
		tag     string
		wantErr string
	}{
		{"product-42", ""},
		{"a b/c:中", ""},
		{"", "empty cache tag"},
		{"  ", "empty cache tag"},
		{"a,b", "comma"},
		{"a\nb", "newline"},
		{"a\tb", "control character"},
		{"\xff", "UTF-8"},
	}
	for _, tt := range tests {
		err := refresh.CheckTag(tt.tag)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("CheckTag(%q) = %v, want %q", tt.tag, err, tt.wantErr)
		}
	}
}

func TestCheckRoutine(t *testing.T) {
	for _, id := range []string{"name.sub", "my-routine.a.b"} {
		if err := refresh.CheckRoutine(id); err != nil {
			t.Errorf("CheckRoutine(%q) = %v, want nil", id, err)
		}
	}
	for _, id := range []string{"", "name", ".sub", "name.", "a b.c", "a,b.c", "a/b.c"} {
		if err := refresh.CheckRoutine(id); err == nil {
			t.Errorf("CheckRoutine(%q) = nil, want an error", id)
		}
	}
}

func TestMergeDomains(t *testing.T) {
	got, err := refresh.MergeDomains([]string{"A.example.com", " b.example.com", "a.example.com"})
	if got != "a.example.com,b.example.com" || err != nil {
		t.Errorf("MergeDomains = %q, %v; want a.example.com,b.example.com", got, err)
	}
	for _, bad := range [][]string{{""}, {"*.example.com"}, {"https://a.example.com"}, {"a.example.com/x"}} {
		if _, err := refresh.MergeDomains(bad); err == nil {
			t.Errorf("MergeDomains(%q) = nil error, want one", bad)
		}
	}
}

func TestDomainURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://www.example.com/":      "https://www.example.com/",
		"http://WWW.Example.com:8080/x": "https://www.example.com/",
		"www.example.com":               "https://www.example.com/",
	} {
		if got := refresh.DomainURL(in); got != want {
			t.Errorf("DomainURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQuotaKind(t *testing.T) {
	tests := []struct {
		j    refresh.Job
		want refresh.QuotaKind
	}{
		{refresh.Job{Action: refresh.ActionRefresh, ObjectType: refresh.File}, refresh.QuotaURL},
		{refresh.Job{Action: refresh.ActionRefresh}, refresh.QuotaURL},
		{refresh.Job{Action: refresh.ActionRefresh, ObjectType: refresh.Directory}, refresh.QuotaDir},
		{refresh.Job{Action: refresh.ActionRefresh, ObjectType: refresh.Regex}, refresh.QuotaRegex},
		{refresh.Job{Action: refresh.ActionRefresh, ObjectType: refresh.IgnoreParams}, refresh.QuotaIgnoreParams},
		{refresh.Job{Action: refresh.ActionRefresh, ObjectType: refresh.CacheTag}, refresh.QuotaDir},
		{refresh.Job{Action: refresh.ActionPrefetch, ObjectType: refresh.Directory}, refresh.QuotaPreload},
	}
	for _, tt := range tests {
		if got := tt.j.QuotaKind(); got != tt.want {
			t.Errorf("Job{%s %s}.QuotaKind() = %q, want %q", tt.j.Action, tt.j.ObjectType, got, tt.want)
		}
		c := refresh.Call{Action: tt.j.Action, ObjectType: tt.j.ObjectType}
		if got := c.QuotaKind(); got != tt.want {
			t.Errorf("Call{%s %s}.QuotaKind() = %q, want %q", c.Action, c.ObjectType, got, tt.want)
		}
	}
}

func TestQuotaSpend(t *testing.T) {
	q := refresh.Quota{URL: 10, Dir: 5, Regex: 1, IgnoreParams: 3, Preload: refresh.Unlimited}
	q.Spend(refresh.QuotaURL, 4)
	q.Spend(refresh.QuotaDir, 9)
	q.Spend(refresh.QuotaRegex, -1)
	q.Spend(refresh.QuotaPreload, 100)
	want := refresh.Quota{URL: 6, Dir: 0, Regex: 0, IgnoreParams: 3, Preload: refresh.Unlimited}
	if q != want {
		t.Errorf("after spending: %+v, want %+v", q, want)
	}
	for _, k := range refresh.SpendKinds {
		if got, w := q.Of(k), map[refresh.QuotaKind]int{refresh.QuotaURL: 6, refresh.QuotaDir: 0, refresh.QuotaRegex: 0, refresh.QuotaIgnoreParams: 3, refresh.QuotaPreload: refresh.Unlimited}[k]; got != w {
			t.Errorf("Of(%s) = %d, want %d", k, got, w)
		}
	}
	d := refresh.DailyQuota{refresh.QuotaURL: {Total: 10000, Remain: 9}, refresh.QuotaPreload: {Total: 1000, Remain: 7}}
	if got, want := d.Remaining(), (refresh.Quota{URL: 9, Preload: 7}); got != want {
		t.Errorf("Remaining() = %+v, want %+v (a kind not answered counts as none left)", got, want)
	}
}
