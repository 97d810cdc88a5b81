package cdn

import "slices"

// Statement is one statement of the Alibaba Cloud API documents that the
// emulator relies on: a limit, an error code with its HTTP status, a
// default, or a spelling. Documented lists them; a test checks the
// emulator against each one through the real SDK, and the client's error
// table can be checked against the same list.
type Statement struct {
	API  string // the action it is about, e.g. "RefreshObjectCaches"
	Kind Kind
	// Name says what a limit, default or spelling is about, from a fixed
	// vocabulary (the Name* constants); empty for a code.
	Name string
	// Value is the limit, the default or the spelling, as text: "1000",
	// "File", "Internal Error".
	Value string
	// Code and Status are the answer: the error code of a KindCode
	// statement, or the code a call beyond a limit gets.
	Code   string
	Status int
	// Class is what the documents imply a client should do about Code.
	Class Class
	// Source names the public document, e.g. "seed 001 (RefreshObjectCaches), Error codes".
	Source string
	// Assumed marks what the emulator had to choose where the documents are
	// silent (e.g. which code a limit gets); Note says what.
	Assumed bool
	Note    string
}

// Kind is the kind of a Statement.
type Kind string

// Kinds of statements.
const (
	KindLimit    Kind = "limit"
	KindCode     Kind = "code"
	KindDefault  Kind = "default"
	KindSpelling Kind = "spelling"
)

// Class is what a client should do about an error code.
type Class string

// Classes of error codes.
const (
	ClassRetry   Class = "retry"   // rate, queue or server trouble: back off and retry
	ClassReject  Class = "reject"  // the request, a path or a domain is wrong: never retry as sent
	ClassQuota   Class = "quota"   // the daily quota is spent: wait for the daily reset
	ClassRefused Class = "refused" // the account or its permission: keep the work, fix the account
)

// Names of limits, defaults and spellings.
const (
	NameURLsPerCall         = "URLs per call"
	NameDirsPerCall         = "directories per call"
	NameRegexPerCall        = "regular expressions per call"
	NameDomainsPerCall      = "domains per call"
	NamePathLength          = "characters per object path"
	NameCallsPerSecond      = "calls per second per account"
	NameDomainURLsPerMinute = "URLs per domain per minute"
	NameURLsPerDay          = "URLs per day"
	NameDirsPerDay          = "directories per day"
	NameRegexPerDay         = "regular expressions per day"
	NameIgnoreParamsPerDay  = "IgnoreParams refreshes per day"
	NamePrefetchPerDay      = "prefetch URLs per day"
	NamePrefetchQueue       = "prefetch URLs queued per account"
	NameCacheTagsPerCall    = "cache tags per call"
	NameTaskIDsPerCall      = "task IDs per call"
	NameTaskRetention       = "days tasks are kept"
	NamePageSize            = "PageSize"
	NameURLsPerTaskID       = "URLs per merged task ID"
	NameObjectType          = "ObjectType"
	NameForce               = "Force"
	NameObjectPath          = "ObjectPath"
	NameByIDDescription     = "failed task Description (by id)"
	NameListDescription     = "failed task Description (list)"
	NameTaskStatus          = "task Status"
	NameQuotaField          = "quota field"
)

// Sources, named once.
const (
	seed000        = "seed 000 (CDN refresh, prefetch and task APIs)"
	seed001        = "seed 001 (RefreshObjectCaches)"
	seed001Err     = "seed 001 (RefreshObjectCaches), Error codes"
	seed002        = "seed 002 (RefreshObjectCaches, older en)"
	seed003        = "seed 003 (RefreshErObjectCaches)"
	seed003Err     = "seed 003 (RefreshErObjectCaches), Error codes"
	seed004        = "seed 004 (RefreshObjectCaches, older zh)"
	pushPage       = "PushObjectCache API page, Operation description"
	olderErrs      = "error tables of the older CDN API pages (e.g. DescribeDomainQpsData, PushObjectCache)"
	byIDPage       = "DescribeRefreshTaskById API page"
	listPage       = "DescribeRefreshTasks API page"
	dcdnRefresh    = "RefreshDcdnObjectCaches API page, Operation description"
	dcdnPreload    = "PreloadDcdnObjectCaches API page, Operation description"
	dcdnPreloadErr = "PreloadDcdnObjectCaches API page, Error codes"
	quotaPage      = "DescribeRefreshQuota API page, Operation description"
	dcdnQuota      = "DescribeDcdnRefreshQuota API page, Operation description"
	dcdnTasks      = "DescribeDcdnRefreshTasks API page, Operation description"
	dcdnByID       = "DescribeDcdnRefreshTaskById API page"
	cacheTag       = "RefreshObjectCacheByCacheTag API page (and seed 000)"
)

