package cdn

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	productCDN  = "cdn"
	productDCDN = "dcdn"
)

// product is one API family.
type product struct {
	name    string
	version string
	host    string
	// pageSizeMax is the largest PageSize of Describe*RefreshTasks.
	pageSizeMax int
	// tasksWrapper is the key inside "Tasks" in Describe*RefreshTasks.
	tasksWrapper string
}

var (
	cdnProduct  = &product{name: productCDN, version: CDNVersion, host: "cdn.aliyuncs.com", pageSizeMax: 100, tasksWrapper: "CDNTask"}
	dcdnProduct = &product{name: productDCDN, version: DCDNVersion, host: "dcdn.aliyuncs.com", pageSizeMax: 50, tasksWrapper: "Task"}
)

// Documented per-call limits; Documented names the source of each.
const (
	maxURLsPerCall     = 1000
	maxDirsPerCall     = 100
	maxRegexPerCall    = 1
	maxPushPerCall     = 100
	maxDomainsPerCall  = 10
	maxPathLen         = 1024
	maxTaskIDsPerQuery = 10
	urlsPerTaskID      = 2000
	taskRetention      = 72 * time.Hour
	timeFormat         = "2006-01-02T15:04:05Z"
)

type handler func(s *Server, q *request, c *Call) (map[string]any, *apiError)

type action struct {
	product *product
	handle  handler
	// perSecond is the documented calls-per-second limit per account; 0
	// where no page states one.
	perSecond int
}

// actions are the actions served, with the calls-per-second limits their
// API pages state (see Documented).
var actions = map[string]action{
	"RefreshObjectCaches":              {cdnProduct, refreshHandler(false), 50},
	"PushObjectCache":                  {cdnProduct, (*Server).preload, 50},
	"RefreshObjectCacheByCacheTag":     {cdnProduct, (*Server).refreshByCacheTag, 0},
	"DescribeRefreshQuota":             {cdnProduct, (*Server).describeQuota, 20},
	"DescribeRefreshTasks":             {cdnProduct, (*Server).describeTasks, 10},
	"DescribeRefreshTaskById":          {cdnProduct, (*Server).describeTaskByID, 30},
	"DescribePreloadDetailById":        {cdnProduct, (*Server).describePreloadDetail, 30},
	"RefreshDcdnObjectCaches":          {dcdnProduct, refreshHandler(false), 30},
	"PreloadDcdnObjectCaches":          {dcdnProduct, (*Server).preload, 15},
	"RefreshDcdnObjectCacheByCacheTag": {dcdnProduct, (*Server).refreshByCacheTag, 0},
	"RefreshErObjectCaches":            {dcdnProduct, refreshHandler(true), 30},
	"DescribeDcdnRefreshQuota":         {dcdnProduct, (*Server).describeQuota, 20},
	"DescribeDcdnRefreshTasks":         {dcdnProduct, (*Server).describeTasks, 10},
	"DescribeDcdnRefreshTaskById":      {dcdnProduct, (*Server).describeTaskByID, 30},
}

func refreshHandler(er bool) handler {
	return func(s *Server, q *request, c *Call) (map[string]any, *apiError) {
		return s.refresh(q, c, er)
	}
}

// Task kinds: the ObjectType a task record carries, lower case as
// Describe*RefreshTasks spells it.
const (
	kindFile         = "file"
	kindDirectory    = "directory"
	kindRegex        = "regex"
	kindIgnoreParams = "ignoreparams"
	kindPreload      = "preload"
	kindCacheTag     = "cachetag"
)

// urlKind reports whether kind refreshes URLs (not directories, regular
// expressions or tags): those share the per-domain minute budget and
// their task ids are merged.
func urlKind(kind string) bool { return kind == kindFile || kind == kindIgnoreParams }

// target is one checked object path.
type target struct {
	path   string
	domain string
}

// splitPaths splits ObjectPath on \n or \r\n, dropping empty lines.
func splitPaths(v string) []string {
	var out []string
	for _, line := range strings.Split(v, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line != "" {
			out = append(out, line)
		}
	}
	return out
}

