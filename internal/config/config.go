// Package config turns the user's YAML config and the environment into a
// typed, validated Config, once, at cold start.
//
// The file is named by CDNREFRESH_CONFIG, or carried inline in
// CDNREFRESH_CONFIG_YAML (FC limits all environment variables to 4 KB
// together, so a file shipped next to the binary is the usual choice).
// Only FromEnv reads a file; nothing here reads the process environment
// itself: main passes os.Getenv in and tests pass a map.
//
// # Environment references
//
// Any string value may contain ${NAME}; it is replaced by the variable's
// value when the config is loaded ($${ gives a literal "${"). A variable
// that is unset (or empty) is an error naming it, except where the whole
// value is the one reference and the field is optional: the field then
// keeps its default. Secrets — webhook.secret and every notify channel's url
// and secret — must be given this way: a literal value there is an error, so
// that no secret is ever committed with the file.
//
// Some variables work with no config entry at all: CDNREFRESH_SPILL_DIR
// (spill.dir), CDNREFRESH_WEBHOOK_SECRET (webhook.secret) and
// CDNREFRESH_REDIS_URL (window.redis_url) fill their field when the file
// leaves it unset; CDNREFRESH_CDN_ENDPOINT and CDNREFRESH_OSS_ENDPOINT
// override Endpoints. Credentials come only from ALIBABA_CLOUD_ACCESS_KEY_ID,
// ALIBABA_CLOUD_ACCESS_KEY_SECRET and ALIBABA_CLOUD_SECURITY_TOKEN (or, per
// invocation, from FC's request headers); a credentials key in the file is
// an error.
//
// # Errors
//
// Unknown keys are errors that name the line and the place
// (config: line 7: field "domain" not found in rules[0] (did you mean
// "domains"?)), and so is every invalid value, naming the rule and field
// (config: rules[1] (bucket "my-site", prefix "img/"): on_create: "purge" is
// not one of refresh, prefetch, both, none). All problems found are
// reported together, one per line.
//
// Parts that contradict each other are refused too, naming both places: a
// key given twice in one mapping (config: line 9: rules: given twice
// (first at line 2)), a second YAML document, spill.dir beside spill.oss,
// a rule that can never fire because an earlier one matches every key it
// would (or is identical to it), CDNREFRESH_CONFIG beside
// CDNREFRESH_CONFIG_YAML, an inline config over the platforms' 4 KB for
// all environment variables, and a webhook secret under MinSecretBytes.
package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// Environment variables the config reads.
const (
	EnvConfig          = "CDNREFRESH_CONFIG"         // path of the YAML config file
	EnvConfigYAML      = "CDNREFRESH_CONFIG_YAML"    // the YAML itself, when there is no file
	EnvSpillDir        = "CDNREFRESH_SPILL_DIR"      // spill.dir when the file leaves it unset
	EnvWebhookSecret   = "CDNREFRESH_WEBHOOK_SECRET" // webhook.secret when the file leaves it unset
	EnvRedisURL        = "CDNREFRESH_REDIS_URL"      // window.redis_url when the file leaves it unset
	EnvCDNEndpoint     = "CDNREFRESH_CDN_ENDPOINT"   // overrides the CDN and DCDN API endpoint
	EnvOSSEndpoint     = "CDNREFRESH_OSS_ENDPOINT"   // overrides the OSS endpoint
	EnvFCRegion        = "FC_REGION"                 // set by Function Compute: the function's region
	EnvAccessKeyID     = "ALIBABA_CLOUD_ACCESS_KEY_ID"
	EnvAccessKeySecret = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
	EnvSecurityToken   = "ALIBABA_CLOUD_SECURITY_TOKEN"
)

// Config is the whole configuration of the three functions.
type Config struct {
	Rules     []Rule    `yaml:"rules"`
	Window    Window    `yaml:"window"`
	Spill     Spill     `yaml:"spill"`
	Webhook   Webhook   `yaml:"webhook"`
	Notify    Notify    `yaml:"notify"`
	Report    Report    `yaml:"report"`
	Limits    Limits    `yaml:"limits"`
	Tasks     Tasks     `yaml:"tasks"`
	CDN       CDN       `yaml:"cdn"`
	Endpoints Endpoints `yaml:"endpoints"`

	// Credentials come from the ALIBABA_CLOUD_* environment variables,
	// never from the file. They may be empty: FC passes the function
	// role's STS token with each invocation instead.
	Credentials refresh.Credentials `yaml:"-"`
}

