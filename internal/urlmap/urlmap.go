// Package urlmap turns changed objects into CDN jobs by the user's rules:
// which bucket, prefix and suffix map to which domains and paths, and what
// to do on create and on delete. Rules implements refresh.Mapper.
//
// # Which rule
//
// Rules are tried in file order and the first rule whose bucket, prefix
// and suffix match a key wins; later rules never see that key. So put
// narrow rules (static/blog/) before broad ones (static/). A key under one
// of the winning rule's exclude prefixes (whole key prefixes) is ignored,
// and is not offered to later rules either. A key no rule matches is
// ignored with the reason "no rule matches bucket/key".
//
// # Which URLs
//
// The key loses strip_prefix (when it starts with it), gains add_prefix,
// and becomes the path of one URL per domain: scheme://domain/path. With
// object_type directory the URL is that of the key's parent directory,
// ending in / (a/b/c.png → https://d/a/b/; a key at the root →
// https://d/). With index: index.html, a changed a/b/index.html also yields
// https://d/a/b/ (and the root index.html yields https://d/), the URLs
// readers actually use. on_create both gives a refresh job and then a
// prefetch job for each URL; a deleted object is never prefetched.
//
// # Percent-encoding
//
// Keys are raw UTF-8; each is percent-encoded exactly once, segment by
// segment, as an RFC 3986 path: the unreserved characters A-Z a-z 0-9
// - . _ ~ and the characters ! $ & ' ( ) * + , ; = : @ stay as they are,
// / stays the separator, and every other byte is written %XX in upper-case
// hex: a space is %20, % is %25, 中 is %E4%B8%AD, and ? # " < > \ ^ ` { | }
// [ ] and control characters are encoded. Empty segments (a//b) and a
// trailing / (an OSS "directory" object a/b/) are kept. This matters
// because the CDN caches differently spelled URLs under different keys:
// this is the spelling a browser sends for a link written the usual way
// (a browser sends [ ] | raw, so a key holding them would need its page
// links written %5B %5D %7C). The key's . and .. segments are resolved
// as a browser resolves them (a/./b and a/x/../b are a/b); a key whose ..
// climbs above the root is rejected. refresh.KeyURL does all this.
//
// A URL a change names (webhook, CLI) takes the same spelling,
// refresh.Canonical: scheme and host in lower case, default port dropped,
// dot segments resolved, escapes of unreserved characters decoded (%7e is
// ~), other escapes kept in upper case, raw bytes encoded once, the
// fragment dropped; one it refuses (user information, a control
// character, …) is rejected with its reason. A regex refresh keeps its
// pattern: only its scheme and host are canonical.
//
// A URL longer than MaxURLLength characters cannot be submitted; its jobs
// come back rejected.
//
// # Cache tags, Edge Routines, prefetch options
//
// A rule's cache_tags are templates: each changed key also refreshes, on
// each of the rule's domains, every distinct tag they give, with {key} the
// object key as it is in the bucket, {dir} its directory without the
// final / ("" at the root), {base} its file name and {ext} that name's
// extension without the dot. A tag that comes out empty, or with a comma
// or a control character, is rejected with its reason; the other jobs of
// the key go on. A change that names a tag (a webhook's tags, the CLI's
// --tag) refreshes that tag on the domain of its URL, whose rule gives the
// provider.
//
// A DCDN rule's edge_routine makes every refresh job of the rule come with
// a second one for the Edge Routine's cache (RefreshErObjectCaches); a
// change may name its own routine. A change naming an edge routine on a
// CDN domain, or query_hashkey on a DCDN domain, is rejected with the
// reason. prefetch.query_hashkey (or the change's) sets QueryHashkey on
// prefetch jobs.
package urlmap

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cdnrefresh/cdnrefresh/internal/config"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// MaxURLLength is the longest URL RefreshObjectCaches and PushObjectCache
// accept in ObjectPath (each URL at most 1,024 characters: the ObjectPath
// parameter on both API pages, e.g.
// https://help.aliyun.com/zh/cdn/developer-reference/api-cdn-2018-05-10-refreshobjectcaches).
const MaxURLLength = 1024