// checkPaths validates each path for kind and returns the domains in
// order of first appearance with their path counts. oneDomain requires
// every path to be of one domain (RefreshErObjectCaches).
func (s *Server) checkPaths(paths []string, kind string, oneDomain bool) ([]target, []string, map[string]int, *apiError) {
	targets := make([]target, 0, len(paths))
	var order []string
	count := map[string]int{}
	for _, p := range paths {
		if n := utf8.RuneCountInString(p); n > maxPathLen {
			return nil, nil, nil, refuse("InvalidObjectPath.Malformed", "A path is %d characters long, the limit is %d.", n, maxPathLen)
		}
		domain, ok := hostOf(p)
		if !ok || strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return nil, nil, nil, refuse("InvalidObjectPath.Malformed", "%q is neither domain/path nor an http(s) URL.", truncate(p))
		}
		if strings.Contains(domain, "*") {
			return nil, nil, nil, refuse("InvalidExtensiveDomain.ValueNotSupported", "Wildcard domain %s.", domain)
		}
		if kind == kindDirectory && !strings.HasSuffix(p, "/") {
			return nil, nil, nil, refuse("InvalidObjectPath.Malformed", "Directory %q does not end with /.", truncate(p))
		}
		if count[domain] == 0 {
			order = append(order, domain)
		}
		count[domain]++
		targets = append(targets, target{path: p, domain: domain})
	}
	if oneDomain && len(order) > 1 {
		return nil, nil, nil, refuse("InvalidObjectPath.Malformed", "The URLs in a request must belong to the same domain name; these name %d.", len(order))
	}
	if len(order) > maxDomainsPerCall {
		return nil, nil, nil, refuse("SingleRequest.OverLimit", "A call may name %d domains; this one names %d.", maxDomainsPerCall, len(order))
	}
	for _, d := range order {
		if e := s.checkDomain(d); e != nil {
			return nil, nil, nil, e
		}
	}
	return targets, order, count, nil
}

// checkDomain refuses a domain that is not the account's or not online.
func (s *Server) checkDomain(d string) *apiError {
	if s.domains != nil && !s.domains[d] {
		return refuse("InvalidDomain.NotFound", "Domain %s.", d)
	}
	switch s.status[d] {
	case DomainOffline:
		return refuse("InvalidDomain.Offline", "Domain %s.", d)
	case DomainConfiguring:
		return refuse("ServiceBusy", "Domain %s.", d)
	case DomainIllegal:
		return refuse("IllegalOperation", "Domain %s.", d)
	}
	return nil
}

// checkAccount refuses every refresh and prefetch of a suspended account.
func (s *Server) checkAccount() *apiError {
	if s.opts.Suspended {
		return knownError("OperationDenied")
	}
	return nil
}

func truncate(p string) string {
	if len(p) > 80 {
		return p[:80] + "…"
	}
	return p
}

// splitURL splits an object path into its lower-case host name (no port)
// and the rest, without fully parsing it: regex paths need not be valid
// URLs. A path is an absolute http(s) URL or, as seeds 002 and 004 write
// it, domain/path with no scheme ("abc.com/image/1.png").
func splitURL(p string) (host, rest string, ok bool) {
	rest = p
	scheme, after, withScheme := strings.Cut(p, "://")
	if withScheme {
		if s := strings.ToLower(scheme); s != "http" && s != "https" {
			return "", "", false
		}
		rest = after
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host, rest = rest[:end], rest[end:]
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		if _, err := strconv.ParseUint(host[i+1:], 10, 16); err != nil {
			return "", "", false
		}
		host = host[:i]
	}
	// Without a scheme, only a dotted name reads as a domain ("abc.com").
	if host == "" || !withScheme && !strings.Contains(host, ".") {
		return "", "", false
	}
	for _, r := range host {
		if !(r == '.' || r == '-' || r == '_' || r == '*' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "", "", false
		}
	}
	if rest == "" {
		rest = "/"
	}
	return strings.ToLower(host), rest, true
}

// hostOf returns the lower-case host name of an object path.
func hostOf(p string) (string, bool) {
	h, _, ok := splitURL(p)
	return h, ok
}

// pathOf returns the part of an object path after its host, "/" at least.
func pathOf(p string) string {
	_, rest, ok := splitURL(p)
	if !ok {
		return p
	}
	return rest
}

func parseBool(q *request, name string) (bool, *apiError) {
	v := q.get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, refuse("InvalidParameter", "%s %q is not a boolean.", name, v)
	}
	return b, nil
}

