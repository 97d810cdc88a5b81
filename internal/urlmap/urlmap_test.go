package urlmap_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/config"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/urlmap"
)

var _ refresh.Mapper = (*urlmap.Rules)(nil)

func mustCompile(t testing.TB, rules []config.Rule) *urlmap.Rules {
	t.Helper()
	r, err := urlmap.Compile(rules)
	if err != nil {
		t.Fatalf("Compile error: %v", err)
	}
	return r
}

// mapCase is a change and what Map makes of it.
type mapCase struct {
	name     string
	change   refresh.Change
	jobs     []refresh.Job
	rejected []refresh.Outcome
	ignored  string
}

// checkMap maps each case's change with rules and compares.
func checkMap(t *testing.T, rules *urlmap.Rules, tests []mapCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jobs, rejected, ignored := rules.Map(tt.change)
			if diff := cmp.Diff(tt.jobs, jobs); diff != "" {
				t.Errorf("Map(%+v) jobs mismatch (-want +got):\n%s", tt.change, diff)
			}
			if diff := cmp.Diff(tt.rejected, rejected); diff != "" {
				t.Errorf("Map(%+v) rejected mismatch (-want +got):\n%s", tt.change, diff)
			}
			if ignored != tt.ignored {
				t.Errorf("Map(%+v) ignored = %q, want %q", tt.change, ignored, tt.ignored)
			}
		})
	}
}

// job builds an expected job with the defaults of a rule: CDN, File, no force.
func job(a refresh.Action, url, key string) refresh.Job {
	return refresh.Job{Action: a, Provider: refresh.CDN, ObjectType: refresh.File, URL: url, Key: key}
}

func refreshJob(url, key string) refresh.Job  { return job(refresh.ActionRefresh, url, key) }
func prefetchJob(url, key string) refresh.Job { return job(refresh.ActionPrefetch, url, key) }