// Reasons a job is rejected.
const (
	ReasonTooLong          = "URL longer than 1024 characters"
	ReasonDomainNotAllowed = "domain not allowed"
)

// Rules are compiled rules, ready to map changes. They are safe for
// concurrent use.
type Rules struct {
	byBucket map[string][]*rule // in file order
	byHost   map[string]*rule   // first rule listing the host
}

type rule struct {
	config.Rule
	objectType refresh.ObjectType
	origins    []string // scheme://host, as refresh.Host spells the host
	withHeader string   // prefetch.headers as the API's JSON
	routine    string   // edge_routine.id
	merge      string   // edge_routine.merge_domains, as MergeDomainName

	// Reasons, made once.
	excluded, createNone, deleteNone string
}

// Compile checks rules (see config.CheckRules; empty fields take their
// defaults) and prepares them for Map.
func Compile(rules []config.Rule) (*Rules, error) {
	if len(rules) == 0 {
		return nil, fmt.Errorf("urlmap: no rules")
	}
	rs := make([]config.Rule, len(rules))
	for i, r := range rules {
		rs[i] = r.WithDefaults()
	}
	if err := config.CheckRules(rs); err != nil {
		return nil, fmt.Errorf("urlmap: %w", err)
	}
	out := &Rules{byBucket: map[string][]*rule{}, byHost: map[string]*rule{}}
	for i, r := range rs {
		ru := &rule{
			Rule:       r,
			objectType: r.ObjectType.API(),
			excluded:   fmt.Sprintf("excluded by rules[%d]", i),
			createNone: fmt.Sprintf("on_create is none in rules[%d]", i),
			deleteNone: fmt.Sprintf("on_delete is none in rules[%d]", i),
		}
		if er := r.EdgeRoutine; er != nil {
			ru.routine = er.ID
			ru.merge, _ = refresh.MergeDomains(er.MergeDomains) // checked by CheckRules
		}
		if len(r.Prefetch.Headers) > 0 {
			b, err := json.Marshal(r.Prefetch.Headers) // keys sorted: one spelling per rule
			if err != nil {
				return nil, fmt.Errorf("urlmap: rules[%d]: prefetch.headers: %w", i, err)
			}
			ru.withHeader = string(b)
		}
		for _, d := range r.Domains {
			h := refresh.Host(r.Scheme + "://" + d)
			ru.origins = append(ru.origins, r.Scheme+"://"+h)
			if _, ok := out.byHost[h]; !ok {
				out.byHost[h] = ru
			}
		}
		out.byBucket[r.Bucket] = append(out.byBucket[r.Bucket], ru)
	}
	return out, nil
}

func (r *rule) matches(key string) bool {
	if !strings.HasPrefix(key, r.Prefix) {
		return false
	}
	if len(r.Suffix) == 0 {
		return true
	}
	for _, s := range r.Suffix {
		if strings.HasSuffix(key, s) {
			return true
		}
	}
	return false
}

func (r *rule) excludes(key string) bool {
	for _, ex := range r.Exclude {
		if strings.HasPrefix(key, ex) {
			return true
		}
	}
	return false
}

var (
	refreshOnly  = []refresh.Action{refresh.ActionRefresh}
	prefetchOnly = []refresh.Action{refresh.ActionPrefetch}
	both         = []refresh.Action{refresh.ActionRefresh, refresh.ActionPrefetch}
)