// refreshKind maps ObjectType to a task kind for product. CDN
// RefreshObjectCaches and the DCDN pages disagree on the spelling of the
// parameter-ignoring type: seed 001 (CDN RefreshObjectCaches, Request
// parameters) lists File | Directory | Regex | ExQuery, while seed 003
// (RefreshErObjectCaches) and the RefreshDcdnObjectCaches page list
// IgnoreParams, and DescribeRefreshQuota answers IgnoreParamsQuota. So CDN
// accepts the spelling(s) Options.IgnoreParamsSpelling chooses, both by
// default; DCDN accepts IgnoreParams. Either counts against the
// IgnoreParams quota.
func (s *Server) refreshKind(p *product, objectType string) (string, *apiError) {
	spelling := s.opts.IgnoreParamsSpelling
	if spelling == "" {
		spelling = SpellBoth
	}
	switch objectType {
	case "File":
		return kindFile, nil
	case "Directory":
		return kindDirectory, nil
	case "Regex":
		return kindRegex, nil
	case SpellIgnoreParams:
		if p.name == productDCDN || spelling != SpellExQuery {
			return kindIgnoreParams, nil
		}
	case SpellExQuery:
		if p.name == productCDN && spelling != SpellIgnoreParams {
			return kindIgnoreParams, nil
		}
	}
	return "", refuse("InvalidObjectType.Malformed", "ObjectType %q is not one of %s.", objectType, strings.Join(s.objectTypes(p), ", "))
}

// objectTypes lists the ObjectType values product accepts.
func (s *Server) objectTypes(p *product) []string {
	out := []string{"File", "Directory", "Regex"}
	switch {
	case p.name == productDCDN || s.opts.IgnoreParamsSpelling == SpellIgnoreParams:
		return append(out, SpellIgnoreParams)
	case s.opts.IgnoreParamsSpelling == SpellExQuery:
		return append(out, SpellExQuery)
	}
	return append(out, SpellIgnoreParams, SpellExQuery)
}

// remainLocked returns the counter of product's daily quota for kind.
func (s *Server) remainLocked(product, kind string, now time.Time) *int {
	qt := s.quotaLocked(product, now)
	switch kind {
	case kindDirectory, kindCacheTag:
		return &qt.dir
	case kindRegex:
		return &qt.regex
	case kindIgnoreParams:
		return &qt.ignoreParams
	case kindPreload:
		return &qt.preload
	}
	return &qt.url
}

// refresh serves RefreshObjectCaches, RefreshDcdnObjectCaches and (er)
// RefreshErObjectCaches.
func (s *Server) refresh(q *request, c *Call, er bool) (map[string]any, *apiError) {
	if e := s.checkAccount(); e != nil {
		return nil, e
	}
	objectType := q.get("ObjectType")
	if objectType == "" {
		objectType = "File" // seed 001 and seed 003: File (default)
	}
	kind, e := s.refreshKind(q.product, objectType)
	if e != nil {
		return nil, e
	}
	force, e := parseBool(q, "Force") // accepted on every type; no effect on File (seed 001)
	if e != nil {
		return nil, e
	}
	paths := splitPaths(q.get("ObjectPath"))
	if len(paths) == 0 {
		return nil, missing("ObjectPath")
	}
	switch {
	case urlKind(kind) && len(paths) > maxURLsPerCall:
		return nil, refuse("SingleRequest.OverLimit", "This call has %d URLs.", len(paths))
	case kind == kindDirectory && len(paths) > maxDirsPerCall:
		return nil, refuse("SingleRequest.OverLimit", "A call may carry %d directories; this one has %d.", maxDirsPerCall, len(paths))
	case kind == kindRegex && len(paths) > maxRegexPerCall:
		return nil, refuse("InvalidObjectPath.Size.Malformed", "A call may carry %d regular expression; this one has %d.", maxRegexPerCall, len(paths))
	}
	if er {
		if e := s.checkRoutine(q, c); e != nil {
			return nil, e
		}
	}
	targets, domains, perDomain, e := s.checkPaths(paths, kind, er)
	if e != nil {
		return nil, e
	}

	pname := q.product.name
	remain := s.remainLocked(pname, kind, q.now)
	if *remain < len(paths) {
		return nil, refuse("QuotaExceeded.Refresh", "%d %s paths asked, %d remain today.", len(paths), objectType, *remain)
	}
	if urlKind(kind) && s.perMin > 0 {
		for _, d := range domains {
			if used := s.minuteUsedLocked(pname, d, q.now); used+perDomain[d] > s.perMin {
				return nil, refuse("QuotaPerMinuteExceeded.Refresh",
					"Domain %s: %d URLs in the last minute, %d asked, limit %d.", d, used, perDomain[d], s.perMin)
			}
		}
	}
	if limit := s.opts.DomainRefreshQueue; limit > 0 {
		for _, d := range domains {
			if n := s.queuedLocked(pname, d, q.now); n+perDomain[d] > limit {
				return nil, refuse("TooMany.Refresh", "Domain %s has %d refreshes in progress, limit %d.", d, n, limit)
			}
		}
	}
	if urlKind(kind) && s.perMin > 0 {
		for _, d := range domains {
			key := pname + "|" + d
			s.minute[key] = append(s.minute[key], stamp{t: q.now, n: perDomain[d]})
		}
	}
	*remain -= len(paths)

	ids := s.addTasksLocked(pname, kind, targets, domains, q.now)
	s.countURLsLocked(targets)
	c.ObjectType, c.Force, c.URLs, c.TaskID = objectType, force, paths, ids
	return map[string]any{"RefreshTaskId": ids}, nil
}

