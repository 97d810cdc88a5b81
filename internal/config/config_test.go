package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/config"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// env returns a getenv backed by m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var fullEnv = map[string]string{
	"ASSET_HOST":                      "static.example.com",
	"CDNREFRESH_REDIS_URL":            "redis://:pw@127.0.0.1:6379/0",
	"CDNREFRESH_WEBHOOK_SECRET":       "whsec-0123456789abcdef",
	"DINGTALK_URL":                    "https://oapi.dingtalk.com/robot/send?access_token=t",
	"DINGTALK_SECRET":                 "SECabc",
	"SLACK_URL":                       "https://hooks.slack.com/services/T/B/X",
	"ALIBABA_CLOUD_ACCESS_KEY_ID":     "LTAIkey",
	"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "keysecret",
	"ALIBABA_CLOUD_SECURITY_TOKEN":    "token",
}

func TestParseFull(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := config.Parse(data, env(fullEnv))
	if err != nil {
		t.Fatalf("Parse(full.yaml) error: %v", err)
	}
	want := &config.Config{
		Rules: []config.Rule{
			{
				Bucket: "my-site", Prefix: "static/blog/", Suffix: config.Strings{".html"},
				Exclude: []string{"static/blog/drafts/"},
				Domains: []string{"www.example.com", "blog.example.com:8443"},
				Scheme:  "https", StripPrefix: "static/", AddPrefix: "v2/", Index: "index.html",
				OnCreate: config.CreateBoth, OnDelete: config.DeleteRefresh,
				Provider: refresh.DCDN, ObjectType: config.File,
				Prefetch:    config.Prefetch{Area: "overseas", L2Preload: true},
				CacheTags:   config.Strings{"{dir}", "site"},
				EdgeRoutine: &config.EdgeRoutine{ID: "pages.example", MergeDomains: []string{"m.example.com"}},
			},
			{
				Bucket: "my-site", Prefix: "static/", Suffix: config.Strings{".css", ".js"},
				Domains: []string{"static.example.com"}, Scheme: "http",
				OnCreate: config.CreateRefresh, OnDelete: config.DeleteNone,
				Provider: refresh.CDN, ObjectType: config.Directory, Force: true,
				Prefetch: config.Prefetch{QueryHashkey: true},
			},
		},
		Window: config.Window{
			Duration: 3 * time.Second, Quiet: 300 * time.Millisecond, DedupeTTL: time.Minute, EventTTL: 30 * time.Minute,
			MaxBatch: 500, MaxWait: 30 * time.Second, RedisURL: "redis://:pw@127.0.0.1:6379/0",
		},
		Spill: config.Spill{Dir: "var/spill", OSS: &config.SpillOSS{Bucket: "my-spill", Prefix: "cdnrefresh/"}},
		Webhook: config.Webhook{
			Secret: "whsec-0123456789abcdef", SecretVar: "CDNREFRESH_WEBHOOK_SECRET", Auth: "hmac", MaxBodyBytes: 65536, MaxURLs: 200, Domain: "www.example.com",
			Templates: map[string]config.Template{
				"post": {URLs: config.Strings{"https://www.example.com/blog/{slug}/"}},
				"page": {URLs: config.Strings{"/{locale}/{slug}/", "/{locale}/"}, SlugField: "path", DefaultLocale: "en",
					HideDefaultLocale: true, Locales: map[string]string{"en-US": "en"}},
			},
			GitHub:    config.WebhookGitHub{Bucket: "my-site", Prefix: "static/", StripPrefix: "public/", Branches: []string{"main"}},
			RateLimit: 5, RateBurst: 10,
		},
		Notify: config.Notify{Channels: []config.Channel{
			{Type: config.ChannelDingTalk, URL: "https://oapi.dingtalk.com/robot/send?access_token=t", Secret: "SECabc", Name: "dingtalk",
				URLVar: "DINGTALK_URL", SecretVar: "DINGTALK_SECRET"},
			{Type: config.ChannelSlack, URL: "https://hooks.slack.com/services/T/B/X", Name: "ops", URLVar: "SLACK_URL"},
		}},
		Report: config.Report{When: "always", QuotaThreshold: config.Threshold{Value: 500}},
		Limits: config.Limits{
			RefreshQPS: 20, PushQPS: 10, DescribeTasksQPS: 5, TaskByIDQPS: 15, DomainURLsPerMinute: 800,
			QuotaReserve: 100, DirCollapseThreshold: 50, DirReserve: 20, CollapseMaxDepth: 1, QuotaResetZone: "UTC",
		},
		Tasks:       config.Tasks{PrefetchAfter: 4 * time.Minute, RetryFailed: 2},
		CDN:         config.CDN{Region: "ap-southeast-1"},
		Endpoints:   config.Endpoints{CDN: "http://127.0.0.1:8765", OSS: "http://127.0.0.1:8766"},
		Credentials: refresh.Credentials{AccessKeyID: "LTAIkey", AccessKeySecret: "keysecret", SecurityToken: "token"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse(full.yaml) mismatch (-want +got):\n%s", diff)
	}
}

const minimal = "rules: [{bucket: b, domains: [d.example.com]}]\n"

func TestParseDefaults(t *testing.T) {
	got, err := config.Parse([]byte(minimal), env(nil))
	if err != nil {
		t.Fatalf("Parse(minimal) error: %v", err)
	}
	want := config.Default()
	want.Rules = []config.Rule{{
		Bucket: "b", Domains: []string{"d.example.com"}, Scheme: "https",
		OnCreate: config.CreateRefresh, OnDelete: config.DeleteRefresh, Provider: refresh.CDN, ObjectType: config.File,
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse(minimal) mismatch (-want +got):\n%s", diff)
	}
	// The documented defaults, spelled out once.
	if w := got.Window; w.Duration != 2*time.Second || w.DedupeTTL != 2*time.Second || w.EventTTL != 10*time.Minute || w.MaxBatch != 1000 {
		t.Errorf("Parse(minimal).Window = %+v, want 2s/2s/10m/1000", w)
	}
	if got.Spill.Dir != "var/spill" || got.Webhook.Auth != "hmac" || got.Webhook.MaxBodyBytes != 1<<20 || got.Webhook.MaxURLs != 1000 ||
		got.Report.When != "problems" || got.Report.QuotaThreshold.String() != "20%" || got.CDN.Region != "cn-hangzhou" {
		t.Errorf("Parse(minimal) defaults = %+v", got)
	}
	l := got.Limits
	if l.RefreshQPS != 50 || l.PushQPS != 50 || l.DescribeTasksQPS != 10 || l.TaskByIDQPS != 30 ||
		l.DomainURLsPerMinute != 1000 || l.QuotaReserve != 0 || l.DirCollapseThreshold != config.CollapseAuto || l.DirReserve != 10 || l.CollapseMaxDepth != 0 || l.QuotaResetZone != "Asia/Shanghai" {
		t.Errorf("Parse(minimal).Limits = %+v", l)
	}
}

func TestParseDedupeTTLFollowsDuration(t *testing.T) {
	got, err := config.Parse([]byte(minimal+"window: {duration: 5s}\n"), env(nil))
	if err != nil {
		t.Fatalf("Parse error: %v", err)
	}
	if got.Window.DedupeTTL != 5*time.Second {
		t.Errorf("DedupeTTL = %v, want 5s (window.duration when unset)", got.Window.DedupeTTL)
	}
}

func TestParseEnvironment(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		get  func(*config.Config) any
		want any
	}{
		{"whole reference", "webhook: {domain: \"${HOST}\"}\nrules: [{bucket: b, domains: [w.example.com]}]\n",
			map[string]string{"HOST": "w.example.com"}, func(c *config.Config) any { return c.Webhook.Domain }, "w.example.com"},
		{"embedded references", "rules: [{bucket: b, domains: [d.example.com], add_prefix: \"${A}/v${B}/\"}]\n",
			map[string]string{"A": "site", "B": "2"}, func(c *config.Config) any { return c.Rules[0].AddPrefix }, "site/v2/"},
		{"escaped dollar", "rules: [{bucket: b, domains: [d.example.com], add_prefix: \"$${A}/\"}]\n",
			map[string]string{"A": "no"}, func(c *config.Config) any { return c.Rules[0].AddPrefix }, "${A}/"},
		{"number from a reference", minimal + "window: {max_batch: \"${N}\"}\n",
			map[string]string{"N": "250"}, func(c *config.Config) any { return c.Window.MaxBatch }, 250},
		{"duration from a reference", minimal + "window: {duration: \"${D}\"}\n",
			map[string]string{"D": "750ms"}, func(c *config.Config) any { return c.Window.Duration }, 750 * time.Millisecond},
		{"suffix from a reference", "rules: [{bucket: b, domains: [d.example.com], suffix: \"${S}\"}]\n",
			map[string]string{"S": ".png"}, func(c *config.Config) any { return c.Rules[0].Suffix }, config.Strings{".png"}},
		{"unset optional whole reference keeps the default", minimal + "spill: {dir: \"${NOPE}\"}\n",
			nil, func(c *config.Config) any { return c.Spill.Dir }, "var/spill"},
		{"unset optional secret stays empty", minimal + "webhook: {secret: \"${NOPE}\"}\n",
			nil, func(c *config.Config) any { return c.Webhook.Secret }, ""},
		{"redis url from the example reference", minimal + "window: {redis_url: \"${CDNREFRESH_REDIS_URL}\"}\n",
			map[string]string{"CDNREFRESH_REDIS_URL": "redis://127.0.0.1:6379"}, func(c *config.Config) any { return c.Window.RedisURL }, "redis://127.0.0.1:6379"},
		{"CDNREFRESH_REDIS_URL with no entry", minimal,
			map[string]string{"CDNREFRESH_REDIS_URL": "redis://127.0.0.1:6379"}, func(c *config.Config) any { return c.Window.RedisURL }, "redis://127.0.0.1:6379"},
		{"the file's redis_url wins", minimal + "window: {redis_url: \"redis://file:6379\"}\n",
			map[string]string{"CDNREFRESH_REDIS_URL": "redis://env:6379"}, func(c *config.Config) any { return c.Window.RedisURL }, "redis://file:6379"},
		{"CDNREFRESH_SPILL_DIR with no entry", minimal,
			map[string]string{"CDNREFRESH_SPILL_DIR": "/tmp/s"}, func(c *config.Config) any { return c.Spill.Dir }, "/tmp/s"},
		{"the file's spill dir wins", minimal + "spill: {dir: /data/s}\n",
			map[string]string{"CDNREFRESH_SPILL_DIR": "/tmp/s"}, func(c *config.Config) any { return c.Spill.Dir }, "/data/s"},
		{"CDNREFRESH_WEBHOOK_SECRET with no entry", minimal,
			map[string]string{"CDNREFRESH_WEBHOOK_SECRET": "s3cret-of-16-bytes"}, func(c *config.Config) any { return c.Webhook.Secret }, "s3cret-of-16-bytes"},
		{"CDNREFRESH_CDN_ENDPOINT overrides", minimal + "endpoints: {cdn: \"https://cdn.aliyuncs.com\"}\n",
			map[string]string{"CDNREFRESH_CDN_ENDPOINT": "http://127.0.0.1:8765"},
			func(c *config.Config) any { return c.Endpoints.CDN }, "http://127.0.0.1:8765"},
		{"endpoints.cdn", minimal + "endpoints: {cdn: \"https://cdn.aliyuncs.com\"}\n",
			nil, func(c *config.Config) any { return c.Endpoints.CDN }, "https://cdn.aliyuncs.com"},
		{"CDNREFRESH_OSS_ENDPOINT", minimal,
			map[string]string{"CDNREFRESH_OSS_ENDPOINT": "http://127.0.0.1:8766"}, func(c *config.Config) any { return c.Endpoints.OSS }, "http://127.0.0.1:8766"},
		{"spill bucket in the function's region: internal endpoint", minimal + "spill: {oss: {bucket: s}}\n",
			map[string]string{"FC_REGION": "cn-shanghai"}, func(c *config.Config) any { return c.Endpoints.OSS }, "https://oss-cn-shanghai-internal.aliyuncs.com"},
		{"spill bucket in another region: public endpoint", minimal + "spill: {oss: {bucket: s, region: cn-beijing}}\n",
			map[string]string{"FC_REGION": "cn-shanghai"}, func(c *config.Config) any { return c.Endpoints.OSS }, "https://oss-cn-beijing.aliyuncs.com"},
		{"spill bucket off FC: the CDN region", minimal + "spill: {oss: {bucket: s}}\ncdn: {region: ap-southeast-1}\n",
			nil, func(c *config.Config) any { return c.Endpoints.OSS }, "https://oss-ap-southeast-1.aliyuncs.com"},
		{"credentials", minimal,
			map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": "id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "sec"},
			func(c *config.Config) any { return c.Credentials }, refresh.Credentials{AccessKeyID: "id", AccessKeySecret: "sec"}},
		{"single suffix", "rules: [{bucket: b, domains: [d.example.com], suffix: .html}]\n",
			nil, func(c *config.Config) any { return c.Rules[0].Suffix }, config.Strings{".html"}},
		{"percent threshold", minimal + "report: {quota_threshold: 5%}\n",
			nil, func(c *config.Config) any { return c.Report.QuotaThreshold }, config.Threshold{Value: 5, Percent: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse([]byte(tt.yaml), env(tt.env))
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.yaml, err)
			}
			if diff := cmp.Diff(tt.want, tt.get(c)); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.yaml, diff)
			}
		})
	}
}