// actions returns what to do for c under r, or why nothing. An empty Op
// counts as create.
func (r *rule) actions(c refresh.Change) ([]refresh.Action, string) {
	switch c.Action {
	case "":
	case refresh.ActionRefresh:
		return refreshOnly, ""
	case refresh.ActionPrefetch:
		if c.Op == refresh.OpDelete {
			return nil, "a deleted object is never prefetched"
		}
		return prefetchOnly, ""
	default:
		return nil, fmt.Sprintf("unknown action %q", c.Action)
	}
	switch c.Op {
	case refresh.OpCreate, "":
		switch r.OnCreate {
		case config.CreatePrefetch:
			return prefetchOnly, ""
		case config.CreateBoth:
			return both, ""
		case config.CreateNone:
			return nil, r.createNone
		}
		return refreshOnly, ""
	case refresh.OpDelete:
		if r.OnDelete == config.DeleteNone {
			return nil, r.deleteNone
		}
		return refreshOnly, ""
	}
	return nil, fmt.Sprintf("unknown op %q", c.Op)
}

// objectTypeFor returns the change's object type if it names one, else the
// rule's.
func (r *rule) objectTypeFor(c refresh.Change) (refresh.ObjectType, string) {
	switch c.ObjectType {
	case "":
		return r.objectType, ""
	case refresh.File, refresh.Directory, refresh.Regex, refresh.IgnoreParams:
		return c.ObjectType, ""
	}
	return "", fmt.Sprintf("unknown object type %q", c.ObjectType)
}

// job returns the job for one URL and action.
func (r *rule) job(c refresh.Change, a refresh.Action, t refresh.ObjectType, url string) refresh.Job {
	j := refresh.Job{Action: a, Provider: r.Provider, ObjectType: t, URL: url, Key: c.Key}
	if a == refresh.ActionPrefetch {
		j.ObjectType = refresh.File
		j.Area, j.L2Preload, j.WithHeader = r.Prefetch.Area, r.Prefetch.L2Preload, r.withHeader
		j.QueryHashkey = r.Prefetch.QueryHashkey || c.QueryHashkey
	} else {
		j.Force = r.Force || c.Force
	}
	return j
}

// routineFor returns the Edge Routine whose cache c's refreshes also
// purge: the change's, else the rule's.
func (r *rule) routineFor(c refresh.Change) (id, merge string) {
	if c.EdgeRoutine != "" {
		return c.EdgeRoutine, c.MergeDomains
	}
	return r.routine, r.merge
}

// Reasons a change is refused by the rule that matches it.
const (
	reasonRoutineOnCDN = "edge_routine: Edge Routines are DCDN's (RefreshErObjectCaches), and this domain's rule is provider cdn"
	reasonHashkeyDCDN  = "query_hashkey: QueryHashkey is a PushObjectCache (CDN) parameter, and this domain's rule is provider dcdn"
)

// refuses returns why r cannot carry out what c asks beyond its URLs, or "".
func (r *rule) refuses(c refresh.Change) string {
	switch {
	case c.EdgeRoutine != "" && r.Provider != refresh.DCDN:
		return reasonRoutineOnCDN
	case c.QueryHashkey && r.Provider == refresh.DCDN:
		return reasonHashkeyDCDN
	}
	return ""
}

// tagValues are the placeholders of a cache-tag template for key:
// {key}, {dir} (without the final /), {base} and {ext} (without the dot).
func tagValues(key string) *strings.Replacer {
	dir, base := "", key
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		dir, base = key[:i], key[i+1:]
	}
	ext := ""
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		ext = base[i+1:]
	}
	return strings.NewReplacer(config.TagKey, key, config.TagDir, dir, config.TagBase, base, config.TagExt, ext)
}

// addTags appends the cache-tag jobs of key on every domain of r: one per
// distinct tag its cache_tags give, or a rejected outcome for a tag that
// cannot be sent (an empty {dir} at the root, a key with a comma).
func (r *rule) addTags(jobs []refresh.Job, rejected []refresh.Outcome, c refresh.Change) ([]refresh.Job, []refresh.Outcome) {
	if len(r.CacheTags) == 0 {
		return jobs, rejected
	}
	vals := tagValues(c.Key)
	seen := map[string]bool{}
	for _, o := range r.origins {
		u := refresh.DomainURL(o)
		for i, tmpl := range r.CacheTags {
			tag := vals.Replace(tmpl)
			if seen[u+"\n"+tag] {
				continue
			}
			seen[u+"\n"+tag] = true
			j := refresh.Job{Action: refresh.ActionRefresh, Provider: r.Provider, ObjectType: refresh.CacheTag, URL: u, Tag: tag, Force: r.Force || c.Force, Key: c.Key}
			if err := refresh.CheckTag(tag); err != nil {
				rejected = append(rejected, refresh.Outcome{Job: j, Status: refresh.Rejected, Reason: fmt.Sprintf("cache_tags[%d]: %v", i, err)})
				continue
			}
			jobs = append(jobs, j)
		}
	}
	return jobs, rejected
}

