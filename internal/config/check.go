package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// Validate reports every problem of a config whose defaults are filled (see
// SetDefaults), one per line, each naming its place.
func (c *Config) Validate() error {
	errs := c.check()
	for i, err := range errs {
		errs[i] = prefixed{"config: ", err}
	}
	return errors.Join(errs...)
}

// check returns the problems of c, unprefixed.
func (c *Config) check() []error {
	var errs []error
	add := func(place, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", place, fmt.Sprintf(format, args...)))
	}

	if len(c.Rules) == 0 {
		add("rules", "missing: a config needs at least one rule mapping a bucket to CDN domains")
	}
	errs = append(errs, ruleErrors(c.Rules)...)
	errs = append(errs, ruleConflicts(c.Rules)...)
	errs = append(errs, secretErrors(c.Webhook)...)

	w := c.Window
	for _, f := range []struct {
		place string
		v     int64
		s     string
	}{
		{"window.duration", int64(w.Duration), w.Duration.String()},
		{"window.quiet", int64(w.Quiet), w.Quiet.String()},
		{"window.dedupe_ttl", int64(w.DedupeTTL), w.DedupeTTL.String()},
		{"window.event_ttl", int64(w.EventTTL), w.EventTTL.String()},
		{"window.max_batch", int64(w.MaxBatch), strconv.Itoa(w.MaxBatch)},
		{"webhook.max_body_bytes", c.Webhook.MaxBodyBytes, strconv.FormatInt(c.Webhook.MaxBodyBytes, 10)},
		{"webhook.max_urls", int64(c.Webhook.MaxURLs), strconv.Itoa(c.Webhook.MaxURLs)},
		{"limits.domain_urls_per_minute", int64(c.Limits.DomainURLsPerMinute), strconv.Itoa(c.Limits.DomainURLsPerMinute)},
		{"tasks.prefetch_after", int64(c.Tasks.PrefetchAfter), c.Tasks.PrefetchAfter.String()},
	} {
		if f.v <= 0 {
			add(f.place, "must be greater than 0, got %s", f.s)
		}
	}
	if c.Tasks.RetryFailed < 0 {
		add("tasks.retry_failed_tasks", "must be 0 (never) or more, got %d", c.Tasks.RetryFailed)
	}
	if c.Webhook.RateLimit < 0 || c.Webhook.RateBurst < 0 {
		add("webhook.rate_limit", "must not be negative (0 means no cap)")
	}
	if u := w.RedisURL; u != "" && !hasScheme(u, "redis", "rediss", "unix") {
		add("window.redis_url", "not a redis://, rediss:// or unix:// URL (the value is not shown: it may hold a password)")
	}

	if c.Spill.OSS == nil && c.Spill.Dir == "" {
		add("spill.dir", "missing: give a directory, or spill.oss")
	}
	if o := c.Spill.OSS; o != nil {
		if err := checkBucket(o.Bucket); err != nil {
			add("spill.oss.bucket", "%v", err)
		}
		if strings.HasPrefix(o.Prefix, "/") {
			add("spill.oss.prefix", "%q must not start with /", o.Prefix)
		}
		errs = append(errs, spillOverlaps(c.Rules, o)...)
	}

	wh := c.Webhook
	if !slices.Contains([]string{AuthHMAC, AuthNone}, wh.Auth) {
		add("webhook.auth", "%q is not one of hmac, none", wh.Auth)
	}
	if wh.Domain != "" {
		if err := refresh.CheckHost(wh.Domain); err != nil {
			add("webhook.domain", "%v", err)
		} else if h := refresh.Host("https://" + wh.Domain); !slices.ContainsFunc(c.Rules, func(r Rule) bool {
			return slices.ContainsFunc(r.Domains, func(d string) bool { return refresh.Host(r.Scheme+"://"+d) == h })
		}) {
			add("webhook.domain", "%q is in no rule's domains, so its URLs would be refused", wh.Domain)
		}
	}
	for k, v := range wh.Templates {
		place := fmt.Sprintf("webhook.templates[%q]", k)
		if k == "" || len(v.URLs) == 0 || slices.ContainsFunc(v.URLs, func(u string) bool { return strings.TrimSpace(u) == "" }) {
			add(place, "a template needs a content type and a URL template")
		}
		if v.Domain != "" {
			if err := refresh.CheckHost(v.Domain); err != nil {
				add(place+".domain", "%v", err)
			}
		}
	}

	types := []ChannelType{ChannelDingTalk, ChannelFeishu, ChannelLark, ChannelWeCom, ChannelSlack, ChannelWebhook}
	for i, ch := range c.Notify.Channels {
		place := fmt.Sprintf("notify.channels[%d] (%s)", i, ch.Type)
		if !slices.Contains(types, ch.Type) {
			add(place, "type: %q is not one of dingtalk, feishu, lark, wecom, slack, webhook", ch.Type)
		}
		if ch.URL == "" {
			continue // unset here: Notify.Check, where the channel is used
		}
		if u, err := url.Parse(ch.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(place, "url: not an http(s) URL (the value is not shown: it is a secret)")
		}
	}

	if !slices.Contains([]string{WhenProblems, WhenAlways}, c.Report.When) {
		add("report.when", "%q is not one of problems, always", c.Report.When)
	}
	if t := c.Report.QuotaThreshold; t.Value < 0 || (t.Percent && t.Value > 100) {
		add("report.quota_threshold", "%s is out of range (0%% to 100%%, or a count of 0 or more)", t)
	}

	l := c.Limits
	for _, f := range []struct {
		place string
		v     float64
	}{
		{"limits.refresh_qps", l.RefreshQPS}, {"limits.push_qps", l.PushQPS},
		{"limits.describe_tasks_qps", l.DescribeTasksQPS}, {"limits.task_by_id_qps", l.TaskByIDQPS},
	} {
		if !(f.v > 0) {
			add(f.place, "must be greater than 0, got %v", f.v)
		}
	}
	if l.QuotaReserve < 0 {
		add("limits.quota_reserve", "must be 0 or more, got %d", l.QuotaReserve)
	}
	if l.DirCollapseThreshold < CollapseAuto || l.DirCollapseThreshold == 1 {
		add("limits.dir_collapse_threshold", "must be auto, 0 (off) or at least 2 files, got %d", l.DirCollapseThreshold)
	}
	if l.DirReserve < 0 || l.DirReserve > DailyDirs {
		add("limits.dir_reserve", "must be 0 to %d (the daily directory quota), got %d", DailyDirs, l.DirReserve)
	}
	if l.CollapseMaxDepth < 0 {
		add("limits.collapse_max_depth", "must be 0 or more, got %d", l.CollapseMaxDepth)
	}
	if c.Window.MaxWait < 0 {
		add("window.max_wait", "must be 0 or more, got %v", c.Window.MaxWait)
	}
	if _, err := l.Location(); err != nil {
		add("limits.quota_reset_zone", "%q is not a known time zone (like Asia/Shanghai)", l.QuotaResetZone)
	}

	if c.CDN.Region == "" {
		add("cdn.region", "missing")
	}
	if err := checkEndpoint(c.Endpoints.CDN); err != nil {
		add("endpoints.cdn", "%v", err)
	}
	if err := checkEndpoint(c.Endpoints.OSS); err != nil {
		add("endpoints.oss", "%v", err)
	}
	return errs
}

