package cdn

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	sdkcdn "github.com/aliyun/alibaba-cloud-sdk-go/services/cdn"
	sdkdcdn "github.com/aliyun/alibaba-cloud-sdk-go/services/dcdn"
	"github.com/google/go-cmp/cmp"
)

// These tests drive the emulator with the real v1 SDK clients to prove
// that the answers decode into the SDK's response types.

// warmEndpoints fills the SDK's endpoint maps once: the SDK fills them
// lazily, without a lock, on every NewClientWithOptions, so parallel tests
// building clients would race on them. (alicdn does not read them: it
// sends the typed requests through the core client with its Domain set.)
var warmEndpoints = sync.OnceFunc(func() {
	sdkcdn.GetEndpointMap()
	sdkdcdn.GetEndpointMap()
})

func sdkClients(t *testing.T, s *Server, secret string) (*sdkcdn.Client, *sdkdcdn.Client) {
	t.Helper()
	warmEndpoints()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	host := strings.TrimPrefix(ts.URL, "http://")
	cred := credentials.NewAccessKeyCredential(AccessKeyID, secret)
	c, err := sdkcdn.NewClientWithOptions("cn-hangzhou", sdk.NewConfig(), cred)
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = host
	d, err := sdkdcdn.NewClientWithOptions("cn-hangzhou", sdk.NewConfig(), cred)
	if err != nil {
		t.Fatal(err)
	}
	d.Domain = host
	return c, d
}

func TestSDKShapesCDN(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2025, 3, 1, 4, 0, 0, 0, time.UTC)}
	s := New(Options{Now: clk.Now, PreloadDetailAllowed: true, TaskDuration: time.Minute})
	c, _ := sdkClients(t, s, AccessKeySecret)

	rq := sdkcdn.CreateRefreshObjectCachesRequest()
	rq.ObjectPath = "http://a.com/1\nhttp://a.com/2"
	rq.QueryParams["Force"] = "true"
	rr, err := c.RefreshObjectCaches(rq)
	if err != nil {
		t.Fatalf("RefreshObjectCaches: %v", err)
	}
	if rr.RefreshTaskId == "" || rr.RequestId == "" {
		t.Errorf("RefreshObjectCaches answer = %+v, want task and request ids", rr)
	}
	if calls := s.Calls(); len(calls) != 1 || !calls[0].Force || calls[0].Method != "POST" {
		t.Errorf("Calls() = %+v, want one forced POST", calls)
	}

	pq := sdkcdn.CreatePushObjectCacheRequest()
	pq.ObjectPath = "http://a.com/p1\nhttp://b.com/p2"
	pq.WithHeader = `{"Accept-Encoding":["gzip"]}`
	pr, err := c.PushObjectCache(pq)
	if err != nil {
		t.Fatalf("PushObjectCache: %v", err)
	}
	if n := len(strings.Split(pr.PushTaskId, ",")); n != 2 {
		t.Errorf("PushTaskId = %q, want two ids (one per domain)", pr.PushTaskId)
	}

	tr, err := c.DescribeRefreshTasks(sdkcdn.CreateDescribeRefreshTasksRequest())
	if err != nil {
		t.Fatalf("DescribeRefreshTasks: %v", err)
	}
	if tr.TotalCount != 4 || tr.PageNumber != 1 || tr.PageSize != 20 || len(tr.Tasks.CDNTask) != 4 {
		t.Errorf("DescribeRefreshTasks = total %d page %d size %d tasks %d, want 4 1 20 4", tr.TotalCount, tr.PageNumber, tr.PageSize, len(tr.Tasks.CDNTask))
	}

	byID := sdkcdn.CreateDescribeRefreshTaskByIdRequest()
	byID.TaskId = rr.RefreshTaskId
	br, err := c.DescribeRefreshTaskById(byID)
	if err != nil {
		t.Fatalf("DescribeRefreshTaskById: %v", err)
	}
	want := []sdkcdn.CDNTask{
		{TaskId: rr.RefreshTaskId, ObjectPath: "http://a.com/1", ObjectType: "file", Status: "Pending", Process: "0%", CreationTime: "2025-03-01T04:00:00Z"},
		{TaskId: rr.RefreshTaskId, ObjectPath: "http://a.com/2", ObjectType: "file", Status: "Pending", Process: "0%", CreationTime: "2025-03-01T04:00:00Z"},
	}
	if diff := cmp.Diff(want, br.Tasks); diff != "" || br.TotalCount != 2 {
		t.Errorf("DescribeRefreshTaskById total %d, tasks mismatch (-want +got):\n%s", br.TotalCount, diff)
	}

	qr, err := c.DescribeRefreshQuota(sdkcdn.CreateDescribeRefreshQuotaRequest())
	if err != nil {
		t.Fatalf("DescribeRefreshQuota: %v", err)
	}
	if qr.UrlRemain != "9998" || qr.PreloadRemain != "998" || qr.PreloadEdgeQuota != "20" {
		t.Errorf("DescribeRefreshQuota = %+v", qr)
	}

	clk.Advance(time.Minute)
	dq := sdkcdn.CreateDescribePreloadDetailByIdRequest()
	dq.TaskId = strings.Split(pr.PushTaskId, ",")[0]
	dr, err := c.DescribePreloadDetailById(dq)
	if err != nil {
		t.Fatalf("DescribePreloadDetailById: %v", err)
	}
	wantDetail := []sdkcdn.UrlDetail{{
		TaskId: dq.TaskId, Domain: "a.com", CreationTime: "2025-03-01T04:00:00Z", EndTime: "2025-03-01T04:01:00Z",
		RetCode: "0", Process: "100%", Status: "Complete",
		Urls: []sdkcdn.Url{{Url: "/p1", Success: "100%", Description: "Successfully preloaded"}},
	}}
	if diff := cmp.Diff(wantDetail, dr.UrlDetails); diff != "" {
		t.Errorf("DescribePreloadDetailById mismatch (-want +got):\n%s", diff)
	}

	// An untyped action through CommonRequest, GET as its default.
	cr := requests.NewCommonRequest()
	cr.Version, cr.ApiName, cr.Product = CDNVersion, "RefreshObjectCacheByCacheTag", "Cdn"
	cr.QueryParams["DomainName"] = "a.com"
	cr.QueryParams["CacheTag"] = "t1"
	resp, err := c.ProcessCommonRequest(cr)
	if err != nil {
		t.Fatalf("RefreshObjectCacheByCacheTag: %v", err)
	}
	var body struct{ RefreshTaskId string }
	if err := json.Unmarshal(resp.GetHttpContentBytes(), &body); err != nil || body.RefreshTaskId == "" {
		t.Errorf("RefreshObjectCacheByCacheTag body %s: %v", resp.GetHttpContentString(), err)
	}
}

