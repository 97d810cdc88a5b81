package cdn

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/responses"
	sdkcdn "github.com/aliyun/alibaba-cloud-sdk-go/services/cdn"
	sdkdcdn "github.com/aliyun/alibaba-cloud-sdk-go/services/dcdn"
	"github.com/google/go-cmp/cmp"
)

// These tests drive the emulator with the real v1 SDK to prove that the
// answers decode into the SDK's response types. They send the typed
// requests through the SDK's core client, whose DoAction is what each
// method of the services clients (cdn.Client.RefreshObjectCaches and the
// rest) runs, as alicdn does: a test binary that names cdn.Client links
// its hundreds of methods (a binary that looks methods up by reflection,
// as go-cmp does, keeps every exported method of the types it reaches),
// and is more than twice the size (42 MB instead of 18 MB).

// sdkClient returns the SDK's core client aimed at s, signing with secret.
func sdkClient(t *testing.T, s *Server, secret string) *sdk.Client {
	t.Helper()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	c, err := sdk.NewClientWithOptions("cn-hangzhou", sdk.NewConfig(), credentials.NewAccessKeyCredential(AccessKeyID, secret))
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = strings.TrimPrefix(ts.URL, "http://")
	return c
}

// do sends req on c and decodes the answer into resp, as the services
// client's method of req's API does.
func do[R responses.AcsResponse](c *sdk.Client, req requests.AcsRequest, resp R) (R, error) {
	return resp, c.DoAction(req, resp)
}