func hasScheme(u string, schemes ...string) bool {
	scheme, _, ok := strings.Cut(u, "://")
	return ok && slices.Contains(schemes, strings.ToLower(scheme))
}

// checkEndpoint accepts "", a host[:port], or an http(s) URL with no path.
func checkEndpoint(e string) error {
	if e == "" {
		return nil
	}
	host := e
	if strings.Contains(e, "://") {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
			return fmt.Errorf("%q is not a host or an http(s)://host[:port] URL", e)
		}
		host = u.Host
	}
	if err := refresh.CheckHost(host); err != nil {
		return err
	}
	return nil
}

func checkBucket(b string) error {
	if b == "" {
		return errors.New("missing: the OSS or S3 bucket")
	}
	if strings.ContainsAny(b, "/ \t\r\n") {
		return fmt.Errorf("%q is not a bucket name", b)
	}
	return nil
}

// spillOverlaps finds rules that would map the spill store's own objects:
// each spill write would then fire a refresh of itself.
func spillOverlaps(rules []Rule, o *SpillOSS) []error {
	var errs []error
	for i, r := range rules {
		if r.Bucket != o.Bucket || !(strings.HasPrefix(o.Prefix, r.Prefix) || strings.HasPrefix(r.Prefix, o.Prefix)) {
			continue
		}
		if slices.ContainsFunc(r.Exclude, func(ex string) bool { return strings.HasPrefix(o.Prefix, ex) }) {
			continue
		}
		errs = append(errs, fmt.Errorf("%s: matches the spill objects under oss://%s/%s: add %q to its exclude, or move spill.oss elsewhere",
			r.Label(i), o.Bucket, o.Prefix, o.Prefix))
	}
	return errs
}