func TestSDKShapesDCDN(t *testing.T) {
	t.Parallel()
	s := New(Options{TaskDuration: -1})
	_, d := sdkClients(t, s, AccessKeySecret)

	rq := sdkdcdn.CreateRefreshDcdnObjectCachesRequest()
	rq.ObjectPath = "http://a.com/d/"
	rq.ObjectType = "Directory"
	rq.Force = requests.NewBoolean(true)
	rr, err := d.RefreshDcdnObjectCaches(rq)
	if err != nil {
		t.Fatalf("RefreshDcdnObjectCaches: %v", err)
	}
	pq := sdkdcdn.CreatePreloadDcdnObjectCachesRequest()
	pq.ObjectPath = "http://a.com/p"
	pr, err := d.PreloadDcdnObjectCaches(pq)
	if err != nil || pr.PreloadTaskId == "" {
		t.Fatalf("PreloadDcdnObjectCaches = %+v, %v", pr, err)
	}
	tq := sdkdcdn.CreateRefreshDcdnObjectCacheByCacheTagRequest()
	tq.DomainName, tq.CacheTag = "a.com", "x,y"
	if _, err := d.RefreshDcdnObjectCacheByCacheTag(tq); err != nil {
		t.Fatalf("RefreshDcdnObjectCacheByCacheTag: %v", err)
	}
	eq := sdkdcdn.CreateRefreshErObjectCachesRequest()
	eq.ObjectPath, eq.ObjectType = "http://a.com/er", "File"
	if _, err := d.RefreshErObjectCaches(eq); err != nil {
		t.Fatalf("RefreshErObjectCaches: %v", err)
	}

	lq := sdkdcdn.CreateDescribeDcdnRefreshTasksRequest()
	lq.ObjectType = "directory"
	lq.DomainName = "a.com"
	lr, err := d.DescribeDcdnRefreshTasks(lq)
	if err != nil {
		t.Fatalf("DescribeDcdnRefreshTasks: %v", err)
	}
	wantTasks := []sdkdcdn.Task{{TaskId: rr.RefreshTaskId, ObjectPath: "http://a.com/d/", ObjectType: "directory", Status: "Complete", Process: "100%", CreationTime: lr.Tasks.Task[0].CreationTime}}
	if diff := cmp.Diff(wantTasks, lr.Tasks.Task); diff != "" {
		t.Errorf("DescribeDcdnRefreshTasks mismatch (-want +got):\n%s", diff)
	}
	bq := sdkdcdn.CreateDescribeDcdnRefreshTaskByIdRequest()
	bq.TaskId = pr.PreloadTaskId
	br, err := d.DescribeDcdnRefreshTaskById(bq)
	if err != nil || len(br.Tasks) != 1 || br.Tasks[0].ObjectType != "preload" {
		t.Errorf("DescribeDcdnRefreshTaskById = %+v, %v", br, err)
	}
	qr, err := d.DescribeDcdnRefreshQuota(sdkdcdn.CreateDescribeDcdnRefreshQuotaRequest())
	// One directory and two cache tags, which count as directories.
	if err != nil || qr.DirRemain != "97" || qr.UrlRemain != "9999" {
		t.Errorf("DescribeDcdnRefreshQuota = %+v, %v", qr, err)
	}
}

func TestSDKWrongSecret(t *testing.T) {
	t.Parallel()
	c, _ := sdkClients(t, New(Options{}), "not-the-secret")
	_, err := c.DescribeRefreshQuota(sdkcdn.CreateDescribeRefreshQuotaRequest())
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a ServerError", err)
	}
	if se.HttpStatus() != 400 || se.ErrorCode() != "SignatureDoesNotMatch" {
		t.Errorf("ServerError = %d %s, want 400 SignatureDoesNotMatch", se.HttpStatus(), se.ErrorCode())
	}
	// The SDK compares the quoted string to sign with its own: equal means
	// the secret, not the canonicalisation, is wrong.
	if !strings.Contains(se.Recommend(), "InvalidAccessKeySecret") {
		t.Errorf("Recommend = %q, want the SDK's InvalidAccessKeySecret hint", se.Recommend())
	}
}