func TestSDKShapesCDN(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2025, 3, 1, 4, 0, 0, 0, time.UTC)}
	s := New(Options{Now: clk.Now, PreloadDetailAllowed: true, TaskDuration: time.Minute})
	c := sdkClient(t, s, AccessKeySecret)

	rq := sdkcdn.CreateRefreshObjectCachesRequest()
	rq.ObjectPath = "http://a.com/1\nhttp://a.com/2"
	rq.QueryParams["Force"] = "true"
	rr, err := do(c, rq, sdkcdn.CreateRefreshObjectCachesResponse())
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
	pr, err := do(c, pq, sdkcdn.CreatePushObjectCacheResponse())
	if err != nil {
		t.Fatalf("PushObjectCache: %v", err)
	}
	if n := len(strings.Split(pr.PushTaskId, ",")); n != 2 {
		t.Errorf("PushTaskId = %q, want two ids (one per domain)", pr.PushTaskId)
	}

	tr, err := do(c, sdkcdn.CreateDescribeRefreshTasksRequest(), sdkcdn.CreateDescribeRefreshTasksResponse())
	if err != nil {
		t.Fatalf("DescribeRefreshTasks: %v", err)
	}
	if tr.TotalCount != 4 || tr.PageNumber != 1 || tr.PageSize != 20 || len(tr.Tasks.CDNTask) != 4 {
		t.Errorf("DescribeRefreshTasks = total %d page %d size %d tasks %d, want 4 1 20 4", tr.TotalCount, tr.PageNumber, tr.PageSize, len(tr.Tasks.CDNTask))
	}

	byID := sdkcdn.CreateDescribeRefreshTaskByIdRequest()
	byID.TaskId = rr.RefreshTaskId
	br, err := do(c, byID, sdkcdn.CreateDescribeRefreshTaskByIdResponse())
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

	qr, err := do(c, sdkcdn.CreateDescribeRefreshQuotaRequest(), sdkcdn.CreateDescribeRefreshQuotaResponse())
	if err != nil {
		t.Fatalf("DescribeRefreshQuota: %v", err)
	}
	if qr.UrlRemain != "9998" || qr.PreloadRemain != "998" || qr.PreloadEdgeQuota != "20" {
		t.Errorf("DescribeRefreshQuota = %+v", qr)
	}

	clk.Advance(time.Minute)
	dq := sdkcdn.CreateDescribePreloadDetailByIdRequest()
	dq.TaskId = strings.Split(pr.PushTaskId, ",")[0]
	dr, err := do(c, dq, sdkcdn.CreateDescribePreloadDetailByIdResponse())
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
	d := sdkClient(t, s, AccessKeySecret)

	rq := sdkdcdn.CreateRefreshDcdnObjectCachesRequest()
	rq.ObjectPath = "http://a.com/d/"
	rq.ObjectType = "Directory"
	rq.Force = requests.NewBoolean(true)
	rr, err := do(d, rq, sdkdcdn.CreateRefreshDcdnObjectCachesResponse())
	if err != nil {
		t.Fatalf("RefreshDcdnObjectCaches: %v", err)
	}
	pq := sdkdcdn.CreatePreloadDcdnObjectCachesRequest()
	pq.ObjectPath = "http://a.com/p"
	pr, err := do(d, pq, sdkdcdn.CreatePreloadDcdnObjectCachesResponse())
	if err != nil || pr.PreloadTaskId == "" {
		t.Fatalf("PreloadDcdnObjectCaches = %+v, %v", pr, err)
	}
	tq := sdkdcdn.CreateRefreshDcdnObjectCacheByCacheTagRequest()
	tq.DomainName, tq.CacheTag = "a.com", "x,y"
	if _, err := do(d, tq, sdkdcdn.CreateRefreshDcdnObjectCacheByCacheTagResponse()); err != nil {
		t.Fatalf("RefreshDcdnObjectCacheByCacheTag: %v", err)
	}
	eq := sdkdcdn.CreateRefreshErObjectCachesRequest()
	eq.ObjectPath, eq.ObjectType = "http://a.com/er", "File"
	if _, err := do(d, eq, sdkdcdn.CreateRefreshErObjectCachesResponse()); err != nil {
		t.Fatalf("RefreshErObjectCaches: %v", err)
	}

	lq := sdkdcdn.CreateDescribeDcdnRefreshTasksRequest()
	lq.ObjectType = "directory"
	lq.DomainName = "a.com"
	lr, err := do(d, lq, sdkdcdn.CreateDescribeDcdnRefreshTasksResponse())
	if err != nil {
		t.Fatalf("DescribeDcdnRefreshTasks: %v", err)
	}
	wantTasks := []sdkdcdn.Task{{TaskId: rr.RefreshTaskId, ObjectPath: "http://a.com/d/", ObjectType: "directory", Status: "Complete", Process: "100%", CreationTime: lr.Tasks.Task[0].CreationTime}}
	if diff := cmp.Diff(wantTasks, lr.Tasks.Task); diff != "" {
		t.Errorf("DescribeDcdnRefreshTasks mismatch (-want +got):\n%s", diff)
	}
	bq := sdkdcdn.CreateDescribeDcdnRefreshTaskByIdRequest()
	bq.TaskId = pr.PreloadTaskId
	br, err := do(d, bq, sdkdcdn.CreateDescribeDcdnRefreshTaskByIdResponse())
	if err != nil || len(br.Tasks) != 1 || br.Tasks[0].ObjectType != "preload" {
		t.Errorf("DescribeDcdnRefreshTaskById = %+v, %v", br, err)
	}
	qr, err := do(d, sdkdcdn.CreateDescribeDcdnRefreshQuotaRequest(), sdkdcdn.CreateDescribeDcdnRefreshQuotaResponse())
	// One directory and two cache tags, which count as directories.
	if err != nil || qr.DirRemain != "97" || qr.UrlRemain != "9999" {
		t.Errorf("DescribeDcdnRefreshQuota = %+v, %v", qr, err)
	}
}

func TestSDKWrongSecret(t *testing.T) {
	t.Parallel()
	c := sdkClient(t, New(Options{}), "not-the-secret")
	_, err := do(c, sdkcdn.CreateDescribeRefreshQuotaRequest(), sdkcdn.CreateDescribeRefreshQuotaResponse())
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