// OnCreate is what a rule does when an object is created or overwritten.
type OnCreate string

// Values of on_create.
const (
	CreateRefresh  OnCreate = "refresh"  // purge the URLs
	CreatePrefetch OnCreate = "prefetch" // warm the URLs
	CreateBoth     OnCreate = "both"     // purge, then warm
	CreateNone     OnCreate = "none"     // do nothing
)

// OnDelete is what a rule does when an object is deleted. A deleted object
// is never prefetched.
type OnDelete string

// Values of on_delete.
const (
	DeleteRefresh OnDelete = "refresh"
	DeleteNone    OnDelete = "none"
)

// ObjectType is a rule's refresh granularity, spelled as in the file.
type ObjectType string

// Values of object_type.
const (
	// File refreshes exactly the object's URL.
	File ObjectType = "file"
	// Directory refreshes the directory holding the object: the URL of
	// the key's parent, ending in "/" (a/b/c.png → https://d/a/b/). It
	// spends the small directory quota (100 a day by default).
	Directory ObjectType = "directory"
	// Regex sends the object's URL as a regular expression (so "." matches
	// any character). It spends the regex quota (20 a day by default);
	// mostly useful for URLs a webhook caller names.
	Regex ObjectType = "regex"
	// IgnoreParams refreshes the object's URL under every query string.
	IgnoreParams ObjectType = "ignore_params"
	// ExQuery is another name of ignore_params, as the CDN
	// RefreshObjectCaches page spells the type (ExQuery); a rule reads
	// as ignore_params.
	ExQuery ObjectType = "exquery"
)

// API returns the type as RefreshObjectCaches spells it.
func (t ObjectType) API() refresh.ObjectType {
	switch t {
	case Directory:
		return refresh.Directory
	case Regex:
		return refresh.Regex
	case IgnoreParams, ExQuery:
		return refresh.IgnoreParams
	}
	return refresh.File
}

// Strings is a list of strings that may also be written as one string.
type Strings []string

// Rule maps objects of one bucket (under a prefix, with a suffix) to URLs on
// CDN domains, and says what to do when they change. Rules are tried in
// file order; the first that matches a key wins.
type Rule struct {
	Bucket string `yaml:"bucket" config:"required"`
	// Prefix and Suffix select keys (case-sensitive). Suffix may be one
	// string or a list; a key matches when it ends with any of them.
	Prefix string  `yaml:"prefix"`
	Suffix Strings `yaml:"suffix"`
	// Exclude lists key prefixes (whole keys, not relative to Prefix) that
	// the rule ignores; an excluded key is not offered to later rules.
	Exclude []string `yaml:"exclude"`
	// Domains are host names, optionally host:port: no scheme, no path,
	// no wildcard.
	Domains []string `yaml:"domains" config:"required"`
	Scheme  string   `yaml:"scheme"` // https (default) or http
	// StripPrefix is removed from the key, then AddPrefix put in front,
	// before the key becomes the URL path.
	StripPrefix string   `yaml:"strip_prefix"`
	AddPrefix   string   `yaml:"add_prefix"`
	OnCreate    OnCreate `yaml:"on_create"` // default refresh
	OnDelete    OnDelete `yaml:"on_delete"` // default refresh
	// Index is the index document name (e.g. index.html): a changed
	// a/b/index.html also yields https://d/a/b/.
	Index      string           `yaml:"index"`
	Provider   refresh.Provider `yaml:"provider"`    // cdn (default) or dcdn
	ObjectType ObjectType       `yaml:"object_type"` // default file
	// Force asks the CDN to refetch everything in scope rather than
	// revalidate (directory, regex and ignore_params refreshes, and cache
	// tags); it has no effect on File refreshes.
	Force    bool     `yaml:"force"`
	Prefetch Prefetch `yaml:"prefetch"`
	// CacheTags are cache-tag templates: each changed key also refreshes,
	// on each domain, what the CDN cached under every tag they give
	// (RefreshObjectCacheByCacheTag, RefreshDcdnObjectCacheByCacheTag).
	// Placeholders: {key} (the object key), {dir} (its directory, without
	// the final /), {base} (its file name), {ext} (the file name's
	// extension, without the dot).
	CacheTags Strings `yaml:"cache_tags"`
	// EdgeRoutine, on a DCDN rule, also refreshes the rule's URLs in the
	// cache of an Edge Routine (RefreshErObjectCaches).
	EdgeRoutine *EdgeRoutine `yaml:"edge_routine"`
}