func TestMap(t *testing.T) {
	rules := mustCompile(t, []config.Rule{
		// 0: pages, narrow, first.
		{Bucket: "site", Prefix: "static/blog/", StripPrefix: "static/", Domains: []string{"www.example.com"}, Index: "index.html"},
		// 1: assets on two domains, refreshed and prefetched; drafts excluded.
		{Bucket: "site", Prefix: "static/", StripPrefix: "static/", Domains: []string{"Static.Example.com", "cdn.example.com:8443"},
			OnCreate: config.CreateBoth, Exclude: []string{"static/drafts/"},
			Prefetch: config.Prefetch{Area: "domestic", L2Preload: true, Headers: map[string][]string{"Accept-Encoding": {"gzip", "br"}, "Accept": {"*/*"}}}},
		// 2: downloads keep deleted files cached; http; add a prefix; every query string.
		{Bucket: "dl", Suffix: config.Strings{".zip", ".tar.gz"}, AddPrefix: "files/", Domains: []string{"dl.example.com"},
			Scheme: "http", OnDelete: config.DeleteNone, ObjectType: config.IgnoreParams, Force: true},
		// 3: directory refreshes on DCDN.
		{Bucket: "docs", Domains: []string{"docs.example.com"}, ObjectType: config.Directory, Provider: refresh.DCDN},
		// 4: prefetch only, root index.
		{Bucket: "home", Domains: []string{"home.example.com"}, OnCreate: config.CreatePrefetch, Index: "index.html"},
		// 5: ignore_params.
		{Bucket: "api", Domains: []string{"api.example.com"}, ObjectType: config.IgnoreParams, OnCreate: config.CreateNone},
	})
	create := func(bucket, key string) refresh.Change {
		return refresh.Change{Source: "oss", Bucket: bucket, Key: key, Op: refresh.OpCreate}
	}
	del := func(bucket, key string) refresh.Change {
		return refresh.Change{Source: "oss", Bucket: bucket, Key: key, Op: refresh.OpDelete}
	}
	long := strings.Repeat("a", urlmap.MaxURLLength-len("https://home.example.com/")+1)
	atLimit := long[1:]
	asset := func(a refresh.Action, url, key string) refresh.Job {
		j := job(a, url, key)
		if a == refresh.ActionPrefetch {
			j.Area, j.L2Preload = "domestic", true
			j.WithHeader = `{"Accept":["*/*"],"Accept-Encoding":["gzip","br"]}`
		}
		return j
	}
	tests := []mapCase{
		{"first match wins over a broader rule", create("site", "static/blog/post.html"),
			[]refresh.Job{refreshJob("https://www.example.com/blog/post.html", "static/blog/post.html")}, nil, ""},
		{"nested index document", create("site", "static/blog/2024/index.html"),
			[]refresh.Job{
				refreshJob("https://www.example.com/blog/2024/index.html", "static/blog/2024/index.html"),
				refreshJob("https://www.example.com/blog/2024/", "static/blog/2024/index.html"),
			}, nil, ""},
		{"index name inside a longer name is not an index", create("site", "static/blog/myindex.html"),
			[]refresh.Job{refreshJob("https://www.example.com/blog/myindex.html", "static/blog/myindex.html")}, nil, ""},
		{"both on two domains, refresh then prefetch", create("site", "static/css/a b.css"),
			[]refresh.Job{
				asset(refresh.ActionRefresh, "https://static.example.com/css/a%20b.css", "static/css/a b.css"),
				asset(refresh.ActionPrefetch, "https://static.example.com/css/a%20b.css", "static/css/a b.css"),
				asset(refresh.ActionRefresh, "https://cdn.example.com:8443/css/a%20b.css", "static/css/a b.css"),
				asset(refresh.ActionPrefetch, "https://cdn.example.com:8443/css/a%20b.css", "static/css/a b.css"),
			}, nil, ""},
		{"delete is never prefetched", del("site", "static/css/x.css"),
			[]refresh.Job{
				refreshJob("https://static.example.com/css/x.css", "static/css/x.css"),
				refreshJob("https://cdn.example.com:8443/css/x.css", "static/css/x.css"),
			}, nil, ""},
		{"excluded", create("site", "static/drafts/x.html"), nil, nil, "excluded by rules[1]"},
		{"no rule for the bucket", create("other", "a.png"), nil, nil, "no rule matches other/a.png"},
		{"no rule for the key", create("site", "private/a.png"), nil, nil, "no rule matches site/private/a.png"},
		{"suffix not matched", create("dl", "a.exe"), nil, nil, "no rule matches dl/a.exe"},
		{"suffix list, add_prefix, http, force", create("dl", "v1/app.tar.gz"),
			[]refresh.Job{{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.IgnoreParams,
				URL: "http://dl.example.com/files/v1/app.tar.gz", Force: true, Key: "v1/app.tar.gz"}}, nil, ""},
		{"on_delete none", del("dl", "v1/app.zip"), nil, nil, "on_delete is none in rules[2]"},
		{"on_create none", create("api", "v1/users"), nil, nil, "on_create is none in rules[5]"},
		{"ignore_params on delete", del("api", "v1/users"),
			[]refresh.Job{{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.IgnoreParams,
				URL: "https://api.example.com/v1/users", Key: "v1/users"}}, nil, ""},
		{"directory of a nested key", create("docs", "guide/setup/install.html"),
			[]refresh.Job{{Action: refresh.ActionRefresh, Provider: refresh.DCDN, ObjectType: refresh.Directory,
				URL: "https://docs.example.com/guide/setup/", Key: "guide/setup/install.html"}}, nil, ""},
		{"directory of a root key", create("docs", "robots.txt"),
			[]refresh.Job{{Action: refresh.ActionRefresh, Provider: refresh.DCDN, ObjectType: refresh.Directory,
				URL: "https://docs.example.com/", Key: "robots.txt"}}, nil, ""},
		{"directory object", create("docs", "guide/"),
			[]refresh.Job{{Action: refresh.ActionRefresh, Provider: refresh.DCDN, ObjectType: refresh.Directory,
				URL: "https://docs.example.com/guide/", Key: "guide/"}}, nil, ""},
		{"prefetch only, root index", create("home", "index.html"),
			[]refresh.Job{
				prefetchJob("https://home.example.com/index.html", "index.html"),
				prefetchJob("https://home.example.com/", "index.html"),
			}, nil, ""},
		{"delete under prefetch-only refreshes", del("home", "index.html"),
			[]refresh.Job{
				refreshJob("https://home.example.com/index.html", "index.html"),
				refreshJob("https://home.example.com/", "index.html"),
			}, nil, ""},
		{"dot segments of a key resolved", create("home", "a/./b/../c~ d.html"),
			[]refresh.Job{prefetchJob("https://home.example.com/a/c~%20d.html", "a/./b/../c~ d.html")}, nil, ""},
		{"key above the root", create("home", "../x.png"), nil,
			[]refresh.Outcome{{Job: prefetchJob("https://home.example.com/../x.png", "../x.png"), Status: refresh.Rejected,
				Reason: "a .. segment climbs above the root"}}, ""},
		{"file key with a trailing slash and empty segment", create("home", "a//b/"),
			[]refresh.Job{prefetchJob("https://home.example.com/a//b/", "a//b/")}, nil, ""},
		{"URL of exactly 1024 characters", create("home", atLimit),
			[]refresh.Job{prefetchJob("https://home.example.com/"+atLimit, atLimit)}, nil, ""},
		{"URL longer than 1024 characters", create("home", long), nil,
			[]refresh.Outcome{{Job: prefetchJob("https://home.example.com/"+long, long), Status: refresh.Rejected, Reason: "URL longer than 1024 characters"}}, ""},
		{"action override", refresh.Change{Bucket: "home", Key: "a.png", Op: refresh.OpCreate, Action: refresh.ActionRefresh},
			[]refresh.Job{refreshJob("https://home.example.com/a.png", "a.png")}, nil, ""},
		{"object type and force override", refresh.Change{Bucket: "dl", Key: "x/a.zip", ObjectType: refresh.Directory, Force: true},
			[]refresh.Job{{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.Directory,
				URL: "http://dl.example.com/files/x/", Force: true, Key: "x/a.zip"}}, nil, ""},
		{"prefetch override on a delete", refresh.Change{Bucket: "home", Key: "a.png", Op: refresh.OpDelete, Action: refresh.ActionPrefetch},
			nil, nil, "a deleted object is never prefetched"},
		{"unknown op", refresh.Change{Bucket: "home", Key: "a.png", Op: "rename"}, nil, nil, `unknown op "rename"`},
	}
	checkMap(t, rules, tests)
}

