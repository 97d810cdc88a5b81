package alicdn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

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

// apiOf returns the action that carries out call, checking call.API when
// set.
func apiOf(call refresh.Call) (string, error) {
	if call.Action == "" {
		switch call.API {
		case refresh.APIRefresh, refresh.APIPush, refresh.APIRefreshDCDN, refresh.APIPreloadDCDN:
			return call.API, nil
		}
	}
	api := refresh.APIFor(call.Provider, call.Action)
	if api == "" {
		return "", fmt.Errorf("alicdn: no API for provider %q action %q", call.Provider, call.Action)
	}
	if call.API != "" && call.API != api {
		return "", fmt.Errorf("alicdn: call names API %s but provider %q action %q need %s", call.API, call.Provider, call.Action, api)
	}
	return api, nil
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

// Submit sends one refresh or prefetch call and returns the task id the
// API assigned (a comma-separated list when the URLs span domains). It
// waits on the limiter before every attempt and retries retryable errors
// with backoff within ctx. Errors are *APIError or *TransportError
// (possibly wrapped): ask them Rejected, Retryable, QuotaExhausted or
// ErrorCode.
func (c *Client) Submit(ctx context.Context, call refresh.Call) (string, error) {
	api, err := apiOf(call)
	if err != nil {
		return "", err
	}
	if len(call.URLs) == 0 {
		return "", fmt.Errorf("alicdn: %s: no URLs", api)
	}
	objectType := call.ObjectType
	if objectType == "" {
		objectType = refresh.File
	}
	switch objectType {
	case refresh.File, refresh.Directory, refresh.Regex, refresh.IgnoreParams:
	default:
		return "", fmt.Errorf("alicdn: %s: object type %q is not File, Directory, Regex or IgnoreParams", api, objectType)
	}
	paths := strings.Join(call.URLs, "\n")

	var id string
	err = c.do(ctx, api, URLsPerDomain(call.URLs), func(e sdkEnv) error {
		switch api {
		case refresh.APIRefresh:
			cl, err := e.cdn()
			if err != nil {
				return err
			}
			req := cdn.CreateRefreshObjectCachesRequest()
			req.ObjectPath, req.ObjectType = paths, string(objectType)
			if call.Force {
				req.QueryParams["Force"] = "true" // the typed request has no Force field
			}
			resp, err := cl.RefreshObjectCaches(req)
			if err != nil {
				return err
			}
			id = resp.RefreshTaskId
		case refresh.APIPush:
			cl, err := e.cdn()
			if err != nil {
				return err
			}
			req := cdn.CreatePushObjectCacheRequest()
			req.ObjectPath, req.Area, req.WithHeader = paths, call.Area, call.WithHeader
			if call.L2Preload {
				req.L2Preload = requests.NewBoolean(true)
			}
			resp, err := cl.PushObjectCache(req)
			if err != nil {
				return err
			}
			id = resp.PushTaskId
		case refresh.APIRefreshDCDN:
			cl, err := e.dcdn()
			if err != nil {
				return err
			}
			req := dcdn.CreateRefreshDcdnObjectCachesRequest()
			req.ObjectPath, req.ObjectType = paths, string(objectType)
			if call.Force {
				req.Force = requests.NewBoolean(true)
			}
			resp, err := cl.RefreshDcdnObjectCaches(req)
			if err != nil {
				return err
			}
			id = resp.RefreshTaskId
		case refresh.APIPreloadDCDN:
			cl, err := e.dcdn()
			if err != nil {
				return err
			}
			req := dcdn.CreatePreloadDcdnObjectCachesRequest()
			req.ObjectPath, req.Area, req.WithHeader = paths, call.Area, call.WithHeader
			if call.L2Preload {
				req.L2Preload = requests.NewBoolean(true)
			}
			resp, err := cl.PreloadDcdnObjectCaches(req)
			if err != nil {
				return err
			}
			id = resp.PreloadTaskId
		}
		return nil
	})
	if v, _ := refresh.FailureOf(err); err == nil || v == refresh.QuotaSpent {
		c.quotas.spend(call, err != nil)
	}
	if err != nil {
		return "", fmt.Errorf("submit %d URLs: %w", len(call.URLs), err)
	}
	return id, nil
}

// RefreshByCacheTag refreshes everything domain cached under any of tags
// and returns the task id. CDN has no typed SDK request for it, so it goes
// as a CommonRequest (POST).
func (c *Client) RefreshByCacheTag(ctx context.Context, provider refresh.Provider, domain string, tags []string, force bool) (string, error) {
	api := refresh.APICacheTag
	if provider == refresh.DCDN {
		api = refresh.APICacheTagDCDN
	} else if provider != refresh.CDN && provider != "" {
		return "", fmt.Errorf("alicdn: unknown provider %q", provider)
	}
	if domain == "" {
		return "", fmt.Errorf("alicdn: %s: no domain", api)
	}
	if len(tags) == 0 {
		return "", fmt.Errorf("alicdn: %s: no cache tags", api)
	}
	for _, t := range tags {
		if t == "" || strings.Contains(t, ",") {
			return "", fmt.Errorf("alicdn: %s: cache tag %q is empty or has a comma", api, t)
		}
	}
	joined := strings.Join(tags, ",")

	var id string
	err := c.do(ctx, api, nil, func(e sdkEnv) error {
		if provider == refresh.DCDN {
			cl, err := e.dcdn()
			if err != nil {
				return err
			}
			req := dcdn.CreateRefreshDcdnObjectCacheByCacheTagRequest()
			req.DomainName, req.CacheTag = domain, joined
			if force {
				req.Force = requests.NewBoolean(true)
			}
			resp, err := cl.RefreshDcdnObjectCacheByCacheTag(req)
			if err != nil {
				return err
			}
			id = resp.RefreshTaskId
			return nil
		}
		cl, err := e.cdn()
		if err != nil {
			return err
		}
		req := requests.NewCommonRequest()
		req.Method = requests.POST // CommonRequest defaults to GET
		req.Product, req.Version, req.ApiName = "Cdn", CDNVersion, refresh.APICacheTag
		req.QueryParams["DomainName"] = domain
		req.QueryParams["CacheTag"] = joined
		if force {
			req.QueryParams["Force"] = "true"
		}
		resp, err := cl.ProcessCommonRequest(req)
		if err != nil {
			return err
		}
		var body struct{ RefreshTaskId string }
		if err := json.Unmarshal(resp.GetHttpContentBytes(), &body); err != nil {
			return fmt.Errorf("decode %s answer: %w", refresh.APICacheTag, err)
		}
		id = body.RefreshTaskId
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("refresh %d cache tags of %s: %w", len(tags), domain, err)
	}
	return id, nil
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
			r, err := cl.DescribeRefreshQuota(cdn.CreateDescribeRefreshQuotaRequest())
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
			r, err := cl.DescribeDcdnRefreshQuota(dcdn.CreateDescribeDcdnRefreshQuotaRequest())
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
			r, err := cl.DescribeRefreshTasks(req)
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
			r, err := cl.DescribeDcdnRefreshTasks(req)
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
		for _, part := range strings.Split(id, ",") {
			if part = strings.TrimSpace(part); part != "" {
				all = append(all, part)
			}
		}
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
				r, err := cl.DescribeDcdnRefreshTaskById(req)
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
				r, err := cl.DescribeRefreshTaskById(req)
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
		r, err := cl.DescribePreloadDetailById(req)
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