// EdgeRoutine names an Edge Routine whose cache a rule's refreshes also
// purge (RefreshErObjectCaches, seed 003).
type EdgeRoutine struct {
	// ID is the routine's RoutineId, "Name.Subdomain".
	ID string `yaml:"id" config:"required"`
	// MergeDomains are domains merged for the refresh (MergeDomainName):
	// the points of presence serving them are refreshed too.
	MergeDomains []string `yaml:"merge_domains"`
}

// Tag placeholders, expanded per changed key in Rule.CacheTags.
const (
	TagKey  = "{key}"  // the object key
	TagDir  = "{dir}"  // the key's directory, without the final /; "" at the root
	TagBase = "{base}" // the key's file name
	TagExt  = "{ext}"  // the file name's extension, without the dot; "" if none
)

// TagPlaceholders are the placeholders of a cache-tag template.
var TagPlaceholders = []string{TagKey, TagDir, TagBase, TagExt}

// Prefetch holds the options of prefetch (PushObjectCache) calls.
type Prefetch struct {
	Area      string `yaml:"area"` // domestic | overseas | "" (the domain's coverage)
	L2Preload bool   `yaml:"l2_preload"`
	// Headers are sent to the origin with each prefetch (PushObjectCache
	// WithHeader), e.g. {Accept-Encoding: [gzip]} to warm the compressed copy.
	Headers map[string][]string `yaml:"headers"`
	// QueryHashkey runs prefetches in hash key query mode (PushObjectCache
	// QueryHashkey, seed 000; CDN only).
	QueryHashkey bool `yaml:"query_hashkey"`
}

// Window configures the short dedupe window.
type Window struct {
	Duration  time.Duration `yaml:"duration" config:"positive"`   // how long a window collects jobs at most; default 2s
	Quiet     time.Duration `yaml:"quiet" config:"positive"`      // a window closes after this long without a new job; default 200ms
	DedupeTTL time.Duration `yaml:"dedupe_ttl" config:"positive"` // how long a URL counts as done; default Duration
	EventTTL  time.Duration `yaml:"event_ttl" config:"positive"`  // how long an event id counts as seen; default 10m
	MaxBatch  int           `yaml:"max_batch" config:"positive"`  // a window closes early at this many jobs; default 1000
	// MaxWait is the longest a window's refreshes may wait for a domain's
	// per-minute URL budget before the auto collapse eases it; default 1m.
	MaxWait time.Duration `yaml:"max_wait"`
	// RedisURL, when set, shares the window across instances
	// (redis://, rediss:// or unix://). It may carry a password: never log it.
	RedisURL string `yaml:"redis_url"`
}

// Spill configures the durable store of work not done yet.
type Spill struct {
	Dir string    `yaml:"dir"` // local directory; default var/spill
	OSS *SpillOSS `yaml:"oss"` // when set, spill to OSS instead
}

// SpillOSS is an OSS location for spilled work.
type SpillOSS struct {
	Bucket string `yaml:"bucket" config:"required"`
	// Region is the bucket's region (default: the function's own, FC_REGION,
	// else cdn.region); it names the endpoint when endpoints.oss is unset,
	// the -internal one when it is the function's region.
	Region string `yaml:"region"`
	Prefix string `yaml:"prefix"` // default .cdnrefresh/spill/
}

// Webhook configures the HTTP-triggered function.
type Webhook struct {
	// Secret keys the HMAC of the generic API. Give it as ${NAME}, or set
	// CDNREFRESH_WEBHOOK_SECRET.
	Secret       string `yaml:"secret" config:"secret"`
	Auth         string `yaml:"auth"`                             // hmac (default) or none
	MaxBodyBytes int64  `yaml:"max_body_bytes" config:"positive"` // default 1 MiB
	MaxURLs      int    `yaml:"max_urls" config:"positive"`       // per request; default 1000
	// Domain is the host that paths without one are put on.
	Domain string `yaml:"domain"`
	// Templates maps a content type (as a CMS names it) to how its entries
	// become URLs: one URL template ("/blog/{slug}/"), or a Template.
	Templates map[string]Template `yaml:"templates"`
	// GitHub maps the files of a pushed repository to objects.
	GitHub WebhookGitHub `yaml:"github"`
	// RateLimit caps authenticated requests per second per instance (0:
	// none; over it: 429); RateBurst is the burst (default: RateLimit).
	RateLimit float64 `yaml:"rate_limit"`
	RateBurst int     `yaml:"rate_burst"`

	// SecretVar names the environment variable the secret is read from
	// (webhook.secret: ${NAME}, else CDNREFRESH_WEBHOOK_SECRET), so that
	// a message about it names what to set.
	SecretVar string `yaml:"-"`
}

