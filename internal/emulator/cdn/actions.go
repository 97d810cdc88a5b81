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

// Documented per-call limits (platform.md §6.1, §6.2, §6.8), from
// https://www.alibabacloud.com/help/en/cdn/developer-reference/api-cdn-2018-05-10-refreshobjectcaches
// and https://www.alibabacloud.com/help/en/cdn/developer-reference/api-cdn-2018-05-10-pushobjectcache.
const (
	maxURLsPerCall     = 1000
	maxDirsPerCall     = 100
	maxRegexPerCall    = 1
	maxPushPerCall     = 100
	maxDomainsPerCall  = 10
	maxPathLen         = 1024
	maxTaskIDsPerQuery = 10
	taskRetention      = 72 * time.Hour
	timeFormat         = "2006-01-02T15:04:05Z"
)

type handler func(s *Server, q *request, c *Call) (map[string]any, *apiError)

type action struct {
	product *product
	handle  handler
}

var actions = map[string]action{
	"RefreshObjectCaches":              {cdnProduct, refreshHandler(false)},
	"PushObjectCache":                  {cdnProduct, (*Server).preload},
	"RefreshObjectCacheByCacheTag":     {cdnProduct, (*Server).refreshByCacheTag},
	"DescribeRefreshQuota":             {cdnProduct, (*Server).describeQuota},
	"DescribeRefreshTasks":             {cdnProduct, (*Server).describeTasks},
	"DescribeRefreshTaskById":          {cdnProduct, (*Server).describeTaskByID},
	"DescribePreloadDetailById":        {cdnProduct, (*Server).describePreloadDetail},
	"RefreshDcdnObjectCaches":          {dcdnProduct, refreshHandler(false)},
	"PreloadDcdnObjectCaches":          {dcdnProduct, (*Server).preload},
	"RefreshDcdnObjectCacheByCacheTag": {dcdnProduct, (*Server).refreshByCacheTag},
	"RefreshErObjectCaches":            {dcdnProduct, refreshHandler(true)},
	"DescribeDcdnRefreshQuota":         {dcdnProduct, (*Server).describeQuota},
	"DescribeDcdnRefreshTasks":         {dcdnProduct, (*Server).describeTasks},
	"DescribeDcdnRefreshTaskById":      {dcdnProduct, (*Server).describeTaskByID},
}

func refreshHandler(er bool) handler {
	return func(s *Server, q *request, c *Call) (map[string]any, *apiError) {
		return s.refresh(q, c, er)
	}
}

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

// checkPaths validates each path for objectType and returns the domains
// in order of first appearance with their path counts.
func (s *Server) checkPaths(paths []string, objectType string) ([]target, []string, map[string]int, *apiError) {
	targets := make([]target, 0, len(paths))
	var order []string
	count := map[string]int{}
	for _, p := range paths {
		if utf8.RuneCountInString(p) > maxPathLen {
			return nil, nil, nil, named("InvalidObjectPath.Malformed",
				"The specified ObjectPath is invalid: a path is %d characters long, the limit is %d.", utf8.RuneCountInString(p), maxPathLen)
		}
		domain, ok := hostOf(p)
		if !ok || strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return nil, nil, nil, named("InvalidObjectPath.Malformed",
				"The specified ObjectPath is invalid: %q is not an absolute http(s) URL.", truncate(p))
		}
		if strings.Contains(domain, "*") {
			return nil, nil, nil, knownError("InvalidExtensiveDomain.ValueNotSupported")
		}
		if objectType == "Directory" && !strings.HasSuffix(p, "/") {
			return nil, nil, nil, named("InvalidObjectPath.Malformed",
				"The specified ObjectPath is invalid: directory %q does not end with /.", truncate(p))
		}
		if count[domain] == 0 {
			order = append(order, domain)
		}
		count[domain]++
		targets = append(targets, target{path: p, domain: domain})
	}
	if len(order) > maxDomainsPerCall {
		return nil, nil, nil, named("SingleRequest.OverLimit",
			"A maximum of %d domains are supported for each request; this one has %d.", maxDomainsPerCall, len(order))
	}
	for _, d := range order {
		if s.domains != nil && !s.domains[d] {
			return nil, nil, nil, named("InvalidDomain.NotFound", "The domain provided does not belong to you: %s.", d)
		}
	}
	return targets, order, count, nil
}