// checkRoutine checks the RefreshErObjectCaches parameters of seed 003:
// RoutineId "Name.Subdomain" and MergeDomainName, domains separated by
// commas. Either malformed is answered InvalidParameters.
func (s *Server) checkRoutine(q *request, c *Call) *apiError {
	if id := q.get("RoutineId"); id != "" {
		name, sub, ok := strings.Cut(id, ".")
		if !ok || name == "" || sub == "" || strings.ContainsAny(id, " /,") {
			return refuse("InvalidParameters", "RoutineId %q is not Name.Subdomain.", id)
		}
		c.RoutineID = id
	}
	if m := q.get("MergeDomainName"); m != "" {
		for _, d := range strings.Split(m, ",") {
			if host, rest, ok := splitURL(d); !ok || rest != "/" || strings.Contains(host, "*") || strings.Contains(d, "/") {
				return refuse("InvalidParameters", "MergeDomainName %q is not a list of domain names separated by commas.", m)
			}
			c.MergeDomains = append(c.MergeDomains, strings.ToLower(d))
		}
	}
	return nil
}

// countURLsLocked adds accepted paths to the counters.
func (s *Server) countURLsLocked(targets []target) {
	s.stats.URLs += len(targets)
	for _, t := range targets {
		s.stats.DomainURLs[t.domain]++
	}
}

// minuteUsedLocked returns the URLs refreshed for domain in the minute
// before now, pruning older entries.
func (s *Server) minuteUsedLocked(product, domain string, now time.Time) int {
	key := product + "|" + domain
	kept := s.minute[key][:0]
	used := 0
	for _, st := range s.minute[key] {
		if now.Sub(st.t) < time.Minute {
			kept = append(kept, st)
			used += st.n
		}
	}
	s.minute[key] = kept
	return used
}

// queuedLocked counts product's task records not done at now: of domain's
// refreshes, or (domain "") of every prefetch.
func (s *Server) queuedLocked(product, domain string, now time.Time) int {
	n := 0
	for i := range s.tasks {
		t := &s.tasks[i]
		if t.Product != product || !now.Before(t.Completed) {
			continue
		}
		if domain == "" && t.ObjectType == kindPreload || domain != "" && t.Domain == domain && t.ObjectType != kindPreload {
			n++
		}
	}
	return n
}