// Template says how a CMS entry of one content type becomes URLs. In the
// file it is one URL template string, or a mapping:
//
//	post: "/blog/{slug}/"
//	page: {urls: ["/{locale}/{slug}/", "/{locale}/"], default_locale: en, hide_default_locale: true, locales: {en-US: en}}
//
// Placeholders: {slug}, {locale}, {id}, {type}.
type Template struct {
	URLs Strings `yaml:"urls"` // paths on webhook.domain (or domain), or full URLs
	// Domain puts this type's paths on another host than webhook.domain.
	Domain string `yaml:"domain"`
	// SlugField names the entry field holding the slug (default slug).
	SlugField string `yaml:"slug_field"`
	// DefaultLocale fills {locale} for an entry that names none;
	// HideDefaultLocale drops {locale} (with the / that follows) for it.
	DefaultLocale     string `yaml:"default_locale"`
	HideDefaultLocale bool   `yaml:"hide_default_locale"`
	// Locales renames CMS locales for URLs, such as en-US: en.
	Locales map[string]string `yaml:"locales"`
}

// WebhookGitHub maps the files a GitHub push changes: StripPrefix+rest
// becomes the key Prefix+rest in Bucket, mapped by the rules like an OSS
// object; without a bucket, Prefix+rest is a path on webhook.domain.
type WebhookGitHub struct {
	Bucket      string   `yaml:"bucket"`
	Prefix      string   `yaml:"prefix"`
	StripPrefix string   `yaml:"strip_prefix"`
	Branches    []string `yaml:"branches"` // default: the repository's default branch
}

// Webhook authentication modes.
const (
	AuthHMAC = "hmac"
	AuthNone = "none"
)

// CheckSecret reports whether the webhook can authenticate requests: with
// auth hmac it needs a secret. The webhook function calls it at start; the
// other functions do not need the secret.
func (w Webhook) CheckSecret() error {
	switch {
	case w.Auth != AuthHMAC || w.Secret != "":
		return nil
	case w.SecretVar != "" && w.SecretVar != EnvWebhookSecret:
		return fmt.Errorf("config: webhook.secret: ${%s} is not set: set %s (or %s) in the webhook function's environment", w.SecretVar, w.SecretVar, EnvWebhookSecret)
	}
	return errors.New("config: webhook.auth is hmac but there is no secret: set " + EnvWebhookSecret + " or webhook.secret: ${NAME}")
}

// Notify lists where reports go.
type Notify struct {
	Channels []Channel `yaml:"channels"`
}

// Check reports a channel whose URL is not set: the report function calls
// it at cold start. The other functions load the same config without the
// robots' secrets in their environment (least privilege), so an unset
// ${NAME} there is not an error.
func (n Notify) Check() error {
	var errs []error
	for i, ch := range n.Channels {
		switch {
		case ch.URL == "" && ch.URLVar != "":
			errs = append(errs, fmt.Errorf("config: notify.channels[%d] (%s): url: ${%s} is not set: set %s in this function's environment", i, ch.Type, ch.URLVar, ch.URLVar))
		case ch.URL == "":
			errs = append(errs, fmt.Errorf("config: notify.channels[%d] (%s): url: not set: give it as ${NAME} and set NAME in this function's environment", i, ch.Type))
		}
		if ch.Secret == "" && ch.SecretVar != "" {
			errs = append(errs, fmt.Errorf("config: notify.channels[%d] (%s): secret: ${%s} is not set: set %s in this function's environment", i, ch.Type, ch.SecretVar, ch.SecretVar))
		}
	}
	return errors.Join(errs...)
}

// ChannelType names a notification service.
type ChannelType string