func limit(api, name, value, code string, status int, source string) Statement {
	return Statement{API: api, Kind: KindLimit, Name: name, Value: value, Code: code, Status: status, Source: source}
}

func code(api, code string, status int, class Class, source string) Statement {
	return Statement{API: api, Kind: KindCode, Code: code, Status: status, Class: class, Source: source}
}

func assumed(s Statement, note string) Statement {
	s.Assumed, s.Note = true, note
	return s
}

// refreshCodes are the codes the error tables of seed 001
// (RefreshObjectCaches) and seed 003 (RefreshErObjectCaches) share, with
// the same statuses.
var refreshCodes = []Statement{
	{Code: "SingleRequest.OverLimit", Status: 400, Class: ClassReject},
	{Code: "InvalidObjectType.Malformed", Status: 400, Class: ClassReject},
	{Code: "InvalidObjectPath.Malformed", Status: 400, Class: ClassReject},
	{Code: "QuotaExceeded.Refresh", Status: 400, Class: ClassQuota},
	{Code: "InvalidExtensiveDomain.ValueNotSupported", Status: 400, Class: ClassReject},
	{Code: "QuotaPerMinuteExceeded.Refresh", Status: 400, Class: ClassRetry},
	{Code: "TooMany.Refresh", Status: 400, Class: ClassRetry},
}

// codesOf returns the statements of codes as api's page, source, lists them.
func codesOf(api, source string, codes []Statement) []Statement {
	out := make([]Statement, len(codes))
	for i, c := range codes {
		out[i] = code(api, c.Code, c.Status, c.Class, source)
	}
	return out
}

// Documented is every statement of the documents the emulator relies on.
var Documented = slices.Concat(
	codesOf("RefreshObjectCaches", seed001Err, refreshCodes),
	codesOf("RefreshErObjectCaches", seed003Err, refreshCodes),
	statements,
)