func TestParseMergeKey(t *testing.T) {
	y := "rules:\n  - &r {bucket: b, domains: [d.example.com], prefix: a/}\n  - {<<: *r, prefix: b/}\n"
	c, err := config.Parse([]byte(y), env(nil))
	if err != nil {
		t.Fatalf("Parse(%q) error: %v", y, err)
	}
	if got := []string{c.Rules[1].Bucket, c.Rules[1].Prefix}; !cmp.Equal(got, []string{"b", "b/"}) {
		t.Errorf("Parse(%q).Rules[1] bucket, prefix = %q, want [b b/]", y, got)
	}
}

// TestParseErrors checks that each problem is reported with its place.
// rule is a config of one rule, bucket my-site, prefix img/, with extra
// keys; r0 names it in errors.
func rule(extra string) string {
	return "rules:\n  - bucket: my-site\n    prefix: img/\n    domains: [d.example.com]\n" + extra
}

const r0 = `config: rules[0] (bucket "my-site", prefix "img/"): `

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string // each a substring of the error
	}{
		{"no rules", "window: {duration: 1s}\n", nil, []string{"config: rules: missing"}},
		{"empty document", "", nil, []string{"config: rules: missing"}},
		{"not yaml", "rules: [\n", nil, []string{"config: line 1: did not find expected node content"}},
		{"unknown field names line and place", "rules:\n  - bucket: b\n    domain: d.example.com\n", nil,
			[]string{`config: line 3: field "domain" not found in rules[0] (did you mean "domains"?)`}},
		{"unknown top-level field", minimal + "windows: {}\n", nil,
			[]string{`config: line 2: field "windows" not found in the top level (did you mean "window"?)`}},
		{"unknown nested field", minimal + "notify:\n  channels:\n    - {type: slack, url: \"${U}\", token: \"${T}\"}\n",
			map[string]string{"U": "https://hooks.slack.com/x"}, []string{`config: line 4: field "token" not found in notify.channels[0]`}},
		{"credentials in the file", minimal + "credentials: {access_key_id: x}\n", nil,
			[]string{`config: line 2: "credentials" does not belong in the config file: credentials come from ALIBABA_CLOUD_ACCESS_KEY_ID`}},
		{"access key in a section", minimal + "cdn: {access_key: x}\n", nil,
			[]string{`config: line 2: "access_key" does not belong in the config file`}},
		{"literal webhook secret", minimal + "webhook: {secret: hunter2}\n", nil,
			[]string{"config: line 2: webhook.secret: give it as ${NAME} so it stays out of the file"}},
		{"literal robot url", minimal + "notify: {channels: [{type: wecom, url: \"https://qyapi.weixin.qq.com/x?key=k\"}]}\n", nil,
			[]string{"config: line 2: notify.channels[0].url: give it as ${NAME} so it stays out of the file"}},
		{"secret partly literal", minimal + "notify: {channels: [{type: dingtalk, url: \"https://oapi.dingtalk.com/robot/send?access_token=${T}\"}]}\n",
			map[string]string{"T": "tok3n"}, []string{"notify.channels[0].url: give it as ${NAME}"}},
		{"literal signing secret", minimal + "notify: {channels: [{type: feishu, url: \"${U}\", secret: abc}]}\n",
			map[string]string{"U": "https://open.feishu.cn/x"}, []string{"notify.channels[0].secret: give it as ${NAME}"}},
		{"unset variable embedded", "rules: [{bucket: b, domains: [d.example.com], add_prefix: \"${SITE}/\"}]\n", nil,
			[]string{"config: line 1: rules[0].add_prefix: environment variable SITE is not set"}},
		{"unset variable in a required field", "rules: [{bucket: \"${BUCKET}\", domains: [d.example.com]}]\n", nil,
			[]string{"config: line 1: rules[0].bucket: environment variable BUCKET is not set"}},
		{"bad reference", "rules: [{bucket: b, domains: [d.example.com], add_prefix: \"${A-B}\"}]\n", nil,
			[]string{`rules[0].add_prefix: "${A-B}" is not a reference`}},
		{"unclosed reference", "rules: [{bucket: b, domains: [d.example.com], add_prefix: \"${A\"}]\n", nil,
			[]string{`rules[0].add_prefix: "${A" has no closing }`}},
		{"on_create", rule("    on_create: purge\n"), nil,
			[]string{r0 + `on_create: "purge" is not one of refresh, prefetch, both, none`}},
		{"on_delete", rule("    on_delete: prefetch\n"), nil,
			[]string{r0 + `on_delete: "prefetch" is not one of refresh, none`}},
		{"scheme", rule("    scheme: ftp\n"), nil, []string{r0 + `scheme: "ftp" is not one of https, http`}},
		{"provider", rule("    provider: cloudfront\n"), nil, []string{r0 + `provider: "cloudfront" is not one of cdn, dcdn`}},
		{"object_type", rule("    object_type: dir\n"), nil,
			[]string{r0 + `object_type: "dir" is not one of file, directory, regex, ignore_params`}},
		{"prefetch area", rule("    prefetch: {area: mars}\n"), nil, []string{r0 + `prefetch.area: "mars" is not one of , domestic, overseas`}},
		{"prefetch header name", rule("    prefetch: {headers: {\"Accept Encoding\": [gzip]}}\n"), nil, []string{r0 + `prefetch.headers: "Accept Encoding" is not a header name`}},
		{"negative task retries", minimal + "tasks: {retry_failed_tasks: -1}\n", nil, []string{"tasks.retry_failed_tasks: must be 0 (never) or more, got -1"}},
		{"negative prefetch delay", minimal + "tasks: {prefetch_after: -1m}\n", nil, []string{"tasks.prefetch_after: must be greater than 0, got -1m0s"}},
		{"negative quiet", minimal + "window: {quiet: -1s}\n", nil, []string{"window.quiet: must be greater than 0, got -1s"}},
		{"negative webhook rate", minimal + "webhook: {rate_limit: -1}\n", nil, []string{"webhook.rate_limit: must not be negative (0 means no cap)"}},
		{"prefetch header without value", rule("    prefetch: {headers: {Accept-Encoding: []}}\n"), nil, []string{r0 + `prefetch.headers: Accept-Encoding has no value`}},
		{"rule does nothing", rule("    on_create: none\n    on_delete: none\n"), nil,
			[]string{r0 + "on_create: on_create and on_delete are both none, so the rule does nothing"}},
		{"prefetch a directory", rule("    on_create: prefetch\n    object_type: directory\n"), nil,
			[]string{r0 + `on_create: "prefetch" prefetches file URLs, but object_type "directory" gives no file URL`}},
		{"both with regex", rule("    on_create: both\n    object_type: regex\n"), nil,
			[]string{r0 + `on_create: "both" prefetches file URLs, but object_type "regex"`}},
		{"strip_prefix not a prefix of prefix", rule("    strip_prefix: static/\n"), nil,
			[]string{r0 + `strip_prefix: "static/" is not a prefix of prefix "img/"`}},
		{"add_prefix with a leading slash", rule("    add_prefix: /v2/\n"), nil, []string{r0 + `add_prefix: "/v2/" must not start with /`}},
		{"index with a path", rule("    index: a/index.html\n"), nil, []string{r0 + `index: "a/index.html" must be a file name`}},
		{"index with directory", rule("    index: index.html\n    object_type: directory\n"), nil,
			[]string{r0 + `index: has no effect with object_type "directory"`}},
		{"exclude outside prefix", rule("    exclude: [tmp/]\n"), nil, []string{r0 + `exclude[0]: "tmp/" never matches`}},
		{"exclude everything", rule("    exclude: [im]\n"), nil, []string{r0 + `exclude[0]: "im" excludes every key of the rule`}},
		{"missing bucket", "rules: [{domains: [d.example.com]}]\n", nil, []string{`config: rules[0] (bucket ""): bucket: missing`}},
		{"empty domains", "rules: [{bucket: b, domains: []}]\n", nil, []string{`config: rules[0] (bucket "b"): domains: missing`}},
		{"no domains", "rules: [{bucket: b}]\n", nil, []string{`config: rules[0] (bucket "b"): domains: missing`}},
		{"domain with scheme", "rules: [{bucket: b, domains: [\"https://d.example.com\"]}]\n", nil,
			[]string{`domains[0]: "https://d.example.com" has a scheme`}},
		{"domain with path", "rules: [{bucket: b, domains: [d.example.com/img]}]\n", nil, []string{`domains[0]: "d.example.com/img" has a path`}},
		{"wildcard domain", "rules: [{bucket: b, domains: [\"*.example.com\"]}]\n", nil, []string{`domains[0]: "*.example.com" is a wildcard`}},
		{"bad port", "rules: [{bucket: b, domains: [\"d.example.com:99999\"]}]\n", nil, []string{`domains[0]: "d.example.com:99999" has a bad port`}},
		{"internationalised domain", "rules: [{bucket: b, domains: [例子.测试]}]\n", nil,
			[]string{`domains[0]: "例子.测试" is not ASCII: give the punycode (xn--) form`}},
		{"IPv6 domain without brackets", "rules: [{bucket: b, domains: [\"2001:db8::1\"]}]\n", nil,
			[]string{`domains[0]: "2001:db8::1" has more than one colon: write an IPv6 address in brackets`}},
		{"duplicate domain", "rules: [{bucket: b, domains: [d.example.com, D.example.com]}]\n", nil,
			[]string{`domains[1]: "d.example.com" is listed twice`}},
		{"second rule named", "rules:\n  - {bucket: b, domains: [d.example.com]}\n  - {bucket: c, domains: [e.example.com], scheme: gopher}\n", nil,
			[]string{`config: rules[1] (bucket "c"): scheme: "gopher" is not one of https, http`}},
		{"zero duration", minimal + "window: {duration: 0s}\n", nil, []string{"config: line 2: window.duration: must be greater than 0, got 0s"}},
		{"negative ttl", minimal + "window: {dedupe_ttl: -1s}\n", nil, []string{"config: window.dedupe_ttl: must be greater than 0, got -1s"}},
		{"duration without unit", minimal + "window: {event_ttl: 60}\n", nil,
			[]string{`config: line 2: window.event_ttl: "60" is not a duration like "2s" or "500ms"`}},
		{"count not a number", minimal + "window: {max_batch: many}\n", nil, []string{`config: line 2: window.max_batch: "many" is not a whole number`}},
		{"bool", "rules:\n  - {bucket: b, domains: [d.example.com]}\n  - {bucket: c, domains: [e.example.com], force: maybe}\n", nil, []string{`config: line 3: rules[1].force: "maybe" is not true or false`}},
		{"list where a value goes", minimal + "report: {when: [always]}\n", nil, []string{"config: line 2: report.when: expected a single value, got a list"}},
		{"value where a mapping goes", minimal + "window: 2s\n", nil, []string{`config: line 2: window: expected a mapping of keys to values, got "2s"`}},
		{"redis url scheme", minimal + "window: {redis_url: \"http://x\"}\n", nil, []string{"config: window.redis_url: not a redis://"}},
		{"channel type", minimal + "notify: {channels: [{type: telegram, url: \"${U}\"}]}\n", map[string]string{"U": "https://t.example.com"},
			[]string{`config: notify.channels[0] (telegram): type: "telegram" is not one of dingtalk, feishu, lark, wecom, slack, webhook`}},
		{"channel url not http", minimal + "notify: {channels: [{type: webhook, url: \"${U}\"}]}\n", map[string]string{"U": "ftp://x.example.com/hook"},
			[]string{"config: notify.channels[0] (webhook): url: not an http(s) URL (the value is not shown: it is a secret)"}},
		{"report.when", minimal + "report: {when: sometimes}\n", nil, []string{`config: report.when: "sometimes" is not one of problems, always`}},
		{"threshold", minimal + "report: {quota_threshold: 120%}\n", nil, []string{`config: line 2: report.quota_threshold: "120%" is not a percentage`}},
		{"webhook auth", minimal + "webhook: {auth: basic}\n", nil, []string{`config: webhook.auth: "basic" is not one of hmac, none`}},
		{"webhook domain not in rules", minimal + "webhook: {domain: other.example.com}\n", nil,
			[]string{`config: webhook.domain: "other.example.com" is in no rule's domains`}},
		{"qps", minimal + "limits: {refresh_qps: -5}\n", nil, []string{"config: limits.refresh_qps: must be greater than 0, got -5"}},
		{"collapse threshold of one", minimal + "limits: {dir_collapse_threshold: 1}\n", nil, []string{"config: limits.dir_collapse_threshold: must be auto, 0 (off) or at least 2 files, got 1"}},
		{"collapse threshold negative", minimal + "limits: {dir_collapse_threshold: -3}\n", nil, []string{`config: line 2: limits.dir_collapse_threshold: "-3" is not auto, 0 (off) or a number of files`}},
		{"collapse threshold word", minimal + "limits: {dir_collapse_threshold: always}\n", nil, []string{`config: line 2: limits.dir_collapse_threshold: "always" is not auto, 0 (off) or a number of files`}},
		{"dir reserve above the quota", minimal + "limits: {dir_reserve: 101}\n", nil, []string{"config: limits.dir_reserve: must be 0 to 100 (the daily directory quota), got 101"}},
		{"dir reserve negative", minimal + "limits: {dir_reserve: -1}\n", nil, []string{"config: limits.dir_reserve: must be 0 to 100 (the daily directory quota), got -1"}},
		{"collapse depth negative", minimal + "limits: {collapse_max_depth: -1}\n", nil, []string{"config: limits.collapse_max_depth: must be 0 or more, got -1"}},
		{"max wait negative", minimal + "window: {max_wait: -5s}\n", nil, []string{"config: window.max_wait: must be 0 or more, got -5s"}},
		{"zone", minimal + "limits: {quota_reset_zone: Mars/Olympus}\n", nil, []string{`config: limits.quota_reset_zone: "Mars/Olympus" is not a known time zone`}},
		{"cdn.endpoint is not the endpoint's key", minimal + "cdn: {endpoint: \"http://a:1\"}\n", nil,
			[]string{"config: line 2: cdn.endpoint is not a key: use endpoints.cdn"}},
		{"cdn.endpoint beside endpoints.cdn", minimal + "cdn:\n  region: cn-hangzhou\n  endpoint: \"http://a:1\"\nendpoints: {cdn: \"http://a:1\"}\n", nil,
			[]string{"config: line 4: cdn.endpoint is not a key: use endpoints.cdn"}},
		{"endpoint with a path", minimal + "endpoints: {oss: \"http://127.0.0.1:1/x\"}\n", nil, []string{`config: endpoints.oss: "http://127.0.0.1:1/x" is not a host`}},
		{"spill in a watched prefix", "rules: [{bucket: b, domains: [d.example.com]}]\nspill: {oss: {bucket: b}}\n", nil,
			[]string{`config: rules[0] (bucket "b"): matches the spill objects under oss://b/.cdnrefresh/spill/: add ".cdnrefresh/spill/" to its exclude`}},
		{"spill bucket missing", minimal + "spill: {oss: {prefix: x/}}\n", nil, []string{"config: spill.oss.bucket: missing"}},
		{"several problems at once", "rules:\n  - {bucket: b, domains: [d.example.com], on_create: x}\nwindow: {max_batch: -1}\nreport: {when: never}\n", nil,
			[]string{`rules[0] (bucket "b"): on_create: "x"`, "window.max_batch: must be greater than 0, got -1", `report.when: "never"`}},
		{"several unknown keys at once", "rules:\n  - {bucket: b, domain: d.example.com}\nwindow: {max_batch: 0, durtion: 1s}\n", nil,
			[]string{`line 2: field "domain" not found in rules[0]`, "line 3: window.max_batch: must be greater than 0, got 0", `line 3: field "durtion" not found in window (did you mean "duration"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantParseError(t, tt.yaml, tt.env, tt.want) })
	}
}

// wantParseError checks that Parse refuses yaml with an error containing
// each of want, and showing no value of env.
func wantParseError(t *testing.T, yaml string, env map[string]string, want []string) {
	t.Helper()
	_, err := config.Parse([]byte(yaml), func(k string) string { return env[k] })
	if err == nil {
		t.Fatalf("Parse(%q) = nil error, want %q", yaml, want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Parse(%q) error =\n%v\nwant it to contain\n%s", yaml, err, w)
		}
	}
	for _, v := range env {
		if strings.Contains(err.Error(), v) {
			t.Errorf("Parse(%q) error %q shows the value of an environment variable", yaml, err)
		}
	}
}

// TestWebhookDomainInRules checks that webhook.domain is found among the
// rules' domains by the one rule about ports (refresh.Host).
func TestWebhookDomainInRules(t *testing.T) {
	tests := []struct {
		domain string
		ok     bool
	}{
		{"d.example.com", true},
		{"D.Example.com", true},
		{"d.example.com:443", true},
		{"d.example.com:8443", false},
		{"e.example.com", false},
	}
	for _, tt := range tests {
		_, err := config.Parse([]byte(minimal+"webhook: {domain: \""+tt.domain+"\"}\n"), env(nil))
		if (err == nil) != tt.ok {
			t.Errorf("Parse(webhook.domain %q) error = %v, want ok %v", tt.domain, err, tt.ok)
		}
	}
}

func TestParseErrorsHideSecrets(t *testing.T) {
	y := minimal + "webhook: {secret: hunter2}\nnotify: {channels: [{type: slack, url: \"https://hooks.slack.com/services/T/B/SECRET\", secret: sesame}]}\n"
	_, err := config.Parse([]byte(y), env(nil))
	if err == nil {
		t.Fatal("Parse with literal secrets = nil error")
	}
	for _, s := range []string{"hunter2", "SECRET", "sesame"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("Parse error %q repeats the secret %q", err, s)
		}
	}
}

func TestFromEnv(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "cdnrefresh.yaml")
	if err := os.WriteFile(file, []byte(minimal), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("rules:\n  - {bucket: b, domain: x}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		bucket  string
		wantErr string
	}{
		{"file", map[string]string{"CDNREFRESH_CONFIG": file}, "b", ""},
		{"inline", map[string]string{"CDNREFRESH_CONFIG_YAML": "rules: [{bucket: inline, domains: [d.example.com]}]"}, "inline", ""},
		{"file and inline", map[string]string{"CDNREFRESH_CONFIG": file, "CDNREFRESH_CONFIG_YAML": "x: 1"}, "", "config: both CDNREFRESH_CONFIG (" + file + ") and CDNREFRESH_CONFIG_YAML are set"},
		{"neither", nil, "", "config: no config: set CDNREFRESH_CONFIG to the path of the YAML config file, or CDNREFRESH_CONFIG_YAML to the YAML itself"},
		{"missing file", map[string]string{"CDNREFRESH_CONFIG": filepath.Join(dir, "nope.yaml")}, "", "config: read " + filepath.Join(dir, "nope.yaml") + " (named by CDNREFRESH_CONFIG)"},
		{"bad file names it", map[string]string{"CDNREFRESH_CONFIG": bad}, "", "config: " + bad + `: line 2: field "domain" not found in rules[0]`},
		{"bad inline names it", map[string]string{"CDNREFRESH_CONFIG_YAML": "rules: 3"}, "", "config: CDNREFRESH_CONFIG_YAML: line 1: rules: expected a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.FromEnv(env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("FromEnv(%v) error = %v, want %q", tt.env, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromEnv(%v) error: %v", tt.env, err)
			}
			if c.Rules[0].Bucket != tt.bucket {
				t.Errorf("FromEnv(%v).Rules[0].Bucket = %q, want %q", tt.env, c.Rules[0].Bucket, tt.bucket)
			}
		})
	}
}

func TestThreshold(t *testing.T) {
	tests := []struct {
		in            string
		remain, total int
		want          bool
	}{
		{"20%", 199, 1000, true},
		{"20%", 200, 1000, false},
		{"20%", 0, 0, false},
		{"500", 499, 10000, true},
		{"500", 500, 10000, false},
		{"0", 0, 10000, false},
	}
	for _, tt := range tests {
		th, err := config.ParseThreshold(tt.in)
		if err != nil {
			t.Fatalf("ParseThreshold(%q) error: %v", tt.in, err)
		}
		if got := th.Below(tt.remain, tt.total); got != tt.want {
			t.Errorf("ParseThreshold(%q).Below(%d, %d) = %v, want %v", tt.in, tt.remain, tt.total, got, tt.want)
		}
	}
	for _, in := range []string{"", "x", "-1", "101%", "NaN", "%"} {
		if _, err := config.ParseThreshold(in); err == nil {
			t.Errorf("ParseThreshold(%q) = nil error, want one", in)
		}
	}
}

func TestWebhookCheckSecret(t *testing.T) {
	tests := []struct {
		w    config.Webhook
		want bool
	}{
		{config.Webhook{Auth: "hmac", Secret: "s"}, true},
		{config.Webhook{Auth: "hmac"}, false},
		{config.Webhook{Auth: "none"}, true},
	}
	for _, tt := range tests {
		if got := tt.w.CheckSecret() == nil; got != tt.want {
			t.Errorf("Webhook{Auth: %q, secret set: %v}.CheckSecret() ok = %v, want %v", tt.w.Auth, tt.w.Secret != "", got, tt.want)
		}
	}
}

func TestLocation(t *testing.T) {
	loc, err := config.Limits{QuotaResetZone: "Asia/Shanghai"}.Location()
	if err != nil {
		t.Fatalf("Location(Asia/Shanghai) error: %v", err)
	}
	if _, off := time.Date(2025, 7, 1, 0, 0, 0, 0, loc).Zone(); off != 8*3600 {
		t.Errorf("Location(Asia/Shanghai) offset = %d, want %d", off, 8*3600)
	}
}

func TestExampleConfig(t *testing.T) {
	for _, name := range []string{"../../events/config.yaml", "../../deploy/config.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("example config: %v", err)
		}
		// As each function sees it: no secrets but its own.
		c, err := config.Parse(data, env(map[string]string{"FC_REGION": "cn-hangzhou"}))
		if err != nil {
			t.Errorf("Parse(%s) error: %v", name, err)
			continue
		}
		if name == "../../deploy/config.yaml" && c.Spill.OSS == nil {
			t.Errorf("%s spills to a local directory; a deployment must spill to OSS", name)
		}
	}
}

func TestValidateByHand(t *testing.T) {
	c := config.Default()
	c.Rules = []config.Rule{{Bucket: "b", Domains: []string{"d.example.com"}}}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Errorf("Validate(Default with one rule) error: %v", err)
	}
	c.Window.Duration = -time.Second
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "config: window.duration: must be greater than 0, got -1s") {
		t.Errorf("Validate(duration -1s) error = %v, want window.duration", err)
	}
}

// TestNotifyCheck: a robot URL whose variable is unset loads (the functions
// that do not notify are not given it) and is refused by Notify.Check,
// which the report function runs at cold start.
func TestNotifyCheck(t *testing.T) {
	yaml := minimal + "notify: {channels: [{type: slack, url: \"${SLACK_URL}\"}, {type: webhook}]}\n"
	c, err := config.Parse([]byte(yaml), env(nil))
	if err != nil {
		t.Fatalf("Parse with the robot URL unset: %v", err)
	}
	err = c.Notify.Check()
	for _, want := range []string{"notify.channels[0] (slack): url: ${SLACK_URL} is not set", "notify.channels[1] (webhook): url: not set"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Notify.Check() = %v, want it to name %q", err, want)
		}
	}
	c, err = config.Parse([]byte(yaml), env(map[string]string{"SLACK_URL": "https://hooks.slack.com/services/T/B/x"}))
	if err != nil {
		t.Fatal(err)
	}
	c.Notify.Channels = c.Notify.Channels[:1]
	if err := c.Notify.Check(); err != nil {
		t.Errorf("Notify.Check() with the URL set = %v", err)
	}
}