func TestMapURL(t *testing.T) {
	rules := mustCompile(t, []config.Rule{
		{Bucket: "site", Domains: []string{"www.example.com", "img.example.com:8443", "xn--fsqu00a.xn--0zwm56d"}, OnCreate: config.CreateBoth},
		{Bucket: "other", Domains: []string{"www.example.com", "dcdn.example.com"}, Provider: refresh.DCDN},
	})
	web := func(url string) refresh.Change {
		return refresh.Change{Source: "webhook", URL: url, Op: refresh.OpCreate}
	}
	both := func(url string) []refresh.Job {
		return []refresh.Job{refreshJob(url, ""), prefetchJob(url, "")}
	}
	rejected := func(url, reason string) []refresh.Outcome {
		return []refresh.Outcome{{Job: refresh.Job{Action: refresh.ActionRefresh, URL: url}, Status: refresh.Rejected, Reason: reason}}
	}
	tests := []mapCase{
		{"allowed domain takes the first rule listing it", web("https://www.example.com/a.html"), both("https://www.example.com/a.html"), nil, ""},
		{"host and scheme lower-cased, default port dropped", web("HTTPS://WWW.Example.com:443/A.html"), both("https://www.example.com/A.html"), nil, ""},
		{"port must match", web("https://img.example.com:8443/x.png"), both("https://img.example.com:8443/x.png"), nil, ""},
		{"second rule's own domain", web("https://dcdn.example.com/x"),
			[]refresh.Job{{Action: refresh.ActionRefresh, Provider: refresh.DCDN, ObjectType: refresh.File, URL: "https://dcdn.example.com/x"}}, nil, ""},
		{"disallowed domain", web("https://evil.example.net/a.html"), nil, rejected("https://evil.example.net/a.html", "domain not allowed"), ""},
		{"disallowed port", web("https://img.example.com/x.png"), nil, rejected("https://img.example.com/x.png", "domain not allowed"), ""},
		{"userinfo is not a host", web("https://www.example.com@evil.example.net/"), nil,
			rejected("https://www.example.com@evil.example.net/", "a URL with user information is not refreshed"), ""},
		{"not http", web("ftp://www.example.com/a"), nil, rejected("ftp://www.example.com/a", "not an http(s) URL"), ""},
		{"not a URL", web("www.example.com/a"), nil, rejected("www.example.com/a", "not an http(s) URL"), ""},
		{"encoded once, kept", web("https://www.example.com/a%20b/%E4%B8%AD?x=1&y=%2F"),
			both("https://www.example.com/a%20b/%E4%B8%AD?x=1&y=%2F"), nil, ""},
		{"raw bytes encoded, fragment dropped", web("https://www.example.com/a b/中?q=a b#top"),
			both("https://www.example.com/a%20b/%E4%B8%AD?q=a%20b"), nil, ""},
		{"stray percent", web("https://www.example.com/100%"), both("https://www.example.com/100%25"), nil, ""},
		{"canonical spelling", web("https://WWW.Example.com:443/a/./b%7e/../c%e4%b8%ad.html?x=%41#f"),
			both("https://www.example.com/a/c%E4%B8%AD.html?x=A"), nil, ""},
		{"IDNA host of a rule", web("https://例子.测试/a"), both("https://xn--fsqu00a.xn--0zwm56d/a"), nil, ""},
		{"path above the root", web("https://www.example.com/../etc/passwd"), nil,
			rejected("https://www.example.com/../etc/passwd", "a .. segment climbs above the root"), ""},
		{"control character", web("https://www.example.com/a\nb"), nil,
			rejected("https://www.example.com/a\nb", "contains a control character"), ""},
		{"directory after dot segments", refresh.Change{URL: "https://www.example.com/docs/a/..", ObjectType: refresh.Directory, Action: refresh.ActionRefresh},
			[]refresh.Job{{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.Directory, URL: "https://www.example.com/docs/"}}, nil, ""},
		{"bare host gets a path", web("https://www.example.com"), both("https://www.example.com/"), nil, ""},
		{"directory override adds the slash", refresh.Change{URL: "https://www.example.com/docs", ObjectType: refresh.Directory, Action: refresh.ActionRefresh},
			[]refresh.Job{{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.Directory, URL: "https://www.example.com/docs/"}}, nil, ""},
		{"regex kept as given", refresh.Change{URL: `https://www.example.com/img/.*\.png$`, ObjectType: refresh.Regex, Action: refresh.ActionRefresh},
			[]refresh.Job{{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.Regex, URL: `https://www.example.com/img/.*\.png$`}}, nil, ""},
		{"regex: only scheme and host canonical", refresh.Change{URL: `HTTPS://WWW.Example.com:443/a/./[0-9]+%7e\.png`, ObjectType: refresh.Regex, Action: refresh.ActionRefresh},
			[]refresh.Job{{Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.Regex, URL: `https://www.example.com/a/./[0-9]+%7e\.png`}}, nil, ""},
		{"prefetch of a directory", refresh.Change{URL: "https://www.example.com/docs/", ObjectType: refresh.Directory, Action: refresh.ActionPrefetch}, nil,
			[]refresh.Outcome{{Job: refresh.Job{Action: refresh.ActionPrefetch, Provider: refresh.CDN, ObjectType: refresh.File, URL: "https://www.example.com/docs/"},
				Status: refresh.Rejected, Reason: "prefetch takes file URLs, not Directory"}}, ""},
		{"delete refreshes only", refresh.Change{URL: "https://www.example.com/gone.html", Op: refresh.OpDelete},
			[]refresh.Job{refreshJob("https://www.example.com/gone.html", "")}, nil, ""},
		{"over-long URL", web("https://www.example.com/" + strings.Repeat("x", 1001)), nil,
			[]refresh.Outcome{
				{Job: refreshJob("https://www.example.com/"+strings.Repeat("x", 1001), ""), Status: refresh.Rejected, Reason: "URL longer than 1024 characters"},
				{Job: prefetchJob("https://www.example.com/"+strings.Repeat("x", 1001), ""), Status: refresh.Rejected, Reason: "URL longer than 1024 characters"},
			}, ""},
	}
	checkMap(t, rules, tests)
}