// Channel types.
const (
	ChannelDingTalk ChannelType = "dingtalk"
	ChannelFeishu   ChannelType = "feishu"
	ChannelLark     ChannelType = "lark"
	ChannelWeCom    ChannelType = "wecom"
	ChannelSlack    ChannelType = "slack"
	ChannelWebhook  ChannelType = "webhook" // a generic JSON POST
)

// Channel is one notification destination. URL and Secret are secrets:
// the file gives them as ${NAME}.
type Channel struct {
	Type ChannelType `yaml:"type" config:"required"`
	// URL is checked when the report function starts (Notify.Check), not at
	// load: the other functions need not be given the robots' secrets.
	URL    string `yaml:"url" config:"secret"`
	Secret string `yaml:"secret" config:"secret"` // signing secret, where the service has one
	Name   string `yaml:"name"`                   // for logs; default the type

	// URLVar and SecretVar name the environment variables of url:
	// ${NAME} and secret: ${NAME}, so that Check names what to set.
	URLVar    string `yaml:"-"`
	SecretVar string `yaml:"-"`
}

// Report configures the timer-driven report.
type Report struct {
	When string `yaml:"when"` // problems (default): only when something needs attention; always
	// QuotaThreshold: remaining daily quota below this is a problem,
	// either a percentage ("20%") or a count ("500"). Default 20%.
	QuotaThreshold Threshold `yaml:"quota_threshold"`
}

// Values of report.when.
const (
	WhenProblems = "problems"
	WhenAlways   = "always"
)

// Threshold is a percentage of a quota or an absolute count.
type Threshold struct {
	Value   float64
	Percent bool
}