// add appends the jobs for url, or the rejected outcomes when url can
// never be sent: err says why it has no canonical spelling.
func (r *rule) add(jobs []refresh.Job, rejected []refresh.Outcome, c refresh.Change, acts []refresh.Action, t refresh.ObjectType, url string, err error) ([]refresh.Job, []refresh.Outcome) {
	for _, a := range acts {
		j := r.job(c, a, t, url)
		switch {
		case err != nil:
			rejected = append(rejected, refresh.Outcome{Job: j, Status: refresh.Rejected, Reason: err.Error()})
		case len(url) > MaxURLLength && utf8.RuneCountInString(url) > MaxURLLength:
			rejected = append(rejected, refresh.Outcome{Job: j, Status: refresh.Rejected, Reason: ReasonTooLong})
		case a == refresh.ActionPrefetch && (t == refresh.Directory || t == refresh.Regex):
			rejected = append(rejected, refresh.Outcome{Job: j, Status: refresh.Rejected,
				Reason: fmt.Sprintf("prefetch takes file URLs, not %s", t)})
		default:
			jobs = append(jobs, j)
			if id, merge := r.routineFor(c); id != "" && a == refresh.ActionRefresh {
				j.Routine, j.MergeDomains = id, merge // the Edge Routine's cache too
				jobs = append(jobs, j)
			}
		}
	}
	return jobs, rejected
}

// Map returns the jobs a change asks for: one per domain of the first rule
// that matches it (and per index URL), per action. See the package
// documentation.
func (r *Rules) Map(c refresh.Change) (jobs []refresh.Job, rejected []refresh.Outcome, ignored string) {
	if c.URL != "" {
		return r.mapURL(c)
	}
	var ru *rule
	for _, x := range r.byBucket[c.Bucket] {
		if x.matches(c.Key) {
			ru = x
			break
		}
	}
	if ru == nil {
		return nil, nil, "no rule matches " + c.Bucket + "/" + c.Key
	}
	if ru.excludes(c.Key) {
		return nil, nil, ru.excluded
	}
	acts, why := ru.actions(c)
	if why != "" {
		return nil, nil, why
	}
	t, why := ru.objectTypeFor(c)
	if why != "" {
		return nil, nil, why
	}

	path := c.Key
	if ru.StripPrefix != "" {
		path = strings.TrimPrefix(path, ru.StripPrefix)
	}
	if ru.AddPrefix != "" {
		path = ru.AddPrefix + path
	}
	paths := [2]string{path}
	n := 1
	switch t {
	case refresh.Directory:
		paths[0] = path[:strings.LastIndexByte(path, '/')+1]
	case refresh.File, refresh.IgnoreParams:
		if ix := ru.Index; ix != "" && strings.HasSuffix(path, ix) &&
			(len(path) == len(ix) || path[len(path)-len(ix)-1] == '/') {
			paths[1] = path[:len(path)-len(ix)]
			n = 2
		}
	}

	jobs = make([]refresh.Job, 0, len(ru.origins)*n*len(acts))
	for _, o := range ru.origins {
		for _, p := range paths[:n] {
			u, err := keyURL(t, o, p)
			jobs, rejected = ru.add(jobs, rejected, c, acts, t, u, err)
		}
	}
	if acts[0] == refresh.ActionRefresh {
		jobs, rejected = ru.addTags(jobs, rejected, c)
	}
	if why := ru.refuses(c); why != "" {
		for _, j := range jobs {
			if j.Routine == "" { // one outcome per URL, not for its Edge Routine copy
				rejected = append(rejected, refresh.Outcome{Job: j, Status: refresh.Rejected, Reason: why})
			}
		}
		jobs = nil
	}
	if len(jobs) == 0 {
		jobs = nil
	}
	return jobs, rejected, ""
}