func truncate(p string) string {
	if len(p) > 80 {
		return p[:80] + "…"
	}
	return p
}

// hostOf returns the lower-case host name (no port) of an absolute
// http(s) URL, without fully parsing the rest: regex paths need not be
// valid URLs.
func hostOf(p string) (string, bool) {
	scheme, rest, ok := strings.Cut(p, "://")
	if !ok {
		return "", false
	}
	if s := strings.ToLower(scheme); s != "http" && s != "https" {
		return "", false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host := rest[:end]
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		port := host[i+1:]
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return "", false
		}
		host = host[:i]
	}
	if host == "" || strings.ContainsAny(host, "@[]%") {
		return "", false
	}
	for _, r := range host {
		if !(r == '.' || r == '-' || r == '_' || r == '*' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "", false
		}
	}
	return strings.ToLower(host), true
}

func parseBool(q *request, name string) (bool, *apiError) {
	v := q.get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, named("InvalidParameter", "The specified parameter %s is not valid: %q is not a boolean.", name, v)
	}
	return b, nil
}

// refresh serves RefreshObjectCaches, RefreshDcdnObjectCaches and (er)
// RefreshErObjectCaches.
func (s *Server) refresh(q *request, c *Call, er bool) (map[string]any, *apiError) {
	objectType := q.get("ObjectType")
	if objectType == "" {
		if er {
			return nil, missing("ObjectType")
		}
		objectType = "File"
	}
	switch objectType {
	case "File", "Directory", "Regex", "IgnoreParams":
	default:
		return nil, named("InvalidObjectType.ValueNotSupported",
			"The specified ObjectType %q is not supported; use File, Directory, Regex or IgnoreParams.", objectType)
	}
	force, e := parseBool(q, "Force")
	if e != nil {
		return nil, e
	}
	paths := splitPaths(q.get("ObjectPath"))
	if len(paths) == 0 {
		return nil, missing("ObjectPath")
	}
	switch {
	case (objectType == "File" || objectType == "IgnoreParams") && len(paths) > maxURLsPerCall:
		return nil, named("SingleRequest.OverLimit", "A maximum of %d URLs are supported for each request; this one has %d.", maxURLsPerCall, len(paths))
	case objectType == "Directory" && len(paths) > maxDirsPerCall:
		return nil, named("SingleRequest.OverLimit", "A maximum of %d directories are supported for each request; this one has %d.", maxDirsPerCall, len(paths))
	case objectType == "Regex" && len(paths) > maxRegexPerCall:
		return nil, named("InvalidObjectPath.Size.Malformed", "A maximum of %d regular expression is supported for each request; this one has %d.", maxRegexPerCall, len(paths))
	}
	targets, domains, perDomain, e := s.checkPaths(paths, objectType)
	if e != nil {
		return nil, e
	}
	if er && len(domains) > 1 {
		return nil, named("InvalidObjectPath.Malformed", "The URLs in a request must belong to the same domain name; this one has %d.", len(domains))
	}

	pname := q.product.name
	qt := s.quotaLocked(pname, q.now)
	remain := map[string]*int{"File": &qt.url, "Directory": &qt.dir, "Regex": &qt.regex, "IgnoreParams": &qt.ignoreParams}[objectType]
	if *remain < len(paths) {
		return nil, named("QuotaExceeded.Refresh", "Your refresh attempts have exceeded the daily limit: %d %s paths asked, %d remain.", len(paths), objectType, *remain)
	}
	if objectType == "File" && s.perMin > 0 {
		for _, d := range domains {
			if used := s.minuteUsedLocked(pname, d, q.now); used+perDomain[d] > s.perMin {
				return nil, named("QuotaPerMinuteExceeded.Refresh",
					"You tried to refresh too frequently; please try again later. Domain %s: %d URLs in the last minute, %d asked, limit %d.", d, used, perDomain[d], s.perMin)
			}
		}
		for _, d := range domains {
			key := pname + "|" + d
			s.minute[key] = append(s.minute[key], stamp{t: q.now, n: perDomain[d]})
		}
	}
	*remain -= len(paths)

	ids := s.addTasksLocked(pname, strings.ToLower(objectType), targets, domains, q.now)
	s.stats.URLs += len(paths)
	c.ObjectType, c.Force, c.URLs, c.TaskID = objectType, force, paths, ids
	return map[string]any{"RefreshTaskId": ids}, nil
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

// preload serves PushObjectCache and PreloadDcdnObjectCaches.
func (s *Server) preload(q *request, c *Call) (map[string]any, *apiError) {
	paths := splitPaths(q.get("ObjectPath"))
	if len(paths) == 0 {
		return nil, missing("ObjectPath")
	}
	area := q.get("Area")
	if area != "" && area != "domestic" && area != "overseas" {
		return nil, named("InvalidArea.ValueNotSupported", "The specified Area %q is not supported; use domestic or overseas.", area)
	}
	l2, e := parseBool(q, "L2Preload")
	if e != nil {
		return nil, e
	}
	if h := q.get("WithHeader"); h != "" && !json.Valid([]byte(h)) {
		return nil, knownError("InvalidWithHeader.Malformed")
	}
	if len(paths) > maxPushPerCall {
		return nil, named("SingleRequest.OverLimit", "A maximum of %d URLs are supported for each request; this one has %d.", maxPushPerCall, len(paths))
	}
	targets, domains, _, e := s.checkPaths(paths, "File")
	if e != nil {
		return nil, e
	}
	qt := s.quotaLocked(q.product.name, q.now)
	if qt.preload < len(paths) {
		return nil, named("QuotaExceeded.Preload", "Your preload attempts have exceeded the daily limit: %d URLs asked, %d remain.", len(paths), qt.preload)
	}
	qt.preload -= len(paths)
	ids := s.addTasksLocked(q.product.name, "preload", targets, domains, q.now)
	s.stats.URLs += len(paths)
	c.URLs, c.Area, c.L2Preload, c.WithHeader, c.TaskID = paths, area, l2, q.get("WithHeader"), ids
	key := "PushTaskId"
	if q.product.name == productDCDN {
		key = "PreloadTaskId"
	}
	return map[string]any{key: ids}, nil
}

// refreshByCacheTag serves RefreshObjectCacheByCacheTag and
// RefreshDcdnObjectCacheByCacheTag.
func (s *Server) refreshByCacheTag(q *request, c *Call) (map[string]any, *apiError) {
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
	if strings.Contains(domain, "*") {
		return nil, knownError("InvalidExtensiveDomain.ValueNotSupported")
	}
	if s.domains != nil && !s.domains[domain] {
		return nil, named("InvalidDomain.NotFound", "The domain provided does not belong to you: %s.", domain)
	}
	var tags []string
	for _, t := range strings.Split(q.get("CacheTag"), ",") {
		t = strings.TrimSpace(t)
		if t == "" {
			return nil, named("InvalidCacheTag.Malformed", "The specified CacheTag %q has an empty tag.", q.get("CacheTag"))
		}
		tags = append(tags, t)
	}
	targets := make([]target, len(tags))
	for i, t := range tags {
		targets[i] = target{path: t, domain: domain}
	}
	ids := s.addTasksLocked(q.product.name, "cachetag", targets, []string{domain}, q.now)
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
		return nil, named("MissingParameter", "The input parameter \"ObjectType\" is mandatory when DomainName or Status is given.")
	}
	switch objectType {
	case "", "file", "directory", "regex", "preload":
	default:
		return nil, named("InvalidObjectType.ValueNotSupported",
			"The specified ObjectType %q is not supported; use file, directory, regex or preload.", objectType)
	}
	switch status {
	case "", "Complete", "Refreshing", "Failed", "Pending":
	default:
		return nil, named("InvalidStatus.ValueNotSupported", "The specified Status %q is not supported; use Complete, Refreshing or Failed.", status)
	}
	from := q.now.Add(-taskRetention)
	to := q.now.Add(time.Hour)
	var start, end time.Time
	if v := q.get("StartTime"); v != "" {
		t, err := time.Parse(timeFormat, v)
		if err != nil {
			return nil, named("InvalidStartTime.Malformed", "The specified StartTime %q is malformed; use yyyy-MM-ddTHH:mm:ssZ.", v)
		}
		start = t
	}
	if v := q.get("EndTime"); v != "" {
		t, err := time.Parse(timeFormat, v)
		if err != nil {
			return nil, named("InvalidEndTime.Malformed", "The specified EndTime %q is malformed; use yyyy-MM-ddTHH:mm:ssZ.", v)
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
		view := s.taskView(t, q.now)
		if status != "" && view["Status"] != status {
			continue
		}
		match = append(match, view)
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
		return 0, named("Invalid"+name+".ValueNotSupported", "The specified %s %q is not supported; use %d to %d.", name, v, lo, hi)
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
// DescribeDcdnRefreshTaskById: Tasks is a bare array.
func (s *Server) describeTaskByID(q *request, c *Call) (map[string]any, *apiError) {
	ids, e := taskIDs(q.get("TaskId"))
	if e != nil {
		return nil, e
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	from := q.now.Add(-taskRetention)
	tasks := []map[string]any{}
	for i := range s.tasks {
		t := &s.tasks[i]
		if t.Product == q.product.name && want[t.ID] && !t.Created.Before(from) {
			tasks = append(tasks, s.taskView(t, q.now))
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
		return nil, named("InvalidTaskId.Malformed", "A maximum of %d task IDs are supported for each request; this one has %d.", maxTaskIDsPerQuery, len(ids))
	}
	for i, id := range ids {
		id = strings.TrimSpace(id)
		if _, err := strconv.ParseUint(id, 10, 64); err != nil {
			return nil, named("InvalidTaskId.Malformed", "The specified TaskId %q is invalid.", id)
		}
		ids[i] = id
	}
	return ids, nil
}

// describePreloadDetail serves DescribePreloadDetailById: one UrlDetail
// per domain of the task, with each URL's outcome.
func (s *Server) describePreloadDetail(q *request, c *Call) (map[string]any, *apiError) {
	if !s.detail {
		return nil, named("Forbidden", "DescribePreloadDetailById is available only to accounts on the allow list.")
	}
	id := q.get("TaskId")
	if id == "" {
		return nil, missing("TaskId")
	}
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return nil, named("InvalidTaskId.Malformed", "The specified TaskId %q is invalid.", id)
	}
	from := q.now.Add(-taskRetention)
	details := []map[string]any{}
	byDomain := map[string]int{}
	total := 0
	for i := range s.tasks {
		t := &s.tasks[i]
		if t.Product != productCDN || t.ID != id || t.ObjectType != "preload" || t.Created.Before(from) {
			continue
		}
		view := s.taskView(t, q.now)
		j, ok := byDomain[t.Domain]
		if !ok {
			j = len(details)
			byDomain[t.Domain] = j
			details = append(details, map[string]any{
				"TaskId": t.ID, "Domain": t.Domain, "CreationTime": view["CreationTime"],
				"EndTime": "", "Process": view["Process"], "Status": view["Status"], "RetCode": "0",
				"Urls": []map[string]any{},
			})
		}
		d := details[j]
		success, desc := "100%", "Successfully preloaded"
		switch view["Status"] {
		case "Refreshing":
			success, desc = "0%", ""
		case "Failed":
			success, desc = "0%", t.Description
			d["Status"], d["Process"] = "Failed", "0%"
		case "Complete":
			d["EndTime"] = t.Created.Add(max(s.taskDur, 0)).UTC().Format(timeFormat)
		}
		d["Urls"] = append(d["Urls"].([]map[string]any), map[string]any{
			"Url": pathOf(t.ObjectPath), "Success": success, "Description": desc,
		})
		total++
	}
	c.TaskID = id
	return map[string]any{"TotalCount": total, "UrlDetails": details}, nil
}

// pathOf returns the part of an absolute URL after its host.
func pathOf(u string) string {
	_, rest, _ := strings.Cut(u, "://")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[i:]
	}
	return "/"
}

// taskView renders t at time now as the API does.
func (s *Server) taskView(t *Task, now time.Time) map[string]any {
	status, process := "Refreshing", "0%"
	switch {
	case t.Failed:
		status = "Failed"
	case now.Sub(t.Created) >= s.taskDur:
		status, process = "Complete", "100%"
	}
	return map[string]any{
		"TaskId":       t.ID,
		"ObjectPath":   t.ObjectPath,
		"ObjectType":   t.ObjectType,
		"Status":       status,
		"Process":      process,
		"CreationTime": t.Created.UTC().Format(timeFormat),
		"Description":  t.Description,
	}
}