var statements = []Statement{
	// RefreshObjectCaches: limits.
	limit("RefreshObjectCaches", NameURLsPerCall, "1000", "SingleRequest.OverLimit", 400, seed001+", Refresh quota; Error codes"),
	limit("RefreshObjectCaches", NameDirsPerCall, "100", "SingleRequest.OverLimit", 400, seed001+", Refresh quota; Error codes"),
	assumed(limit("RefreshObjectCaches", NameRegexPerCall, "1", "InvalidObjectPath.Size.Malformed", 400, seed001+", Refresh quota"),
		"the code: no page says which; the emulator answers seed 003's InvalidObjectPath.Size.Malformed"),
	assumed(limit("RefreshObjectCaches", NameDomainsPerCall, "10", "SingleRequest.OverLimit", 400, seed001+", Request parameters, ObjectPath"),
		"the code: no page says which"),
	limit("RefreshObjectCaches", NameDomainURLsPerMinute, "1000", "QuotaPerMinuteExceeded.Refresh", 400, seed001+", Refresh quota; Error codes"),
	limit("RefreshObjectCaches", NameCallsPerSecond, "50", "TooManyRequests", 429, seed001+", Operation description; Error codes"),
	limit("RefreshObjectCaches", NameURLsPerDay, "10000", "QuotaExceeded.Refresh", 400, seed001+", Refresh quota; Error codes"),
	limit("RefreshObjectCaches", NameDirsPerDay, "100", "QuotaExceeded.Refresh", 400, seed001+", Refresh quota; Error codes"),
	limit("RefreshObjectCaches", NameRegexPerDay, "20", "QuotaExceeded.Refresh", 400, seed001+", Refresh quota; Error codes"),
	limit("RefreshObjectCaches", NameIgnoreParamsPerDay, "100", "QuotaExceeded.Refresh", 400, "RefreshObjectCaches API page (zh), URL 刷新配额: 100 个去参数刷新"),
	limit("RefreshObjectCaches", NameURLsPerTaskID, "2000", "", 0, seed001+", Response parameters, RefreshTaskId"),
	assumed(limit("RefreshObjectCaches", NamePathLength, "1024", "InvalidObjectPath.Malformed", 400, seed003+", Request parameters, ObjectPath"),
		"stated for RefreshErObjectCaches; the emulator applies it to every refresh and prefetch"),

	// RefreshObjectCaches: error codes, word for word (and refreshCodes).
	code("RefreshObjectCaches", "TooManyRequests", 429, ClassRetry, seed001Err),
	code("RefreshObjectCaches", "ObjectPath.Malformed", 400, ClassReject, seed004+", 错误码"),
	code("RefreshObjectCaches", "Throttling", 503, ClassRetry, olderErrs),
	code("RefreshObjectCaches", "IllegalOperation", 403, ClassReject, olderErrs),
	code("RefreshObjectCaches", "OperationDenied", 403, ClassRefused, olderErrs),
	code("RefreshObjectCaches", "InvalidDomain.NotFound", 404, ClassReject, olderErrs+"; "+seed004+", 示例"),
	code("RefreshObjectCaches", "InvalidDomain.Offline", 404, ClassReject, olderErrs),
	code("RefreshObjectCaches", "ServiceBusy", 403, ClassRetry, olderErrs),
	code("RefreshObjectCaches", "InvalidDomain.Configure_failed", 500, ClassReject, olderErrs),

	// RefreshObjectCaches: defaults and spellings.
	{API: "RefreshObjectCaches", Kind: KindDefault, Name: NameObjectType, Value: "File", Source: seed001 + ", Request parameters; " + seed002 + "; " + seed004},
	{API: "RefreshObjectCaches", Kind: KindDefault, Name: NameForce, Value: "false", Source: seed001 + ", Request parameters, Force"},
	{API: "RefreshObjectCaches", Kind: KindSpelling, Name: NameObjectType, Value: "File", Source: seed001 + ", Request parameters"},
	{API: "RefreshObjectCaches", Kind: KindSpelling, Name: NameObjectType, Value: "Directory", Source: seed001 + ", Request parameters"},
	{API: "RefreshObjectCaches", Kind: KindSpelling, Name: NameObjectType, Value: "Regex", Source: seed001 + ", Request parameters"},
	{API: "RefreshObjectCaches", Kind: KindSpelling, Name: NameObjectType, Value: "ExQuery", Source: seed001 + ", Request parameters",
		Note: "the DCDN pages spell it IgnoreParams; Options.IgnoreParamsSpelling chooses, both by default"},
	{API: "RefreshObjectCaches", Kind: KindSpelling, Name: NameObjectPath, Value: "abc.com/image/1.png", Source: seed002 + ", Request Parameters; " + seed004 + ", 请求参数"},

	// RefreshErObjectCaches (DCDN, Edge Routine cache).
	limit("RefreshErObjectCaches", NameURLsPerCall, "1000", "SingleRequest.OverLimit", 400, seed003+", Operation description; Error codes"),
	limit("RefreshErObjectCaches", NameDirsPerCall, "100", "SingleRequest.OverLimit", 400, seed003+", Operation description"),
	limit("RefreshErObjectCaches", NameDomainURLsPerMinute, "1000", "QuotaPerMinuteExceeded.Refresh", 400, seed003+", Operation description; Error codes"),
	limit("RefreshErObjectCaches", NameCallsPerSecond, "30", "TooManyRequests", 429, seed003+", Operation description"),
	limit("RefreshErObjectCaches", NameURLsPerDay, "10000", "QuotaExceeded.Refresh", 400, seed003+", Operation description; Error codes"),
	assumed(limit("RefreshErObjectCaches", NameDomainsPerCall, "1", "InvalidObjectPath.Malformed", 400, seed003+", Request parameters, ObjectPath: the URLs in a request must belong to the same domain name"),
		"the code: no page says which"),
	// Besides refreshCodes:
	code("RefreshErObjectCaches", "InvalidObjectPath.Size.Malformed", 400, ClassReject, seed003Err),
	code("RefreshErObjectCaches", "PreloadQueueFull", 400, ClassRetry, seed003Err),
	code("RefreshErObjectCaches", "InvalidStations.Malformed", 400, ClassReject, seed003Err),
	code("RefreshErObjectCaches", "InvalidParameters", 400, ClassReject, seed003Err),
	{API: "RefreshErObjectCaches", Kind: KindDefault, Name: NameObjectType, Value: "File", Source: seed003 + ", Request parameters, ObjectType"},
	{API: "RefreshErObjectCaches", Kind: KindSpelling, Name: NameObjectType, Value: "IgnoreParams", Source: seed003 + ", Request parameters, ObjectType"},

	// RefreshDcdnObjectCaches.
	limit("RefreshDcdnObjectCaches", NameURLsPerCall, "1000", "SingleRequest.OverLimit", 400, dcdnRefresh),
	limit("RefreshDcdnObjectCaches", NameDirsPerCall, "100", "SingleRequest.OverLimit", 400, dcdnRefresh),
	limit("RefreshDcdnObjectCaches", NameDomainURLsPerMinute, "1000", "QuotaPerMinuteExceeded.Refresh", 400, dcdnRefresh),
	limit("RefreshDcdnObjectCaches", NameCallsPerSecond, "30", "TooManyRequests", 429, dcdnRefresh),
	code("RefreshDcdnObjectCaches", "TooManyRequests", 429, ClassRetry, "RefreshDcdnObjectCaches API page, Error codes"),
	{API: "RefreshDcdnObjectCaches", Kind: KindSpelling, Name: NameObjectType, Value: "IgnoreParams", Source: dcdnRefresh + "; Request parameters, ObjectType"},

	// Cache tags.
	assumed(limit("RefreshObjectCacheByCacheTag", NameCacheTagsPerCall, "10", "SingleRequest.OverLimit", 400, cacheTag+", Request parameters, CacheTag: tags separated by commas"),
		"no page gives a tag limit or the quota a tag uses: the emulator caps a call at 10 tags (Options.CacheTagsPerCall) and counts each tag as a directory refresh"),
	code("RefreshObjectCacheByCacheTag", "InvalidObjectPath.Malformed", 400, ClassReject, cacheTag+", Error codes"),
	code("RefreshObjectCacheByCacheTag", "QuotaExceeded.Refresh", 400, ClassQuota, cacheTag+", Error codes"),

	// PushObjectCache and PreloadDcdnObjectCaches.
	limit("PushObjectCache", NameURLsPerCall, "100", "SingleRequest.OverLimit", 400, pushPage),
	limit("PushObjectCache", NamePrefetchPerDay, "1000", "QuotaExceeded.Preload", 400, pushPage+"; "+dcdnPreloadErr+" (the code)"),
	limit("PushObjectCache", NamePrefetchQueue, "100000", "PreloadQueueFull", 400, pushPage+"; "+dcdnPreloadErr+" (the code)"),
	limit("PushObjectCache", NameCallsPerSecond, "50", "TooManyRequests", 429, pushPage),
	code("PushObjectCache", "Throttling", 503, ClassRetry, "PushObjectCache API page (older), Error codes"),
	code("PreloadDcdnObjectCaches", "SingleRequest.OverLimit", 400, ClassReject, dcdnPreloadErr),
	code("PreloadDcdnObjectCaches", "QuotaExceeded.Preload", 400, ClassQuota, dcdnPreloadErr),
	code("PreloadDcdnObjectCaches", "InvalidObjectPath.Malformed", 400, ClassReject, dcdnPreloadErr),
	code("PreloadDcdnObjectCaches", "InvalidExtensiveDomain.ValueNotSupported", 400, ClassReject, dcdnPreloadErr),
	code("PreloadDcdnObjectCaches", "PreloadQueueFull", 400, ClassRetry, dcdnPreloadErr),
	limit("PreloadDcdnObjectCaches", NamePrefetchPerDay, "1000", "QuotaExceeded.Preload", 400, dcdnPreload),
	limit("PreloadDcdnObjectCaches", NameURLsPerCall, "100", "SingleRequest.OverLimit", 400, dcdnPreload),
	limit("PreloadDcdnObjectCaches", NameCallsPerSecond, "15", "TooManyRequests", 429, dcdnPreload),

	// Quota and task queries.
	limit("DescribeRefreshQuota", NameCallsPerSecond, "20", "TooManyRequests", 429, quotaPage),
	limit("DescribeDcdnRefreshQuota", NameCallsPerSecond, "20", "TooManyRequests", 429, dcdnQuota),
	{API: "DescribeRefreshQuota", Kind: KindSpelling, Name: NameQuotaField, Value: "IgnoreParamsQuota", Source: quotaPage + "; Response parameters"},
	assumed(limit("DescribeRefreshTasks", NameCallsPerSecond, "10", "TooManyRequests", 429, dcdnTasks+" (10/s)"),
		"the current CDN DescribeRefreshTasks page says 5 calls per second; the emulator keeps the 10 of the DCDN page"),
	limit("DescribeRefreshTasks", NamePageSize, "100", "InvalidPageSize.ValueNotSupported", 400, seed000+", describeRefreshTasks, pageSize"),
	{API: "DescribeRefreshTasks", Kind: KindDefault, Name: NamePageSize, Value: "20", Source: seed000 + ", describeRefreshTasks, pageSize"},
	limit("DescribeRefreshTasks", NameTaskRetention, "3", "", 0, listPage+", Operation description"),
	limit("DescribeDcdnRefreshTasks", NameCallsPerSecond, "10", "TooManyRequests", 429, dcdnTasks),
	limit("DescribeRefreshTaskById", NameCallsPerSecond, "30", "TooManyRequests", 429, seed000+", describeRefreshTaskById"),
	limit("DescribeRefreshTaskById", NameTaskIDsPerCall, "10", "InvalidTaskId.Malformed", 400, byIDPage+", Request parameters, TaskId; Error codes"),
	limit("DescribeRefreshTaskById", NameTaskRetention, "3", "", 0, seed000+", describeRefreshTaskById"),
	code("DescribeRefreshTaskById", "InvalidTaskId.Malformed", 400, ClassReject, byIDPage+", Error codes"),
	limit("DescribeDcdnRefreshTaskById", NameCallsPerSecond, "30", "TooManyRequests", 429, dcdnByID+", Operation description"),
	limit("DescribeDcdnRefreshTaskById", NameTaskIDsPerCall, "10", "InvalidTaskId.Malformed", 400, dcdnByID+", Request parameters, TaskId"),
	limit("DescribePreloadDetailById", NameCallsPerSecond, "30", "TooManyRequests", 429, seed000+", describePreloadDetailById"),
	{API: "DescribeRefreshTaskById", Kind: KindSpelling, Name: NameByIDDescription, Value: "Internal Error", Source: byIDPage + ", Response parameters, Description"},
	{API: "DescribeRefreshTaskById", Kind: KindSpelling, Name: NameByIDDescription, Value: "Origin Timeout", Source: byIDPage + ", Response parameters, Description"},
	{API: "DescribeRefreshTaskById", Kind: KindSpelling, Name: NameByIDDescription, Value: "Origin Return StatusCode 5XX", Source: byIDPage + ", Response parameters, Description"},
	{API: "DescribeRefreshTasks", Kind: KindSpelling, Name: NameListDescription, Value: "InternalError", Source: listPage + ", Response parameters, Description"},
	{API: "DescribeRefreshTasks", Kind: KindSpelling, Name: NameListDescription, Value: "OriginTimeout", Source: listPage + ", Response parameters, Description"},
	{API: "DescribeRefreshTasks", Kind: KindSpelling, Name: NameListDescription, Value: "OriginReturnStatusCode 5XX", Source: listPage + ", Response parameters, Description"},
	{API: "DescribeRefreshTaskById", Kind: KindSpelling, Name: NameTaskStatus, Value: "Pending", Source: dcdnByID + ", Response parameters, Status"},
	{API: "DescribeRefreshTaskById", Kind: KindSpelling, Name: NameTaskStatus, Value: "Refreshing", Source: byIDPage + ", Response parameters, Status"},
	{API: "DescribeRefreshTaskById", Kind: KindSpelling, Name: NameTaskStatus, Value: "Complete", Source: byIDPage + ", Response parameters, Status"},
	{API: "DescribeRefreshTaskById", Kind: KindSpelling, Name: NameTaskStatus, Value: "Failed", Source: byIDPage + ", Response parameters, Status"},
}