// preload serves PushObjectCache and PreloadDcdnObjectCaches.
func (s *Server) preload(q *request, c *Call) (map[string]any, *apiError) {
	if e := s.checkAccount(); e != nil {
		return nil, e
	}
	paths := splitPaths(q.get("ObjectPath"))
	if len(paths) == 0 {
		return nil, missing("ObjectPath")
	}
	area := q.get("Area")
	if area != "" && area != "domestic" && area != "overseas" {
		return nil, refuse("InvalidArea.ValueNotSupported", "Area %q is neither domestic nor overseas.", area)
	}
	l2, e := parseBool(q, "L2Preload")
	if e != nil {
		return nil, e
	}
	hashkey, e := parseBool(q, "QueryHashkey")
	if e != nil {
		return nil, e
	}
	if h := q.get("WithHeader"); h != "" && !json.Valid([]byte(h)) {
		return nil, knownError("InvalidWithHeader.Malformed")
	}
	if len(paths) > maxPushPerCall {
		return nil, refuse("SingleRequest.OverLimit", "A prefetch may carry %d URLs; this one has %d.", maxPushPerCall, len(paths))
	}
	targets, domains, _, e := s.checkPaths(paths, kindFile, false)
	if e != nil {
		return nil, e
	}
	remain := s.remainLocked(q.product.name, kindPreload, q.now)
	if *remain < len(paths) {
		return nil, refuse("QuotaExceeded.Preload", "%d URLs asked, %d remain today.", len(paths), *remain)
	}
	if limit := orDefault(s.opts.PreloadQueue, DefaultPreloadQueue); limit > 0 {
		if n := s.queuedLocked(q.product.name, "", q.now); n+len(paths) > limit {
			return nil, refuse("PreloadQueueFull", "%d URLs wait in the prefetch queue, limit %d.", n, limit)
		}
	}
	*remain -= len(paths)
	ids := s.addTasksLocked(q.product.name, kindPreload, targets, domains, q.now)
	s.countURLsLocked(targets)
	c.URLs, c.Area, c.L2Preload, c.WithHeader, c.QueryHashkey, c.TaskID = paths, area, l2, q.get("WithHeader"), hashkey, ids
	key := "PushTaskId"
	if q.product.name == productDCDN {
		key = "PreloadTaskId"
	}
	return map[string]any{key: ids}, nil
}

// refreshByCacheTag serves RefreshObjectCacheByCacheTag and
// RefreshDcdnObjectCacheByCacheTag (seed 000: DomainName, CacheTag
// separated by commas, Force). The pages give no tag limit and no quota of
// their own; the emulator caps the tags per call (Options.CacheTagsPerCall,
// answered SingleRequest.OverLimit, as the pages' error table has it) and
// counts each tag against the directory quota, as a tag, like a
// directory, purges everything in its scope (the DCDN page's Force: "refresh
// the resources in the corresponding directory").
func (s *Server) refreshByCacheTag(q *request, c *Call) (map[string]any, *apiError) {
	if e := s.checkAccount(); e != nil {
		return nil, e
	}
	domain := strings.ToLower(q.get("DomainName"))
	if domain == "" {
		return nil, missing("DomainName")
	}
	if q.get("CacheTag") == "" {
		return nil, missing("CacheTag")
	}
	force, e := parseBool(q, "Force")
	if e != nil {
		return nil, e
	}
	if h, rest, ok := splitURL(domain); !ok || rest != "/" || strings.Contains(domain, "/") {
		return nil, refuse("InvalidParameter", "DomainName %q is not a domain name.", q.get("DomainName"))
	} else if strings.Contains(h, "*") {
		return nil, refuse("InvalidExtensiveDomain.ValueNotSupported", "Wildcard domain %s.", h)
	}
	if e := s.checkDomain(domain); e != nil {
		return nil, e
	}
	var tags []string
	for _, t := range strings.Split(q.get("CacheTag"), ",") {
		t = strings.TrimSpace(t)
		if t == "" {
			return nil, refuse("InvalidObjectPath.Malformed", "CacheTag %q has an empty tag.", q.get("CacheTag"))
		}
		tags = append(tags, t)
	}
	if limit := orDefault(s.opts.CacheTagsPerCall, DefaultCacheTagsPerCall); limit > 0 && len(tags) > limit {
		return nil, refuse("SingleRequest.OverLimit", "A call may carry %d cache tags; this one has %d.", limit, len(tags))
	}
	remain := s.remainLocked(q.product.name, kindCacheTag, q.now)
	if *remain < len(tags) {
		return nil, refuse("QuotaExceeded.Refresh", "%d cache tags asked, %d directory refreshes remain today.", len(tags), *remain)
	}
	*remain -= len(tags)
	targets := make([]target, len(tags))
	for i, t := range tags {
		targets[i] = target{path: t, domain: domain}
	}
	ids := s.addTasksLocked(q.product.name, kindCacheTag, targets, []string{domain}, q.now)
	c.Domain, c.CacheTags, c.Force, c.TaskID = domain, tags, force, ids
	return map[string]any{"RefreshTaskId": ids}, nil
}

