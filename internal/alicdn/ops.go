package alicdn

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/cdn"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/dcdn"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// API versions; the action names are refresh's API constants. The DCDN
// (2018-01-15) calls go through the SDK's typed requests, which carry
// their version.
const (
	CDNVersion        = "2018-05-10"
	maxTaskIDsPerCall = 10
	timeFormat        = "2006-01-02T15:04:05Z"
)

// submitAPIs are the APIs Submit sends.
var submitAPIs = []string{
	refresh.APIRefresh, refresh.APIPush, refresh.APICacheTag,
	refresh.APIRefreshDCDN, refresh.APIPreloadDCDN, refresh.APICacheTagDCDN, refresh.APIRefreshER,
}

// apiOf returns the action that carries out call (refresh.APIFor),
// checking call.API when set; a call naming only its API is taken as it
// says.
func apiOf(call refresh.Call) (string, error) {
	if call.Action == "" && slices.Contains(submitAPIs, call.API) {
		return call.API, nil
	}
	api := refresh.APIFor(call.Provider, call.Action, call.ObjectType, call.Routine != "")
	if api == "" {
		return "", invalid(call.API, "no API for provider %q, action %q, object type %q, edge routine %q", call.Provider, call.Action, call.ObjectType, call.Routine)
	}
	if call.API != "" && call.API != api {
		return "", invalid(call.API, "the call names API %s but provider %q, action %q, object type %q need %s", call.API, call.Provider, call.Action, call.ObjectType, api)
	}
	return api, nil
}

// invalid is a call the client refuses to send: it can never succeed as
// it is, so its jobs are rejected (code InvalidCall). The planner never
// forms one.
func invalid(api, format string, args ...any) error {
	return &refresh.Failure{Verdict: refresh.Reject, Code: "InvalidCall", Err: fmt.Errorf("alicdn: %s: %s", api, fmt.Sprintf(format, args...))}
}

// URLsPerDomain counts urls by domain (refresh.Hostname: lower case, no
// port), as the per-domain per-minute limit counts them.
func URLsPerDomain(urls []string) map[string]int {
	m := map[string]int{}
	for _, u := range urls {
		m[refresh.Hostname(u)]++
	}
	return m
}

// request is one call as it goes on the wire.
type request struct {
	api        string
	objectType string // the spelling sent
	paths      string // ObjectPath: the URLs, one a line
	domain     string // DomainName of a cache-tag call
	tags       string // CacheTag: the tags, comma-joined
	call       refresh.Call
}

// check refuses what no API would accept, before anything is sent.
func check(api string, call refresh.Call) (request, error) {
	r := request{api: api, call: call}
	if call.ObjectType == refresh.CacheTag || api == refresh.APICacheTag || api == refresh.APICacheTagDCDN {
		if len(call.Tags) == 0 {
			return r, invalid(api, "CacheTag: no cache tags")
		}
		for _, t := range call.Tags {
			if err := refresh.CheckTag(t); err != nil {
				return r, invalid(api, "CacheTag %q: %v", t, err)
			}
		}
		if hs := hostsOf(call.URLs); len(hs) != 1 {
			return r, invalid(api, "DomainName: a cache-tag call names one domain, this one %d (%s)", len(hs), strings.Join(hs, ", "))
		}
		r.domain, r.tags = refresh.Hostname(call.URLs[0]), strings.Join(call.Tags, ",")
		return r, nil
	}
	if len(call.URLs) == 0 {
		return r, invalid(api, "ObjectPath: no URLs")
	}
	r.paths = strings.Join(call.URLs, "\n")
	if call.Action == refresh.ActionPrefetch || api == refresh.APIPush || api == refresh.APIPreloadDCDN {
		if call.QueryHashkey && api != refresh.APIPush {
			return r, invalid(api, "QueryHashkey is a PushObjectCache (CDN) parameter (seed 000); %s takes none", api)
		}
		return r, nil
	}
	switch t := call.ObjectType; t {
	case "":
		r.objectType = string(refresh.File) // the documented default, sent explicitly
	case refresh.File, refresh.Directory, refresh.Regex, refresh.IgnoreParams:
		r.objectType = string(t)
	default:
		return r, invalid(api, "ObjectType %q is not File, Directory, Regex or IgnoreParams", t)
	}
	if api == refresh.APIRefreshER {
		if err := refresh.CheckRoutine(call.Routine); err != nil {
			return r, invalid(api, "RoutineId: %v", err)
		}
		if hs := hostsOf(call.URLs); len(hs) > 1 {
			return r, invalid(api, "ObjectPath: the URLs of a call must belong to one domain (seed 003); these name %d (%s)", len(hs), strings.Join(hs, ", "))
		}
	}
	return r, nil
}