// keyURL returns the URL of path on origin in canonical spelling, or for
// a regex refresh with the path escaped and otherwise as given (it is a
// pattern: a . segment matches any one character). When the path has no
// URL it returns the uncanonical one, to name in the rejection, and why.
func keyURL(t refresh.ObjectType, origin, path string) (string, error) {
	if t == refresh.Regex {
		return origin + "/" + refresh.EscapePath(path), nil
	}
	u, err := refresh.KeyURL(origin, path)
	if err != nil {
		return origin + "/" + refresh.EscapePath(path), err
	}
	return u, nil
}

// mapURL handles a change that names a URL: its host must be one of some
// rule's domains, and that rule (the first listing it) gives the defaults.
// The URL takes the canonical spelling.
func (r *Rules) mapURL(c refresh.Change) ([]refresh.Job, []refresh.Outcome, string) {
	reject := func(reason string) ([]refresh.Job, []refresh.Outcome, string) {
		j := refresh.Job{Action: c.Action, ObjectType: c.ObjectType, URL: c.URL, Force: c.Force, Key: c.Key}
		if j.Action == "" {
			j.Action = refresh.ActionRefresh
		}
		return nil, []refresh.Outcome{{Job: j, Status: refresh.Rejected, Reason: reason}}, ""
	}
	origin, err := refresh.CanonicalPattern(c.URL) // checks all but the path
	if err != nil {
		return reject(err.Error())
	}
	ru := r.byHost[refresh.Host(origin)]
	if ru == nil {
		return reject(ReasonDomainNotAllowed)
	}
	if c.Tag != "" {
		return ru.mapTag(c)
	}
	acts, why := ru.actions(c)
	if why != "" {
		return nil, nil, why
	}
	if why := ru.refuses(c); why != "" {
		return reject(why)
	}
	t, why := ru.objectTypeFor(c)
	if why != "" {
		return nil, nil, why
	}
	u, err := refresh.CanonicalFor(t, c.URL)
	if err != nil {
		return reject(err.Error())
	}
	if t == refresh.Directory && !strings.HasSuffix(u, "/") {
		if strings.Contains(u, "?") {
			return reject("a directory URL ends with / and has no query")
		}
		u += "/"
	}
	jobs, rejected := ru.add(nil, nil, c, acts, t, u, nil)
	return jobs, rejected, ""
}

// mapTag handles a change that names a cache tag on the domain of its
// URL, whose rule gives the provider.
func (r *rule) mapTag(c refresh.Change) ([]refresh.Job, []refresh.Outcome, string) {
	if c.Action != "" && c.Action != refresh.ActionRefresh {
		return nil, nil, "a cache tag is refreshed, never prefetched"
	}
	j := refresh.Job{Action: refresh.ActionRefresh, Provider: r.Provider, ObjectType: refresh.CacheTag,
		URL: refresh.DomainURL(c.URL), Tag: c.Tag, Force: r.Force || c.Force, Key: c.Key}
	if err := refresh.CheckTag(c.Tag); err != nil {
		return nil, []refresh.Outcome{{Job: j, Status: refresh.Rejected, Reason: err.Error()}}, ""
	}
	return []refresh.Job{j}, nil, ""
}

// Allows reports whether some rule names host (a host name, or
// host:port), so that a caller may have its URLs refreshed.
func (r *Rules) Allows(host string) bool {
	host = strings.TrimSpace(host)
	for _, scheme := range []string{"https", "http"} {
		if r.byHost[refresh.Host(scheme+"://"+host)] != nil {
			return true
		}
	}
	return false
}