// describeQuota serves DescribeRefreshQuota and DescribeDcdnRefreshQuota.
// Every value is a string, as the v1 SDK declares them.
func (s *Server) describeQuota(q *request, _ *Call) (map[string]any, *apiError) {
	qt := s.quotaLocked(q.product.name, q.now)
	itoa := strconv.Itoa
	body := map[string]any{
		"UrlQuota": itoa(s.limits.url), "UrlRemain": itoa(qt.url),
		"DirQuota": itoa(s.limits.dir), "DirRemain": itoa(qt.dir),
		"RegexQuota": itoa(s.limits.regex), "RegexRemain": itoa(qt.regex),
		"IgnoreParamsQuota": itoa(s.limits.ignoreParams), "IgnoreParamsRemain": itoa(qt.ignoreParams),
		"PreloadQuota": itoa(s.limits.preload), "PreloadRemain": itoa(qt.preload),
		"BlockQuota": itoa(blockQuota), "BlockRemain": itoa(blockQuota),
	}
	if q.product.name == productCDN {
		body["PreloadEdgeQuota"] = itoa(preloadEdgeQuota)
		body["PreloadEdgeRemain"] = itoa(preloadEdgeQuota)
	}
	return body, nil
}

// describeTasks serves DescribeRefreshTasks and DescribeDcdnRefreshTasks.
func (s *Server) describeTasks(q *request, c *Call) (map[string]any, *apiError) {
	page, e := intParam(q, "PageNumber", 1, 1, 100000)
	if e != nil {
		return nil, e
	}
	size, e := intParam(q, "PageSize", 20, 1, q.product.pageSizeMax)
	if e != nil {
		return nil, e
	}
	objectType, domain, status := q.get("ObjectType"), strings.ToLower(q.get("DomainName")), q.get("Status")
	if objectType == "" && (domain != "" || status != "") {
		return nil, refuse("MissingParameter", "ObjectType is mandatory when DomainName or Status is given.")
	}
	switch objectType {
	case "", kindFile, kindDirectory, kindRegex, kindPreload:
	default:
		return nil, refuse("InvalidObjectType.ValueNotSupported", "ObjectType %q is not file, directory, regex or preload.", objectType)
	}
	switch status {
	case "", statusComplete, statusRefreshing, statusFailed, statusPending:
	default:
		return nil, refuse("InvalidStatus.ValueNotSupported", "Status %q is not Complete, Refreshing, Failed or Pending.", status)
	}
	from := q.now.Add(-taskRetention)
	to := q.now.Add(time.Hour)
	var start, end time.Time
	if v := q.get("StartTime"); v != "" {
		t, err := time.Parse(timeFormat, v)
		if err != nil {
			return nil, refuse("InvalidStartTime.Malformed", "StartTime %q is not yyyy-MM-ddTHH:mm:ssZ.", v)
		}
		start = t
	}
	if v := q.get("EndTime"); v != "" {
		t, err := time.Parse(timeFormat, v)
		if err != nil {
			return nil, refuse("InvalidEndTime.Malformed", "EndTime %q is not yyyy-MM-ddTHH:mm:ssZ.", v)
		}
		end = t
	}
	if !start.IsZero() && !end.IsZero() && end.Before(start) {
		return nil, knownError("InvalidEndTime.Mismatch")
	}
	if start.After(from) {
		from = start
	}
	if !end.IsZero() && end.Before(to) {
		to = end
	}
	taskID, path := q.get("TaskId"), q.get("ObjectPath")

	var match []map[string]any
	for _, t := range s.tasksNewestFirstLocked() {
		if t.Product != q.product.name || t.Created.Before(from) || t.Created.After(to) {
			continue
		}
		if taskID != "" && t.ID != taskID || path != "" && t.ObjectPath != path ||
			objectType != "" && t.ObjectType != objectType || domain != "" && t.Domain != domain {
			continue
		}
		if status != "" && t.Status(q.now) != status {
			continue
		}
		match = append(match, t.view(q.now, false))
	}
	total := len(match)
	lo := min((page-1)*size, total)
	hi := min(lo+size, total)
	pageTasks := match[lo:hi]
	if pageTasks == nil {
		pageTasks = []map[string]any{}
	}
	c.TaskID, c.ObjectType, c.Domain = taskID, objectType, domain
	return map[string]any{
		"PageNumber": page,
		"PageSize":   size,
		"TotalCount": total,
		"Tasks":      map[string]any{q.product.tasksWrapper: pageTasks},
	}, nil
}