// hostsOf lists the distinct domains of urls in first-seen order.
func hostsOf(urls []string) []string {
	var out []string
	for _, u := range urls {
		if h := refresh.Hostname(u); !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// Submit sends one planned call — a refresh, a prefetch, a cache-tag or an
// Edge Routine refresh, the API following from the call (refresh.APIFor)
// — and returns the task id the API assigned (a comma-separated list when
// the URLs span domains). It waits on the limiter before every attempt and
// retries retryable errors with backoff within ctx.
//
// ObjectType is always sent, File when the call names none. Where the
// documents spell the type two ways (refresh.ObjectTypeSpellings: CDN's
// IgnoreParams or ExQuery), a call the API answers InvalidObjectType.* is
// sent once more with the other spelling, and the spelling that worked is
// the first one every later call of this Client tries.
//
// A failure wraps a *refresh.Failure (see Codes) with an *APIError or a
// *TransportError inside.
func (c *Client) Submit(ctx context.Context, call refresh.Call) (string, error) {
	api, err := apiOf(call)
	if err != nil {
		return "", err
	}
	r, err := check(api, call)
	if err != nil {
		return "", err
	}
	var id string
	spellings := c.spelling.order(api, call.ObjectType)
	for i, sp := range spellings {
		r.objectType = cmp.Or(sp, r.objectType)
		id, err = c.send(ctx, r)
		var ae *APIError
		if err == nil || i == len(spellings)-1 || !errors.As(err, &ae) || !strings.HasPrefix(ae.Code, "InvalidObjectType.") {
			break
		}
	}
	if v, _ := refresh.FailureOf(err); err == nil || v == refresh.QuotaSpent {
		c.quotas.spend(call, err != nil)
	}
	if err != nil {
		return "", fmt.Errorf("submit %d %s: %w", call.Size(), pathsName(call), err)
	}
	if len(spellings) > 1 {
		c.spelling.worked(api, call.ObjectType, r.objectType)
	}
	return id, nil
}

func pathsName(c refresh.Call) string {
	if c.ObjectType == refresh.CacheTag {
		return "cache tags of " + refresh.Hostname(c.URLs[0])
	}
	return "URLs"
}

// send makes one call, with the limiter, retries and classification of do.
func (c *Client) send(ctx context.Context, r request) (string, error) {
	// The per-domain budget is of URLs ("up to 1,000 URLs per minute for
	// each domain name", RefreshObjectCaches API page, Limits): directories,
	// regular expressions and cache tags are not URLs and draw on none.
	var perDomain map[string]int
	switch r.call.ObjectType {
	case refresh.Directory, refresh.Regex, refresh.CacheTag:
	default:
		if r.paths != "" {
			perDomain = URLsPerDomain(r.call.URLs)
		}
	}
	call := r.call
	var id string
	err := c.do(ctx, r.api, perDomain, func(e sdkEnv) error {
		var err error
		switch r.api {
		case refresh.APIRefresh:
			var cl *sdk.Client
			if cl, err = e.cdn(); err != nil {
				return err
			}
			req := cdn.CreateRefreshObjectCachesRequest()
			req.ObjectPath, req.ObjectType = r.paths, r.objectType
			if call.Force {
				req.QueryParams["Force"] = "true" // the typed request has no Force field
			}
			var resp *cdn.RefreshObjectCachesResponse
			if resp, err = doAction(cl, req, cdn.CreateRefreshObjectCachesResponse()); err == nil {
				id = resp.RefreshTaskId
			}
		case refresh.APIPush:
			var cl *sdk.Client
			if cl, err = e.cdn(); err != nil {
				return err
			}
			req := cdn.CreatePushObjectCacheRequest()
			req.ObjectPath, req.Area, req.WithHeader = r.paths, call.Area, call.WithHeader
			if call.L2Preload {
				req.L2Preload = requests.NewBoolean(true)
			}
			if call.QueryHashkey {
				req.QueryParams["QueryHashkey"] = "true" // the typed request has no QueryHashkey field
			}
			var resp *cdn.PushObjectCacheResponse
			if resp, err = doAction(cl, req, cdn.CreatePushObjectCacheResponse()); err == nil {
				id = resp.PushTaskId
			}
		case refresh.APICacheTag:
			id, err = c.cacheTagCDN(e, r)
		case refresh.APIRefreshDCDN:
			var cl *sdk.Client
			if cl, err = e.dcdn(); err != nil {
				return err
			}
			req := dcdn.CreateRefreshDcdnObjectCachesRequest()
			req.ObjectPath, req.ObjectType = r.paths, r.objectType
			if call.Force {
				req.Force = requests.NewBoolean(true)
			}
			var resp *dcdn.RefreshDcdnObjectCachesResponse
			if resp, err = doAction(cl, req, dcdn.CreateRefreshDcdnObjectCachesResponse()); err == nil {
				id = resp.RefreshTaskId
			}
		case refresh.APIRefreshER:
			var cl *sdk.Client
			if cl, err = e.dcdn(); err != nil {
				return err
			}
			req := dcdn.CreateRefreshErObjectCachesRequest()
			req.ObjectPath, req.ObjectType, req.RoutineId, req.MergeDomainName = r.paths, r.objectType, call.Routine, call.MergeDomains
			if call.Force {
				req.Force = requests.NewBoolean(true)
			}
			var resp *dcdn.RefreshErObjectCachesResponse
			if resp, err = doAction(cl, req, dcdn.CreateRefreshErObjectCachesResponse()); err == nil {
				id = resp.RefreshTaskId
			}
		case refresh.APIPreloadDCDN:
			var cl *sdk.Client
			if cl, err = e.dcdn(); err != nil {
				return err
			}
			req := dcdn.CreatePreloadDcdnObjectCachesRequest()
			req.ObjectPath, req.Area, req.WithHeader = r.paths, call.Area, call.WithHeader
			if call.L2Preload {
				req.L2Preload = requests.NewBoolean(true)
			}
			var resp *dcdn.PreloadDcdnObjectCachesResponse
			if resp, err = doAction(cl, req, dcdn.CreatePreloadDcdnObjectCachesResponse()); err == nil {
				id = resp.PreloadTaskId
			}
		case refresh.APICacheTagDCDN:
			var cl *sdk.Client
			if cl, err = e.dcdn(); err != nil {
				return err
			}
			req := dcdn.CreateRefreshDcdnObjectCacheByCacheTagRequest()
			req.DomainName, req.CacheTag = r.domain, r.tags
			if call.Force {
				req.Force = requests.NewBoolean(true)
			}
			var resp *dcdn.RefreshDcdnObjectCacheByCacheTagResponse
			if resp, err = doAction(cl, req, dcdn.CreateRefreshDcdnObjectCacheByCacheTagResponse()); err == nil {
				id = resp.RefreshTaskId
			}
		}
		return err
	})
	return id, err
}

// cacheTagCDN sends RefreshObjectCacheByCacheTag, for which the SDK has no
// typed request: a CommonRequest (POST).
func (c *Client) cacheTagCDN(e sdkEnv, r request) (string, error) {
	cl, err := e.cdn()
	if err != nil {
		return "", err
	}
	req := requests.NewCommonRequest()
	req.Method = requests.POST // CommonRequest defaults to GET
	req.Product, req.Version, req.ApiName = "Cdn", CDNVersion, refresh.APICacheTag
	req.QueryParams["DomainName"] = r.domain
	req.QueryParams["CacheTag"] = r.tags
	if r.call.Force {
		req.QueryParams["Force"] = "true"
	}
	resp, err := cl.ProcessCommonRequest(req)
	if err != nil {
		return "", err
	}
	var body struct{ RefreshTaskId string }
	if err := json.Unmarshal(resp.GetHttpContentBytes(), &body); err != nil {
		return "", fmt.Errorf("decode %s answer: %w", refresh.APICacheTag, err)
	}
	return body.RefreshTaskId, nil
}

// spellings remembers, per API and object type, the spelling of ObjectType
// the API last accepted, so that after one refusal every later call is
// right first time. It is safe for concurrent use.
type spellings struct {
	mu      sync.Mutex
	working map[string]string // api|type -> spelling
}

// order returns the spellings to try for type t at api: the one that
// worked last first, then the others in refresh.ObjectTypeSpellings'
// order; [""] (send the type as it is) where there is one spelling.
func (s *spellings) order(api string, t refresh.ObjectType) []string {
	all := refresh.ObjectTypeSpellings(api, t)
	if len(all) == 0 {
		return []string{""}
	}
	s.mu.Lock()
	w := s.working[api+"|"+string(t)]
	s.mu.Unlock()
	if i := slices.Index(all, w); i > 0 {
		all = slices.Concat([]string{w}, all[:i], all[i+1:])
	}
	return all
}

// worked records that api accepted spelling for type t.
func (s *spellings) worked(api string, t refresh.ObjectType, spelling string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.working == nil {
		s.working = map[string]string{}
	}
	s.working[api+"|"+string(t)] = spelling
}

// quotaFields are the fields of a DescribeRefreshQuota answer, by kind:
// total and remaining.
var quotaFields = []struct {
	kind          refresh.QuotaKind
	total, remain string
}{
	{refresh.QuotaURL, "UrlQuota", "UrlRemain"},
	{refresh.QuotaDir, "DirQuota", "DirRemain"},
	{refresh.QuotaRegex, "RegexQuota", "RegexRemain"},
	{refresh.QuotaIgnoreParams, "IgnoreParamsQuota", "IgnoreParamsRemain"},
	{refresh.QuotaPreload, "PreloadQuota", "PreloadRemain"},
	{refresh.QuotaPreloadEdge, "PreloadEdgeQuota", "PreloadEdgeRemain"}, // CDN only
	{refresh.QuotaBlock, "BlockQuota", "BlockRemain"},
}

// Quota reads the daily quotas of provider (DescribeRefreshQuota or
// DescribeDcdnRefreshQuota): every kind the answer reports. It always asks
// the API; Remaining answers from a cache.
func (c *Client) Quota(ctx context.Context, provider refresh.Provider) (refresh.DailyQuota, error) {
	var fields map[string]string
	var api string
	var err error
	switch provider.OrDefault() {
	case refresh.CDN:
		api = refresh.APIQuota
		err = c.do(ctx, api, nil, func(e sdkEnv) error {
			cl, err := e.cdn()
			if err != nil {
				return err
			}
			r, err := doAction(cl, cdn.CreateDescribeRefreshQuotaRequest(), cdn.CreateDescribeRefreshQuotaResponse())
			if err != nil {
				return err
			}
			fields = map[string]string{
				"UrlQuota": r.UrlQuota, "UrlRemain": r.UrlRemain, "DirQuota": r.DirQuota, "DirRemain": r.DirRemain,
				"RegexQuota": r.RegexQuota, "RegexRemain": r.RegexRemain,
				"IgnoreParamsQuota": r.IgnoreParamsQuota, "IgnoreParamsRemain": r.IgnoreParamsRemain,
				"PreloadQuota": r.PreloadQuota, "PreloadRemain": r.PreloadRemain,
				"PreloadEdgeQuota": r.PreloadEdgeQuota, "PreloadEdgeRemain": r.PreloadEdgeRemain,
				"BlockQuota": r.BlockQuota, "BlockRemain": r.BlockRemain,
			}
			return nil
		})
	case refresh.DCDN:
		api = refresh.APIQuotaDCDN
		err = c.do(ctx, api, nil, func(e sdkEnv) error {
			cl, err := e.dcdn()
			if err != nil {
				return err
			}
			r, err := doAction(cl, dcdn.CreateDescribeDcdnRefreshQuotaRequest(), dcdn.CreateDescribeDcdnRefreshQuotaResponse())
			if err != nil {
				return err
			}
			fields = map[string]string{
				"UrlQuota": r.UrlQuota, "UrlRemain": r.UrlRemain, "DirQuota": r.DirQuota, "DirRemain": r.DirRemain,
				"RegexQuota": r.RegexQuota, "RegexRemain": r.RegexRemain,
				"IgnoreParamsQuota": r.IgnoreParamsQuota, "IgnoreParamsRemain": r.IgnoreParamsRemain,
				"PreloadQuota": r.PreloadQuota, "PreloadRemain": r.PreloadRemain,
				"BlockQuota": r.BlockQuota, "BlockRemain": r.BlockRemain,
			}
			return nil
		})
	default:
		return nil, fmt.Errorf("alicdn: unknown provider %q", provider)
	}
	if err != nil {
		return nil, fmt.Errorf("read quota: %w", err)
	}
	q := refresh.DailyQuota{}
	var errs []error
	num := func(name string) (int, bool) {
		v := strings.TrimSpace(fields[name])
		if v == "" {
			return 0, false
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s = %q is not a whole number", name, v))
		}
		return n, true
	}
	for _, f := range quotaFields {
		total, ok1 := num(f.total)
		remain, ok2 := num(f.remain)
		if ok1 || ok2 {
			q[f.kind] = refresh.Allowance{Total: total, Remain: remain}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("alicdn: %s answer: %w", api, errors.Join(errs...))
	}
	return q, nil
}

func newTask(id, path, objectType, status, process, desc, created string) refresh.Task {
	t, _ := time.Parse(timeFormat, created) // zero when the API sends none
	return refresh.Task{ID: id, ObjectPath: path, ObjectType: objectType, Status: status, Process: process, Description: desc, Created: t}
}

// Tasks lists tasks of provider (DescribeRefreshTasks or
// DescribeDcdnRefreshTasks), newest first.
func (c *Client) Tasks(ctx context.Context, provider refresh.Provider, q refresh.TaskQuery) (refresh.TaskPage, error) {
	q.ObjectType = strings.ToLower(q.ObjectType)
	if q.ObjectType == "" && (q.Domain != "" || q.Status != "") {
		return refresh.TaskPage{}, errors.New("alicdn: task query by domain or status needs an object type (file, directory, regex or preload)")
	}
	if q.Page < 0 || q.PageSize < 0 {
		return refresh.TaskPage{}, fmt.Errorf("alicdn: task query page %d size %d: want positive numbers", q.Page, q.PageSize)
	}
	str := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(timeFormat)
	}
	num := func(n int) requests.Integer {
		if n == 0 {
			return ""
		}
		return requests.NewInteger(n)
	}
	var page refresh.TaskPage
	var api string
	var err error
	switch provider {
	case refresh.CDN, "":
		api = refresh.APITasks
		err = c.do(ctx, api, nil, func(e sdkEnv) error {
			cl, err := e.cdn()
			if err != nil {
				return err
			}
			req := cdn.CreateDescribeRefreshTasksRequest()
			req.TaskId, req.ObjectPath, req.ObjectType, req.DomainName, req.Status = q.TaskID, q.ObjectPath, q.ObjectType, q.Domain, q.Status
			req.StartTime, req.EndTime, req.PageNumber, req.PageSize = str(q.Start), str(q.End), num(q.Page), num(q.PageSize)
			r, err := doAction(cl, req, cdn.CreateDescribeRefreshTasksResponse())
			if err != nil {
				return err
			}
			page = refresh.TaskPage{Total: int(r.TotalCount), Page: int(r.PageNumber), PageSize: int(r.PageSize)}
			for _, t := range r.Tasks.CDNTask {
				page.Tasks = append(page.Tasks, newTask(t.TaskId, t.ObjectPath, t.ObjectType, t.Status, t.Process, t.Description, t.CreationTime))
			}
			return nil
		})
	case refresh.DCDN:
		api = refresh.APITasksDCDN
		err = c.do(ctx, api, nil, func(e sdkEnv) error {
			cl, err := e.dcdn()
			if err != nil {
				return err
			}
			req := dcdn.CreateDescribeDcdnRefreshTasksRequest()
			req.TaskId, req.ObjectPath, req.ObjectType, req.DomainName, req.Status = q.TaskID, q.ObjectPath, q.ObjectType, q.Domain, q.Status
			req.StartTime, req.EndTime, req.PageNumber, req.PageSize = str(q.Start), str(q.End), num(q.Page), num(q.PageSize)
			r, err := doAction(cl, req, dcdn.CreateDescribeDcdnRefreshTasksResponse())
			if err != nil {
				return err
			}
			page = refresh.TaskPage{Total: int(r.TotalCount), Page: int(r.PageNumber), PageSize: int(r.PageSize)}
			for _, t := range r.Tasks.Task {
				page.Tasks = append(page.Tasks, newTask(t.TaskId, t.ObjectPath, t.ObjectType, t.Status, t.Process, t.Description, t.CreationTime))
			}
			return nil
		})
	default:
		return refresh.TaskPage{}, fmt.Errorf("alicdn: unknown provider %q", provider)
	}
	if err != nil {
		return refresh.TaskPage{}, fmt.Errorf("list tasks: %w", err)
	}
	return page, nil
}

// TasksByID returns the task records of ids (DescribeRefreshTaskById or
// DescribeDcdnRefreshTaskById), asking at most ten ids per call. A comma
// list, as Submit returns, counts as several ids.
func (c *Client) TasksByID(ctx context.Context, provider refresh.Provider, ids []string) ([]refresh.Task, error) {
	var all []string
	for _, id := range ids {
		all = append(all, refresh.TaskIDs(id)...)
	}
	if provider != refresh.CDN && provider != refresh.DCDN && provider != "" {
		return nil, fmt.Errorf("alicdn: unknown provider %q", provider)
	}
	var out []refresh.Task
	for i := 0; i < len(all); i += maxTaskIDsPerCall {
		chunk := strings.Join(all[i:min(i+maxTaskIDsPerCall, len(all))], ",")
		var err error
		if provider == refresh.DCDN {
			err = c.do(ctx, refresh.APITaskByIDDCDN, nil, func(e sdkEnv) error {
				cl, err := e.dcdn()
				if err != nil {
					return err
				}
				req := dcdn.CreateDescribeDcdnRefreshTaskByIdRequest()
				req.TaskId = chunk
				r, err := doAction(cl, req, dcdn.CreateDescribeDcdnRefreshTaskByIdResponse())
				if err != nil {
					return err
				}
				for _, t := range r.Tasks {
					out = append(out, newTask(t.TaskId, t.ObjectPath, t.ObjectType, t.Status, t.Process, t.Description, t.CreationTime))
				}
				return nil
			})
		} else {
			err = c.do(ctx, refresh.APITaskByID, nil, func(e sdkEnv) error {
				cl, err := e.cdn()
				if err != nil {
					return err
				}
				req := cdn.CreateDescribeRefreshTaskByIdRequest()
				req.TaskId = chunk
				r, err := doAction(cl, req, cdn.CreateDescribeRefreshTaskByIdResponse())
				if err != nil {
					return err
				}
				for _, t := range r.Tasks {
					out = append(out, newTask(t.TaskId, t.ObjectPath, t.ObjectType, t.Status, t.Process, t.Description, t.CreationTime))
				}
				return nil
			})
		}
		if err != nil {
			return nil, fmt.Errorf("read tasks %s: %w", chunk, err)
		}
	}
	return out, nil
}

// refresh.PreloadDetail returns the per-URL outcome of a CDN prefetch task
// (DescribePreloadDetailById). The API is open only to accounts on an
// allow-list; others get a Rejected *APIError.
func (c *Client) PreloadDetail(ctx context.Context, taskID string) (refresh.PreloadDetail, error) {
	if _, err := strconv.ParseUint(taskID, 10, 64); err != nil {
		return refresh.PreloadDetail{}, fmt.Errorf("alicdn: preload task id %q is not a number", taskID)
	}
	var d refresh.PreloadDetail
	err := c.do(ctx, refresh.APIPreloadDetail, nil, func(e sdkEnv) error {
		cl, err := e.cdn()
		if err != nil {
			return err
		}
		req := cdn.CreateDescribePreloadDetailByIdRequest()
		req.TaskId = taskID
		r, err := doAction(cl, req, cdn.CreateDescribePreloadDetailByIdResponse())
		if err != nil {
			return err
		}
		d = refresh.PreloadDetail{Total: int(r.TotalCount)}
		for _, u := range r.UrlDetails {
			created, _ := time.Parse(timeFormat, u.CreationTime)
			ended, _ := time.Parse(timeFormat, u.EndTime)
			pd := refresh.PreloadDomain{TaskID: u.TaskId, Domain: u.Domain, Status: u.Status, Process: u.Process, RetCode: u.RetCode, Created: created, Ended: ended}
			for _, x := range u.Urls {
				pd.URLs = append(pd.URLs, refresh.PreloadURL{URL: x.Url, Success: x.Success, Description: x.Description})
			}
			d.Domains = append(d.Domains, pd)
		}
		return nil
	})
	if err != nil {
		return refresh.PreloadDetail{}, fmt.Errorf("read preload detail of task %s: %w", taskID, err)
	}
	return d, nil
}