func TestCompileErrors(t *testing.T) {
	ok := config.Rule{Bucket: "b", Prefix: "img/", Domains: []string{"d.example.com"}}
	with := func(f func(*config.Rule)) []config.Rule {
		r := ok
		f(&r)
		return []config.Rule{ok, r}
	}
	const r1 = `rules[1] (bucket "b", prefix "img/"): `
	tests := []struct {
		name  string
		rules []config.Rule
		want  string
	}{
		{"no rules", nil, "urlmap: no rules"},
		{"prefetch a directory", with(func(r *config.Rule) { r.OnCreate, r.ObjectType = config.CreatePrefetch, config.Directory }),
			r1 + `on_create: "prefetch" prefetches file URLs, but object_type "directory" gives no file URL`},
		{"prefetch a regex", with(func(r *config.Rule) { r.OnCreate, r.ObjectType = config.CreatePrefetch, config.Regex }),
			r1 + `on_create: "prefetch" prefetches file URLs, but object_type "regex"`},
		{"strip_prefix not a prefix of prefix", with(func(r *config.Rule) { r.StripPrefix = "static/" }),
			r1 + `strip_prefix: "static/" is not a prefix of prefix "img/"`},
		{"rule does nothing", with(func(r *config.Rule) { r.OnCreate, r.OnDelete = config.CreateNone, config.DeleteNone }),
			r1 + "on_create: on_create and on_delete are both none, so the rule does nothing"},
		{"empty domains", with(func(r *config.Rule) { r.Domains = nil }), r1 + "domains: missing"},
		{"bad scheme", with(func(r *config.Rule) { r.Scheme = "ftp" }), r1 + `scheme: "ftp" is not one of https, http`},
		{"domain with path", with(func(r *config.Rule) { r.Domains = []string{"d.example.com/x"} }), r1 + `domains[0]: "d.example.com/x" has a path`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := urlmap.Compile(tt.rules)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Compile(%s) error = %v, want %q", tt.name, err, tt.want)
			}
		})
	}
}