// WithDefaults returns a copy of r with every empty field that has a
// default filled, and the scheme and domains lower-cased.
func (r Rule) WithDefaults() Rule {
	r.Scheme = strings.ToLower(r.Scheme)
	if r.Scheme == "" {
		r.Scheme = "https"
	}
	if r.OnCreate == "" {
		r.OnCreate = CreateRefresh
	}
	if r.OnDelete == "" {
		r.OnDelete = DeleteRefresh
	}
	if r.Provider == "" {
		r.Provider = refresh.CDN
	}
	if r.ObjectType == "" {
		r.ObjectType = File
	}
	if r.ObjectType == ExQuery {
		r.ObjectType = IgnoreParams
	}
	if r.Domains != nil {
		ds := make([]string, len(r.Domains))
		for i, d := range r.Domains {
			ds[i] = strings.ToLower(d)
		}
		r.Domains = ds
	}
	return r
}

// Label names the rule at index i for messages:
// rules[1] (bucket "my-site", prefix "img/").
func (r Rule) Label(i int) string {
	if r.Prefix == "" {
		return fmt.Sprintf("rules[%d] (bucket %q)", i, r.Bucket)
	}
	return fmt.Sprintf("rules[%d] (bucket %q, prefix %q)", i, r.Bucket, r.Prefix)
}

// CheckRules reports every problem of rules whose defaults are filled (see
// Rule.WithDefaults), one per line, each naming the rule and the field.
func CheckRules(rules []Rule) error {
	return errors.Join(ruleErrors(rules)...)
}

func ruleErrors(rules []Rule) []error {
	var errs []error
	for i, r := range rules {
		for _, err := range r.problems() {
			errs = append(errs, fmt.Errorf("%s: %w", r.Label(i), err))
		}
	}
	return errs
}

func oneOf[T ~string](v T, allowed ...T) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	s := make([]string, len(allowed))
	for i, a := range allowed {
		s[i] = string(a)
	}
	return fmt.Errorf("%q is not one of %s", v, strings.Join(s, ", "))
}