// ParseThreshold reads "20%" or "500".
func ParseThreshold(s string) (Threshold, error) {
	num := strings.TrimSpace(s)
	t := Threshold{}
	if v, ok := strings.CutSuffix(num, "%"); ok {
		t.Percent = true
		num = strings.TrimSpace(v)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || (t.Percent && v > 100) {
		return Threshold{}, fmt.Errorf("%q is not a percentage like \"20%%\" (0 to 100) or a count like \"500\"", s)
	}
	t.Value = v
	return t, nil
}

// Below reports whether remain of total is under the threshold.
func (t Threshold) Below(remain, total int) bool {
	if t.Percent {
		return total > 0 && float64(remain)*100 < t.Value*float64(total)
	}
	return float64(remain) < t.Value
}

// String writes the threshold as the file does.
func (t Threshold) String() string {
	s := strconv.FormatFloat(t.Value, 'f', -1, 64)
	if t.Percent {
		return s + "%"
	}
	return s
}

// Limits are the provider limits the functions keep within. The defaults
// are Alibaba Cloud's documented account defaults
// (https://help.aliyun.com/zh/cdn/developer-reference/api-cdn-2018-05-10-refreshobjectcaches).
type Limits struct {
	RefreshQPS          float64 `yaml:"refresh_qps" config:"positive"`            // RefreshObjectCaches calls/s; 50
	PushQPS             float64 `yaml:"push_qps" config:"positive"`               // PushObjectCache calls/s; 50
	DescribeTasksQPS    float64 `yaml:"describe_tasks_qps" config:"positive"`     // DescribeRefreshTasks calls/s; 10
	TaskByIDQPS         float64 `yaml:"task_by_id_qps" config:"positive"`         // DescribeRefreshTaskById calls/s; 30
	DomainURLsPerMinute int     `yaml:"domain_urls_per_minute" config:"positive"` // refreshed URLs per domain per minute; 1000
	// QuotaReserve is left unspent of the daily URL quota, for people.
	QuotaReserve int `yaml:"quota_reserve"`
	// DirCollapseThreshold: auto (the default) collapses file refreshes
	// into directory refreshes only under quota pressure; N collapses
	// whenever N files lie beneath one directory; 0 turns collapsing off.
	DirCollapseThreshold Collapse `yaml:"dir_collapse_threshold"`
	// DirReserve directory units a day are never spent on a collapse;
	// default 10.
	DirReserve int `yaml:"dir_reserve"`
	// CollapseMaxDepth is how many directories above a file's own one an
	// auto collapse may reach; default 0 (its own directory only).
	CollapseMaxDepth int `yaml:"collapse_max_depth"`
	// QuotaResetZone is the time zone whose midnight resets the daily
	// quota; default Asia/Shanghai.
	QuotaResetZone string `yaml:"quota_reset_zone"`
}

// Collapse is limits.dir_collapse_threshold: CollapseAuto, a number of
// files, or 0 (off).
type Collapse int

// CollapseAuto is the "auto" Collapse.
const CollapseAuto Collapse = -1

// Threshold returns c as a planner's collapse threshold, auto being the
// planner's own constant for it.
func (c Collapse) Threshold(auto int) int {
	if c == CollapseAuto {
		return auto
	}
	return int(c)
}

// String writes the value as the file does.
func (c Collapse) String() string {
	if c == CollapseAuto {
		return "auto"
	}
	return strconv.Itoa(int(c))
}

// DailyDirs is the documented daily directory refresh quota
// (RefreshObjectCaches API page, "Refresh quota": 100 directories a day),
// above which limits.dir_reserve cannot be.
const DailyDirs = 100

// QPS returns the calls a second of each paced API.
func (l Limits) QPS() map[string]float64 {
	return map[string]float64{
		refresh.APIRefresh:      l.RefreshQPS,
		refresh.APIPush:         l.PushQPS,
		refresh.APITasks:        l.DescribeTasksQPS,
		refresh.APITasksDCDN:    l.DescribeTasksQPS,
		refresh.APITaskByID:     l.TaskByIDQPS,
		refresh.APITaskByIDDCDN: l.TaskByIDQPS,
	}
}

// DayClock returns a function telling the share of the quota day gone at
// now(), 0 to 1, the day beginning at midnight in QuotaResetZone; nil when
// the zone is not known. The zone is loaded once: time.LoadLocation reads
// its file at each call, and the planner asks at every flush.
func (l Limits) DayClock(now func() time.Time) func() float64 {
	loc, err := l.Location()
	if err != nil {
		return nil
	}
	return func() float64 {
		t := now().In(loc)
		midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
		return float64(t.Sub(midnight)) / float64(24*time.Hour)
	}
}

// Location returns the time zone of QuotaResetZone. Asia/Shanghai (UTC+8,
// no daylight saving) works even where the system has no time zone
// database; another zone needs one (or a main that imports time/tzdata).
func (l Limits) Location() (*time.Location, error) {
	loc, err := time.LoadLocation(l.QuotaResetZone)
	if err != nil && l.QuotaResetZone == "Asia/Shanghai" {
		return time.FixedZone("Asia/Shanghai", 8*60*60), nil
	}
	if err != nil {
		return nil, fmt.Errorf("quota reset zone %q: %w", l.QuotaResetZone, err)
	}
	return loc, nil
}

// Tasks says how submitted refreshes are followed until the edge is fresh.
type Tasks struct {
	// PrefetchAfter: a prefetch that follows a purge (on_create: both) is
	// sent once the purge's tasks are Complete, or this long after the
	// purge when that cannot be learned; default 6m.
	PrefetchAfter time.Duration `yaml:"prefetch_after" config:"positive"`
	// RetryFailed: the URLs of a task that ended Failed are sent again
	// this many times; default 1, 0 never.
	RetryFailed int `yaml:"retry_failed_tasks"`
}

// CDN configures the CDN and DCDN API client; its endpoint is
// Endpoints.CDN.
type CDN struct {
	Region string `yaml:"region"` // default cn-hangzhou
}

// Endpoints override the API endpoints, e.g. http://127.0.0.1:8765 for the
// local emulator. Empty means the provider's public endpoint.
type Endpoints struct {
	CDN string `yaml:"cdn"` // CDN and DCDN API; CDNREFRESH_CDN_ENDPOINT overrides
	OSS string `yaml:"oss"` // OSS; CDNREFRESH_OSS_ENDPOINT overrides
}

// Defaults; the window's are refresh.DefaultWindowDuration,
// DefaultWindowQuiet, DefaultEventTTL and DefaultMaxBatch.
const (
	DefaultSpillDir       = "var/spill"
	DefaultSpillPrefix    = ".cdnrefresh/spill/"
	DefaultMaxBodyBytes   = 1 << 20
	DefaultMaxURLs        = 1000
	DefaultRegion         = "cn-hangzhou"
	DefaultQuotaResetZone = "Asia/Shanghai"
	DefaultPrefetchAfter  = 6 * time.Minute
	DefaultRetryFailed    = 1
	DefaultMaxWait        = time.Minute
	DefaultDirReserve     = 10
)

// Default returns a config with every default filled and no rules (so it
// is not valid as it stands: a config needs at least one rule).
func Default() *Config {
	return &Config{
		Window: Window{
			Duration:  refresh.DefaultWindowDuration,
			Quiet:     refresh.DefaultWindowQuiet,
			DedupeTTL: refresh.DefaultWindowDuration,
			EventTTL:  refresh.DefaultEventTTL,
			MaxBatch:  refresh.DefaultMaxBatch,
			MaxWait:   DefaultMaxWait,
		},
		Spill: Spill{Dir: DefaultSpillDir},
		Webhook: Webhook{
			Auth:         AuthHMAC,
			MaxBodyBytes: DefaultMaxBodyBytes,
			MaxURLs:      DefaultMaxURLs,
		},
		Report: Report{
			When:           WhenProblems,
			QuotaThreshold: Threshold{Value: 20, Percent: true},
		},
		Limits: Limits{
			RefreshQPS:           50,
			PushQPS:              50,
			DescribeTasksQPS:     10,
			TaskByIDQPS:          30,
			DomainURLsPerMinute:  1000,
			QuotaResetZone:       DefaultQuotaResetZone,
			DirCollapseThreshold: CollapseAuto,
			DirReserve:           DefaultDirReserve,
		},
		Tasks: Tasks{PrefetchAfter: DefaultPrefetchAfter, RetryFailed: DefaultRetryFailed},
		CDN:   CDN{Region: DefaultRegion},
	}
}

// FromEnv loads the config file named by CDNREFRESH_CONFIG or, when that
// is unset, the YAML in CDNREFRESH_CONFIG_YAML, and parses it with getenv.
func FromEnv(getenv func(string) string) (*Config, error) {
	if err := checkSources(getenv(EnvConfig), getenv(EnvConfigYAML)); err != nil {
		return nil, err
	}
	if name := getenv(EnvConfig); name != "" {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("config: read %s (named by %s): %w", name, EnvConfig, err)
		}
		return parse(data, getenv, "config: "+name+": ")
	}
	if y := getenv(EnvConfigYAML); y != "" {
		return parse([]byte(y), getenv, "config: "+EnvConfigYAML+": ")
	}
	return nil, fmt.Errorf("config: no config: set %s to the path of the YAML config file, or %s to the YAML itself", EnvConfig, EnvConfigYAML)
}