// TestCompileKeepsCallersRules checks that defaults are not written back.
func TestCompileKeepsCallersRules(t *testing.T) {
	rules := []config.Rule{{Bucket: "b", Domains: []string{"D.example.com"}}}
	mustCompile(t, rules)
	want := []config.Rule{{Bucket: "b", Domains: []string{"D.example.com"}}}
	if diff := cmp.Diff(want, rules); diff != "" {
		t.Errorf("Compile changed its argument (-want +got):\n%s", diff)
	}
}

// TestExampleConfig maps keys through the example config the README shows.
func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile("../../events/config.yaml")
	if err != nil {
		t.Skipf("no example config: %v", err)
	}
	cfg, err := config.Parse(data, func(string) string { return "" })
	if err != nil {
		t.Fatalf("Parse(events/config.yaml) error: %v", err)
	}
	rules := mustCompile(t, cfg.Rules)
	jobs, _, ignored := rules.Map(refresh.Change{Bucket: "my-site", Key: "static/blog/post/index.html", Op: refresh.OpCreate})
	var urls []string
	for _, j := range jobs {
		urls = append(urls, string(j.Action)+" "+j.URL)
	}
	want := []string{"refresh https://www.example.com/blog/post/index.html", "refresh https://www.example.com/blog/post/"}
	if diff := cmp.Diff(want, urls); diff != "" || ignored != "" {
		t.Errorf("Map(static/blog/post/index.html) = %q, ignored %q; mismatch (-want +got):\n%s", urls, ignored, diff)
	}
}

// BenchmarkMap maps 100,000 keys through 5 rules; one op is one key.
func BenchmarkMap(b *testing.B) {
	rules := mustCompile(b, []config.Rule{
		{Bucket: "site", Prefix: "static/blog/", StripPrefix: "static/", Domains: []string{"www.example.com"}, Index: "index.html"},
		{Bucket: "site", Prefix: "static/", StripPrefix: "static/", Domains: []string{"static.example.com", "cdn.example.com"},
			OnCreate: config.CreateBoth, Exclude: []string{"static/tmp/"}},
		{Bucket: "site", Prefix: "media/", Suffix: config.Strings{".mp4", ".webm"}, Domains: []string{"media.example.com"}},
		{Bucket: "docs", Domains: []string{"docs.example.com"}, ObjectType: config.Directory},
		{Bucket: "site", Domains: []string{"www.example.com"}},
	})
	prefixes := []string{"static/blog/2024/", "static/css/", "static/tmp/", "media/video/", "pages/", "static/img/中文 图/"}
	names := []string{"index.html", "a.css", "clip.mp4", "photo 1.jpg", "x.txt"}
	changes := make([]refresh.Change, 100_000)
	for i := range changes {
		changes[i] = refresh.Change{
			Bucket: "site",
			Key:    fmt.Sprintf("%s%d/%s", prefixes[i%len(prefixes)], i, names[i%len(names)]),
			Op:     refresh.OpCreate,
		}
		if i%10 == 0 {
			changes[i].Bucket = "docs"
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		rules.Map(changes[i%len(changes)])
	}
}

func TestRulesAllows(t *testing.T) {
	rules, err := urlmap.Compile([]config.Rule{
		{Bucket: "b", Domains: []string{"www.example.com", "alt.example.com:8443"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{
		"www.example.com":      true,
		"WWW.Example.com":      true,
		"www.example.com:443":  true,
		"alt.example.com:8443": true,
		"alt.example.com":      false,
		"evil.example.com":     false,
		"":                     false,
	} {
		if got := rules.Allows(host); got != want {
			t.Errorf("Allows(%q) = %v, want %v", host, got, want)
		}
	}
}