func intParam(q *request, name string, def, lo, hi int) (int, *apiError) {
	v := q.get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, refuse("Invalid"+name+".ValueNotSupported", "%s %q is not %d to %d.", name, v, lo, hi)
	}
	return n, nil
}

// tasksNewestFirstLocked returns the task records by creation time,
// newest first; records created at the same time, last added first.
func (s *Server) tasksNewestFirstLocked() []*Task {
	out := make([]*Task, len(s.tasks))
	for i := range s.tasks {
		out[len(s.tasks)-1-i] = &s.tasks[i]
	}
	slices.SortStableFunc(out, func(a, b *Task) int { return b.Created.Compare(a.Created) })
	return out
}

// describeTaskByID serves DescribeRefreshTaskById and
// DescribeDcdnRefreshTaskById: up to 10 ids separated by commas; Tasks is
// a bare array; tasks older than three days are no longer known.
func (s *Server) describeTaskByID(q *request, c *Call) (map[string]any, *apiError) {
	ids, e := taskIDs(q.get("TaskId"))
	if e != nil {
		return nil, e
	}
	from := q.now.Add(-taskRetention)
	tasks := []map[string]any{}
	for i := range s.tasks {
		t := &s.tasks[i]
		if t.Product == q.product.name && slices.Contains(ids, t.ID) && !t.Created.Before(from) {
			tasks = append(tasks, t.view(q.now, true))
		}
	}
	c.TaskID = q.get("TaskId")
	return map[string]any{"TotalCount": len(tasks), "Tasks": tasks}, nil
}

func taskIDs(v string) ([]string, *apiError) {
	if v == "" {
		return nil, missing("TaskId")
	}
	ids := strings.Split(v, ",")
	if len(ids) > maxTaskIDsPerQuery {
		return nil, refuse("InvalidTaskId.Malformed", "A call may ask for %d task IDs; this one asks for %d.", maxTaskIDsPerQuery, len(ids))
	}
	for i, id := range ids {
		id = strings.TrimSpace(id)
		if _, err := strconv.ParseUint(id, 10, 64); err != nil {
			return nil, refuse("InvalidTaskId.Malformed", "TaskId %q is not a number.", id)
		}
		ids[i] = id
	}
	return ids, nil
}

// describePreloadDetail serves DescribePreloadDetailById: one UrlDetail
// per domain of the task, with each URL's outcome.
func (s *Server) describePreloadDetail(q *request, c *Call) (map[string]any, *apiError) {
	if !s.opts.PreloadDetailAllowed {
		return nil, refuse("Forbidden", "DescribePreloadDetailById is available only to accounts on the allow list.")
	}
	id := q.get("TaskId")
	if id == "" {
		return nil, missing("TaskId")
	}
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return nil, refuse("InvalidTaskId.Malformed", "TaskId %q is not a number.", id)
	}
	from := q.now.Add(-taskRetention)
	details := []map[string]any{}
	byDomain := map[string]int{}
	total := 0
	for i := range s.tasks {
		t := &s.tasks[i]
		if t.Product != productCDN || t.ID != id || t.ObjectType != kindPreload || t.Created.Before(from) {
			continue
		}
		status := t.Status(q.now)
		j, ok := byDomain[t.Domain]
		if !ok {
			j = len(details)
			byDomain[t.Domain] = j
			details = append(details, map[string]any{
				"TaskId": t.ID, "Domain": t.Domain, "CreationTime": t.Created.UTC().Format(timeFormat),
				"EndTime": "", "Process": t.process(q.now), "Status": status, "RetCode": "0",
				"Urls": []map[string]any{},
			})
		}
		d := details[j]
		success, desc := t.process(q.now), ""
		switch status {
		case statusFailed:
			desc = t.Description
			d["Status"], d["Process"] = statusFailed, "0%"
		case statusComplete:
			desc = "Successfully preloaded"
			d["EndTime"] = t.Completed.UTC().Format(timeFormat)
		}
		d["Urls"] = append(d["Urls"].([]map[string]any), map[string]any{
			"Url": pathOf(t.ObjectPath), "Success": success, "Description": desc,
		})
		total++
	}
	c.TaskID = id
	return map[string]any{"TotalCount": total, "UrlDetails": details}, nil
}