// Parse reads a YAML config, expands ${NAME} references with getenv, fills
// defaults and environment fallbacks, and validates the result.
func Parse(data []byte, getenv func(string) string) (*Config, error) {
	return parse(data, getenv, "config: ")
}

func parse(data []byte, getenv func(string) string, prefix string) (*Config, error) {
	cfg := Default()
	d := decoder{getenv: getenv, set: map[string]bool{}}
	d.decode(data, cfg)
	// Values are checked once the file reads well: a key the decoder
	// refused would otherwise show again as a missing value.
	if len(d.errs) == 0 {
		d.noteVars(cfg)
		cfg.fill(getenv, d.set)
		d.errs = append(d.spillConflict(cfg), cfg.check()...)
	}
	if len(d.errs) > 0 {
		errs := make([]error, len(d.errs))
		for i, err := range d.errs {
			errs[i] = prefixed{prefix, err}
		}
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}

// prefixed puts prefix before an error's text and keeps it unwrappable.
type prefixed struct {
	prefix string
	err    error
}

func (p prefixed) Error() string { return p.prefix + p.err.Error() }
func (p prefixed) Unwrap() error { return p.err }

// fill applies what depends on other fields, on which keys the file set,
// or on the environment.
func (c *Config) fill(getenv func(string) string, set map[string]bool) {
	if !set["window.dedupe_ttl"] {
		c.Window.DedupeTTL = c.Window.Duration
	}
	if !set["tasks.retry_failed_tasks"] {
		c.Tasks.RetryFailed = DefaultRetryFailed
	}
	if c.Window.RedisURL == "" {
		c.Window.RedisURL = getenv(EnvRedisURL)
	}
	if !set["spill.dir"] {
		if v := getenv(EnvSpillDir); v != "" {
			c.Spill.Dir = v
		}
	}
	if c.Webhook.Secret == "" {
		if c.Webhook.Secret = getenv(EnvWebhookSecret); c.Webhook.Secret != "" {
			c.Webhook.SecretVar = EnvWebhookSecret
		}
	}
	if v := getenv(EnvCDNEndpoint); v != "" {
		c.Endpoints.CDN = v
	}
	if v := getenv(EnvOSSEndpoint); v != "" {
		c.Endpoints.OSS = v
	}
	if o := c.Spill.OSS; o != nil && c.Endpoints.OSS == "" {
		c.Endpoints.OSS = ossEndpoint(o.Region, getenv(EnvFCRegion), c.CDN.Region)
	}
	c.Credentials = refresh.Credentials{
		AccessKeyID:     getenv(EnvAccessKeyID),
		AccessKeySecret: getenv(EnvAccessKeySecret),
		SecurityToken:   getenv(EnvSecurityToken),
	}
	c.SetDefaults()
}

// ossEndpoint is the endpoint of a bucket in region (default: the
// function's region, else the CDN API's region): the internal one when the
// function runs in the same region, which costs no traffic fees.
func ossEndpoint(region, fcRegion, cdnRegion string) string {
	if region == "" {
		region = fcRegion
	}
	if region == "" {
		region = cdnRegion
	}
	if region == "" {
		region = DefaultRegion
	}
	if region == fcRegion {
		return "https://oss-" + region + "-internal.aliyuncs.com"
	}
	return "https://oss-" + region + ".aliyuncs.com"
}

// SetDefaults fills every empty field that has a default, in place. Parse
// calls it; code that builds a Config by hand may too, before Validate.
func (c *Config) SetDefaults() {
	def := Default()
	if c.Window.Duration == 0 {
		c.Window.Duration = def.Window.Duration
	}
	if c.Window.Quiet == 0 {
		c.Window.Quiet = def.Window.Quiet
	}
	if c.Window.DedupeTTL == 0 {
		c.Window.DedupeTTL = c.Window.Duration
	}
	if c.Window.EventTTL == 0 {
		c.Window.EventTTL = def.Window.EventTTL
	}
	if c.Window.MaxBatch == 0 {
		c.Window.MaxBatch = def.Window.MaxBatch
	}
	if c.Tasks.PrefetchAfter == 0 {
		c.Tasks.PrefetchAfter = def.Tasks.PrefetchAfter
	}
	if c.Spill.Dir == "" {
		c.Spill.Dir = def.Spill.Dir
	}
	if c.Spill.OSS != nil && c.Spill.OSS.Prefix == "" {
		c.Spill.OSS.Prefix = DefaultSpillPrefix
	}
	if c.Webhook.Auth == "" {
		c.Webhook.Auth = def.Webhook.Auth
	}
	if c.Webhook.MaxBodyBytes == 0 {
		c.Webhook.MaxBodyBytes = def.Webhook.MaxBodyBytes
	}
	if c.Webhook.MaxURLs == 0 {
		c.Webhook.MaxURLs = def.Webhook.MaxURLs
	}
	for i := range c.Notify.Channels {
		if ch := &c.Notify.Channels[i]; ch.Name == "" {
			ch.Name = string(ch.Type)
		}
	}
	if c.Report.When == "" {
		c.Report.When = def.Report.When
	}
	l, dl := &c.Limits, def.Limits
	for _, f := range []struct{ v, d *float64 }{
		{&l.RefreshQPS, &dl.RefreshQPS}, {&l.PushQPS, &dl.PushQPS},
		{&l.DescribeTasksQPS, &dl.DescribeTasksQPS}, {&l.TaskByIDQPS, &dl.TaskByIDQPS},
	} {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	if l.DomainURLsPerMinute == 0 {
		l.DomainURLsPerMinute = dl.DomainURLsPerMinute
	}
	if l.QuotaResetZone == "" {
		l.QuotaResetZone = dl.QuotaResetZone
	}
	if c.CDN.Region == "" {
		c.CDN.Region = def.CDN.Region
	}
	for i := range c.Rules {
		c.Rules[i] = c.Rules[i].WithDefaults()
	}
}

// Providers lists the providers the rules use, CDN before DCDN.
func (c *Config) Providers() []refresh.Provider {
	var cdn, dcdn bool
	for _, r := range c.Rules {
		if r.Provider.OrDefault() == refresh.DCDN {
			dcdn = true
		} else {
			cdn = true
		}
	}
	var out []refresh.Provider
	if cdn {
		out = append(out, refresh.CDN)
	}
	if dcdn {
		out = append(out, refresh.DCDN)
	}
	return out
}