// problems returns what is wrong with one rule, each naming the field.
func (r Rule) problems() []error {
	var errs []error
	add := func(field string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
		}
	}
	addf := func(field, format string, args ...any) { add(field, fmt.Errorf(format, args...)) }

	add("bucket", checkBucket(r.Bucket))
	if len(r.Domains) == 0 {
		addf("domains", "missing: list the CDN host names that serve the bucket")
	}
	for i, d := range r.Domains {
		add(fmt.Sprintf("domains[%d]", i), refresh.CheckHost(d))
		if j := slices.Index(r.Domains, d); j < i {
			addf(fmt.Sprintf("domains[%d]", i), "%q is listed twice", d)
		}
	}
	add("scheme", oneOf(r.Scheme, "https", "http"))
	add("on_create", oneOf(r.OnCreate, CreateRefresh, CreatePrefetch, CreateBoth, CreateNone))
	add("on_delete", oneOf(r.OnDelete, DeleteRefresh, DeleteNone))
	add("provider", oneOf(r.Provider, refresh.CDN, refresh.DCDN))
	add("object_type", oneOf(r.ObjectType, File, Directory, Regex, IgnoreParams))
	add("prefetch.area", oneOf(r.Prefetch.Area, "", "domestic", "overseas"))
	for name, values := range r.Prefetch.Headers {
		if !isToken(name) {
			add("prefetch.headers", fmt.Errorf("%q is not a header name", name))
		} else if len(values) == 0 {
			add("prefetch.headers", fmt.Errorf("%s has no value", name))
		}
	}

	if r.OnCreate == CreateNone && r.OnDelete == DeleteNone {
		addf("on_create", "on_create and on_delete are both none, so the rule does nothing (to skip keys, give a rule exclude)")
	}
	if (r.OnCreate == CreatePrefetch || r.OnCreate == CreateBoth) && (r.ObjectType == Directory || r.ObjectType == Regex) {
		addf("on_create", "%q prefetches file URLs, but object_type %q gives no file URL: use on_create: refresh", r.OnCreate, r.ObjectType)
	}
	if r.Force && r.ObjectType == File && len(r.CacheTags) == 0 {
		addf("force", "force has no effect on File refreshes (RefreshObjectCaches, Force: it applies only when ObjectType is not File): remove it, or use object_type directory, regex or ignore_params")
	}
	for i, t := range r.CacheTags {
		add(fmt.Sprintf("cache_tags[%d]", i), checkTagTemplate(t))
	}
	if er := r.EdgeRoutine; er != nil {
		if r.Provider != refresh.DCDN {
			addf("edge_routine", "Edge Routines are DCDN's (RefreshErObjectCaches): this rule's provider is %q; give provider: dcdn", r.Provider)
		}
		if er.ID == "" {
			addf("edge_routine.id", "missing: the routine's Name.Subdomain")
		} else {
			add("edge_routine.id", refresh.CheckRoutine(er.ID))
		}
		if _, err := refresh.MergeDomains(er.MergeDomains); err != nil {
			add("edge_routine.merge_domains", err)
		}
	}
	if r.Prefetch.QueryHashkey && r.Provider == refresh.DCDN {
		addf("prefetch.query_hashkey", "QueryHashkey is a PushObjectCache (CDN) parameter; PreloadDcdnObjectCaches documents none")
	}
	if r.StripPrefix != "" && r.Prefix != "" && !strings.HasPrefix(r.Prefix, r.StripPrefix) {
		addf("strip_prefix", "%q is not a prefix of prefix %q, so it would not apply to every key", r.StripPrefix, r.Prefix)
	}
	if strings.HasPrefix(r.StripPrefix, "/") {
		addf("strip_prefix", "%q must not start with / (keys do not)", r.StripPrefix)
	}
	if strings.HasPrefix(r.AddPrefix, "/") {
		addf("add_prefix", "%q must not start with / (the URL path is / followed by it)", r.AddPrefix)
	}
	if r.Index != "" {
		if strings.Contains(r.Index, "/") {
			addf("index", "%q must be a file name like index.html, without /", r.Index)
		}
		if r.ObjectType == Directory || r.ObjectType == Regex {
			addf("index", "has no effect with object_type %q", r.ObjectType)
		}
	}
	for i, s := range r.Suffix {
		if s == "" {
			addf(fmt.Sprintf("suffix[%d]", i), "empty")
		}
	}
	for i, ex := range r.Exclude {
		field := fmt.Sprintf("exclude[%d]", i)
		switch {
		case ex == "":
			addf(field, "empty")
		case strings.HasPrefix(r.Prefix, ex):
			addf(field, "%q excludes every key of the rule (prefix %q)", ex, r.Prefix)
		case !strings.HasPrefix(ex, r.Prefix):
			addf(field, "%q never matches: exclude takes whole key prefixes, and every key of this rule starts with %q", ex, r.Prefix)
		}
	}
	return errs
}

// checkTagTemplate returns what is wrong with a cache-tag template: it is
// empty, names a placeholder other than TagPlaceholders, or its literal
// text could never be a tag (refresh.CheckTag).
func checkTagTemplate(t string) error {
	lit := t
	for _, p := range TagPlaceholders {
		lit = strings.ReplaceAll(lit, p, "x")
	}
	if i := strings.IndexByte(lit, '{'); i >= 0 {
		if j := strings.IndexByte(lit[i:], '}'); j > 0 {
			return fmt.Errorf("%q: unknown placeholder %s (want %s)", t, lit[i:i+j+1], strings.Join(TagPlaceholders, ", "))
		}
	}
	if err := refresh.CheckTag(lit); err != nil {
		return fmt.Errorf("%q: %w", t, err)
	}
	return nil
}

// isToken reports whether s is an HTTP header name (RFC 9110 token).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c > 0x7e || c <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", c) {
			return false
		}
	}
	return true
}
