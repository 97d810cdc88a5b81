package cdn

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/utils"
	sdkcdn "github.com/aliyun/alibaba-cloud-sdk-go/services/cdn"
	"github.com/google/go-cmp/cmp"
)

// clock is a settable fake time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is an emulator on a fake clock behind an httptest server.
type env struct {
	t     *testing.T
	srv   *Server
	ts    *httptest.Server
	clock *clock
	nonce int
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	c := &clock{t: time.Date(2025, 3, 1, 4, 0, 0, 0, time.UTC)}
	if opts.Now == nil {
		opts.Now = c.Now
	}
	e := &env{t: t, clock: c, srv: New(opts)}
	e.ts = httptest.NewServer(e.srv)
	t.Cleanup(e.ts.Close)
	return e
}

// signed returns the common parameters plus params, signed with secret.
func (e *env) signed(method, keyID, secret string, params map[string]string) url.Values {
	e.nonce++
	v := url.Values{
		"Format":           {"JSON"},
		"SignatureMethod":  {"HMAC-SHA1"},
		"SignatureVersion": {"1.0"},
		"SignatureType":    {""},
		"SignatureNonce":   {fmt.Sprintf("nonce-%d", e.nonce)},
		"Timestamp":        {time.Now().UTC().Format("2006-01-02T15:04:05Z")},
		"AccessKeyId":      {keyID},
		"RegionId":         {"cn-hangzhou"},
	}
	if a, ok := actions[params["Action"]]; ok {
		v.Set("Version", a.product.version)
	}
	for k, val := range params {
		if val == "<absent>" {
			v.Del(k)
			continue
		}
		v.Set(k, val)
	}
	v.Set("Signature", Sign(secret, StringToSign(method, v)))
	if params["Signature"] == "<absent>" {
		v.Del("Signature")
	}
	return v
}

// reply is a decoded answer.
type reply struct {
	status int
	body   map[string]any
}

func (r reply) code() string { s, _ := r.body["Code"].(string); return s }

func (e *env) send(method string, query url.Values, form url.Values) reply {
	e.t.Helper()
	u := e.ts.URL + "/?" + query.Encode()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		e.t.Fatalf("decode answer: %v", err)
	}
	return reply{status: resp.StatusCode, body: m}
}

// call sends a correctly signed POST with params in the query string.
func (e *env) call(params map[string]string) reply {
	e.t.Helper()
	return e.send("POST", e.signed("POST", AccessKeyID, AccessKeySecret, params), nil)
}

func wantOK(t *testing.T, r reply) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %v", r.status, r.body)
	}
}

func urls(n int, format string) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf(format, i)
	}
	return strings.Join(s, "\n")
}

func TestStringToSignMatchesSDK(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params map[string]string
	}{
		{"plain", map[string]string{"ObjectPath": "http://example.com/a.txt"}},
		{"spaces star tilde", map[string]string{"ObjectPath": "http://example.com/a b*c~d.txt", "ObjectType": "File"}},
		{"newlines and unicode", map[string]string{"ObjectPath": "http://example.com/中文.png\r\nhttp://example.com/%E4%B8%AD", "Force": "true"}},
		{"json header", map[string]string{"WithHeader": `{"Accept-Encoding":["gzip"]}`, "Area": "domestic"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := sdkcdn.CreateRefreshObjectCachesRequest()
			for k, v := range tt.params {
				req.QueryParams[k] = v
			}
			if err := requests.InitParams(req); err != nil {
				t.Fatal(err)
			}
			prov := credentials.NewStaticSTSCredentialsProvider("id", "secret", "token+/=")
			if err := auth.Sign(req, nil, "cn-hangzhou", prov); err != nil {
				t.Fatal(err)
			}
			params := url.Values{}
			for k, v := range req.GetQueryParams() {
				params.Set(k, v)
			}
			got := StringToSign(req.GetMethod(), params)
			if got != req.GetStringToSign() {
				t.Errorf("StringToSign = %q, want the SDK's %q", got, req.GetStringToSign())
			}
			if sig := Sign("secret", got); sig != params.Get("Signature") {
				t.Errorf("Sign = %q, want the SDK's %q", sig, params.Get("Signature"))
			}
			if want := utils.ShaHmac1(got, "secret&"); Sign("secret", got) != want {
				t.Errorf("Sign = %q, want %q", Sign("secret", got), want)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Keys: map[string]string{"k1": "s1", "k2": "s2"}})
	quota := map[string]string{"Action": "DescribeRefreshQuota"}
	tests := []struct {
		name       string
		method     string
		keyID      string
		secret     string
		params     map[string]string
		inForm     bool
		wantStatus int
		wantCode   string
	}{
		{"query POST", "POST", "k1", "s1", quota, false, 200, ""},
		{"GET", "GET", "k2", "s2", quota, false, 200, ""},
		{"form body", "POST", "k1", "s1", map[string]string{"Action": "DescribeRefreshTaskById", "TaskId": "1"}, true, 200, ""},
		{"STS token", "POST", "k1", "s1", map[string]string{"Action": "DescribeRefreshQuota", "SecurityToken": "CAIS+token/=="}, false, 200, ""},
		{"wrong secret", "POST", "k1", "s2", quota, false, 400, "SignatureDoesNotMatch"},
		{"unknown key", "POST", "nobody", "s1", quota, false, 404, "InvalidAccessKeyId.NotFound"},
		{"no signature", "POST", "k1", "s1", map[string]string{"Action": "DescribeRefreshQuota", "Signature": "<absent>"}, false, 400, "MissingParameter"},
		{"no nonce", "POST", "k1", "s1", map[string]string{"Action": "DescribeRefreshQuota", "SignatureNonce": "<absent>"}, false, 400, "MissingParameter"},
		{"no action", "POST", "k1", "s1", map[string]string{"Action": "<absent>"}, false, 400, "MissingParameter"},
		{"sha256", "POST", "k1", "s1", map[string]string{"Action": "DescribeRefreshQuota", "SignatureMethod": "HMAC-SHA256"}, false, 400, "IncompleteSignature"},
		{"bad timestamp", "POST", "k1", "s1", map[string]string{"Action": "DescribeRefreshQuota", "Timestamp": "2025-03-01 04:00:00"}, false, 400, "InvalidTimeStamp.Format"},
		{"unknown action", "POST", "k1", "s1", map[string]string{"Action": "DescribeEverything", "Version": CDNVersion}, false, 404, "InvalidAction.NotFound"},
		{"wrong version", "POST", "k1", "s1", map[string]string{"Action": "RefreshDcdnObjectCaches", "Version": CDNVersion, "ObjectPath": "http://a.com/x"}, false, 400, "InvalidVersion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := e.signed(tt.method, tt.keyID, tt.secret, tt.params)
			var r reply
			if tt.inForm {
				query, form := url.Values{}, url.Values{}
				for k, vals := range v {
					if k == "Action" || k == "Signature" || k == "AccessKeyId" {
						query[k] = vals
					} else {
						form[k] = vals
					}
				}
				r = e.send(tt.method, query, form)
			} else {
				r = e.send(tt.method, v, nil)
			}
			if r.status != tt.wantStatus || r.code() != tt.wantCode {
				t.Fatalf("%s: status %d code %q, want %d %q; body %v", tt.name, r.status, r.code(), tt.wantStatus, tt.wantCode, r.body)
			}
			if tt.wantCode != "" {
				for _, k := range []string{"RequestId", "HostId", "Code", "Message", "Recommend"} {
					if _, ok := r.body[k]; !ok {
						t.Errorf("error body lacks %s: %v", k, r.body)
					}
				}
			}
		})
	}

	t.Run("mismatch quotes string to sign", func(t *testing.T) {
		v := e.signed("POST", "k1", "wrong", quota)
		r := e.send("POST", v, nil)
		want := "server string to sign is:" + StringToSign("POST", v)
		if msg, _ := r.body["Message"].(string); !strings.HasSuffix(msg, want) {
			t.Errorf("Message = %q, want it to end with %q", msg, want)
		}
	})
	t.Run("nonce replay", func(t *testing.T) {
		v := e.signed("POST", "k1", "s1", quota)
		wantOK(t, e.send("POST", v, nil))
		if r := e.send("POST", v, nil); r.code() != "SignatureNonceUsed" {
			t.Errorf("replay: code %q, want SignatureNonceUsed", r.code())
		}
	})
	if st := e.srv.Stats(); st.STS != 1 {
		t.Errorf("Stats().STS = %d, want 1", st.STS)
	}
}

func TestClockSkew(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{MaxClockSkew: 15 * time.Minute}) // fake clock is in 2025, requests carry real time
	if r := e.call(map[string]string{"Action": "DescribeRefreshQuota"}); r.code() != "InvalidTimeStamp.Expired" {
		t.Errorf("code %q, want InvalidTimeStamp.Expired", r.code())
	}
}

func TestRefreshLimits(t *testing.T) {
	t.Parallel()
	long := "http://example.com/" + strings.Repeat("a", 1024-len("http://example.com/")+1)
	tests := []struct {
		name       string
		opts       Options
		params     map[string]string
		wantStatus int
		wantCode   string
	}{
		{"1000 URLs", Options{}, map[string]string{"ObjectPath": urls(1000, "http://example.com/%d")}, 200, ""},
		{"1001 URLs", Options{}, map[string]string{"ObjectPath": urls(1001, "http://example.com/%d")}, 400, "SingleRequest.OverLimit"},
		{"100 dirs", Options{}, map[string]string{"ObjectType": "Directory", "ObjectPath": urls(100, "http://example.com/%d/")}, 200, ""},
		{"101 dirs", Options{}, map[string]string{"ObjectType": "Directory", "ObjectPath": urls(101, "http://example.com/%d/")}, 400, "SingleRequest.OverLimit"},
		{"2 regexes", Options{}, map[string]string{"ObjectType": "Regex", "ObjectPath": "http://example.com/a/.*\nhttp://example.com/b/.*"}, 400, "InvalidObjectPath.Size.Malformed"},
		{"1 regex", Options{}, map[string]string{"ObjectType": "Regex", "ObjectPath": `http://example.com/img/.*\.jpg`}, 200, ""},
		{"10 domains", Options{}, map[string]string{"ObjectPath": urls(10, "http://d%d.example.com/x")}, 200, ""},
		{"11 domains", Options{}, map[string]string{"ObjectPath": urls(11, "http://d%d.example.com/x")}, 400, "SingleRequest.OverLimit"},
		{"1024 chars", Options{}, map[string]string{"ObjectPath": long[:1024]}, 200, ""},
		{"1025 chars", Options{}, map[string]string{"ObjectPath": long}, 400, "InvalidObjectPath.Malformed"},
		{"scheme-less path", Options{}, map[string]string{"ObjectPath": "example.com/a.txt"}, 200, ""},
		{"no domain", Options{}, map[string]string{"ObjectPath": "/a.txt"}, 400, "InvalidObjectPath.Malformed"},
		{"scheme-less host without dot", Options{}, map[string]string{"ObjectPath": "localhost/a.txt"}, 400, "InvalidObjectPath.Malformed"},
		{"host without dot", Options{}, map[string]string{"ObjectPath": "http://localhost/a.txt"}, 200, ""},
		{"bad port", Options{}, map[string]string{"ObjectPath": "http://example.com:http/a.txt"}, 400, "InvalidObjectPath.Malformed"},
		{"ftp", Options{}, map[string]string{"ObjectPath": "ftp://example.com/a.txt"}, 400, "InvalidObjectPath.Malformed"},
		{"no host", Options{}, map[string]string{"ObjectPath": "http:///a.txt"}, 400, "InvalidObjectPath.Malformed"},
		{"raw space", Options{}, map[string]string{"ObjectPath": "http://example.com/a b.txt"}, 400, "InvalidObjectPath.Malformed"},
		{"CRLF separated", Options{}, map[string]string{"ObjectPath": "http://example.com/a\r\nhttp://example.com/b"}, 200, ""},
		{"directory without slash", Options{}, map[string]string{"ObjectType": "Directory", "ObjectPath": "http://example.com/dir"}, 400, "InvalidObjectPath.Malformed"},
		{"wildcard domain", Options{}, map[string]string{"ObjectPath": "http://*.example.com/a"}, 400, "InvalidExtensiveDomain.ValueNotSupported"},
		{"bad object type", Options{}, map[string]string{"ObjectType": "file", "ObjectPath": "http://example.com/a"}, 400, "InvalidObjectType.Malformed"},
		{"force on a file", Options{}, map[string]string{"Force": "true", "ObjectPath": "http://example.com/a"}, 200, ""},
		{"IgnoreParams quota", Options{IgnoreParamsQuota: 1}, map[string]string{"ObjectType": "IgnoreParams", "ObjectPath": urls(2, "http://example.com/%d")}, 400, "QuotaExceeded.Refresh"},
		{"IgnoreParams per minute", Options{DomainURLsPerMinute: 1}, map[string]string{"ObjectType": "IgnoreParams", "ObjectPath": urls(2, "http://example.com/%d")}, 400, "QuotaPerMinuteExceeded.Refresh"},
		{"suspended", Options{Suspended: true}, map[string]string{"ObjectPath": "http://example.com/a"}, 403, "OperationDenied"},
		{"offline", Options{DomainStatus: map[string]string{"Example.com": DomainOffline}}, map[string]string{"ObjectPath": "http://example.com/a"}, 404, "InvalidDomain.Offline"},
		{"configuring", Options{DomainStatus: map[string]string{"example.com": DomainConfiguring}}, map[string]string{"ObjectPath": "http://example.com/a"}, 403, "ServiceBusy"},
		{"illegal", Options{DomainStatus: map[string]string{"example.com": DomainIllegal}}, map[string]string{"ObjectPath": "http://example.com/a"}, 403, "IllegalOperation"},
		{"refresh queue", Options{DomainRefreshQueue: 2}, map[string]string{"ObjectPath": urls(3, "http://example.com/%d")}, 400, "TooMany.Refresh"},
		{"bad force", Options{}, map[string]string{"Force": "yes", "ObjectPath": "http://example.com/a"}, 400, "InvalidParameter"},
		{"no object path", Options{}, map[string]string{}, 400, "MissingParameter"},
		{"not your domain", Options{Domains: []string{"example.com"}}, map[string]string{"ObjectPath": "http://other.com/a"}, 404, "InvalidDomain.NotFound"},
		{"your domain", Options{Domains: []string{"Example.com"}}, map[string]string{"ObjectPath": "https://EXAMPLE.com:443/a"}, 200, ""},
		{"URL quota exhausted", Options{URLQuota: 2}, map[string]string{"ObjectPath": urls(3, "http://example.com/%d")}, 400, "QuotaExceeded.Refresh"},
		{"dir quota exhausted", Options{DirQuota: -1}, map[string]string{"ObjectType": "Directory", "ObjectPath": "http://example.com/d/"}, 400, "QuotaExceeded.Refresh"},
		{"per minute", Options{DomainURLsPerMinute: 5}, map[string]string{"ObjectPath": urls(6, "http://example.com/%d")}, 400, "QuotaPerMinuteExceeded.Refresh"},
		{"per minute off", Options{DomainURLsPerMinute: -1}, map[string]string{"ObjectPath": urls(1000, "http://example.com/%d")}, 200, ""},
	}
	for _, action := range []string{"RefreshObjectCaches", "RefreshDcdnObjectCaches"} {
		for _, tt := range tests {
			t.Run(action+"/"+tt.name, func(t *testing.T) {
				e := newEnv(t, tt.opts)
				p := map[string]string{"Action": action}
				for k, v := range tt.params {
					p[k] = v
				}
				r := e.call(p)
				if r.status != tt.wantStatus || r.code() != tt.wantCode {
					t.Fatalf("status %d code %q, want %d %q; message %v", r.status, r.code(), tt.wantStatus, tt.wantCode, r.body["Message"])
				}
				if tt.wantCode != "" && len(e.srv.Calls()) != 0 {
					t.Errorf("refused call recorded: %+v", e.srv.Calls())
				}
			})
		}
	}
}

func TestPushLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       Options
		params     map[string]string
		wantStatus int
		wantCode   string
	}{
		{"100 URLs", Options{}, map[string]string{"ObjectPath": urls(100, "http://example.com/%d")}, 200, ""},
		{"101 URLs", Options{}, map[string]string{"ObjectPath": urls(101, "http://example.com/%d")}, 400, "SingleRequest.OverLimit"},
		{"header JSON", Options{}, map[string]string{"ObjectPath": "http://example.com/a", "WithHeader": `{"Accept-Encoding":["gzip"]}`}, 200, ""},
		{"header not JSON", Options{}, map[string]string{"ObjectPath": "http://example.com/a", "WithHeader": `Accept-Encoding: gzip`}, 400, "InvalidWithHeader.Malformed"},
		{"bad area", Options{}, map[string]string{"ObjectPath": "http://example.com/a", "Area": "mars"}, 400, "InvalidArea.ValueNotSupported"},
		{"wildcard", Options{}, map[string]string{"ObjectPath": "http://*.example.com/a"}, 400, "InvalidExtensiveDomain.ValueNotSupported"},
		{"quota", Options{PreloadQuota: 1}, map[string]string{"ObjectPath": urls(2, "http://example.com/%d")}, 400, "QuotaExceeded.Preload"},
	}
	for _, action := range []string{"PushObjectCache", "PreloadDcdnObjectCaches"} {
		for _, tt := range tests {
			t.Run(action+"/"+tt.name, func(t *testing.T) {
				e := newEnv(t, tt.opts)
				p := map[string]string{"Action": action}
				for k, v := range tt.params {
					p[k] = v
				}
				r := e.call(p)
				if r.status != tt.wantStatus || r.code() != tt.wantCode {
					t.Fatalf("status %d code %q, want %d %q; message %v", r.status, r.code(), tt.wantStatus, tt.wantCode, r.body["Message"])
				}
			})
		}
	}
}

func TestQuotaAccounting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{URLQuota: 10, DirQuota: 2})
	wantOK(t, e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectPath": urls(4, "http://example.com/%d")}))
	wantOK(t, e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectType": "Directory", "ObjectPath": "http://example.com/d/"}))
	wantOK(t, e.call(map[string]string{"Action": "PushObjectCache", "ObjectPath": "http://example.com/p"}))
	// Both spellings count against the IgnoreParams quota; a cache tag
	// against the directory quota.
	wantOK(t, e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectType": "ExQuery", "ObjectPath": "http://example.com/q"}))
	wantOK(t, e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectType": "IgnoreParams", "ObjectPath": "http://example.com/q"}))
	wantOK(t, e.call(map[string]string{"Action": "RefreshObjectCacheByCacheTag", "DomainName": "example.com", "CacheTag": "t1"}))
	// DCDN counts apart.
	wantOK(t, e.call(map[string]string{"Action": "RefreshDcdnObjectCaches", "ObjectPath": urls(10, "http://example.com/%d")}))

	quota := func(action string) map[string]any {
		r := e.call(map[string]string{"Action": action})
		wantOK(t, r)
		delete(r.body, "RequestId")
		return r.body
	}
	want := map[string]any{
		"UrlQuota": "10", "UrlRemain": "6", "DirQuota": "2", "DirRemain": "0",
		"RegexQuota": "20", "RegexRemain": "20", "IgnoreParamsQuota": "100", "IgnoreParamsRemain": "98",
		"PreloadQuota": "1000", "PreloadRemain": "999", "PreloadEdgeQuota": "20", "PreloadEdgeRemain": "20",
		"BlockQuota": "100", "BlockRemain": "100",
	}
	if diff := cmp.Diff(want, quota("DescribeRefreshQuota")); diff != "" {
		t.Errorf("DescribeRefreshQuota mismatch (-want +got):\n%s", diff)
	}

	// A call that would exceed is refused whole and consumes nothing.
	if r := e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectPath": urls(7, "http://example.com/%d")}); r.code() != "QuotaExceeded.Refresh" {
		t.Fatalf("7 URLs with 6 left: code %q, want QuotaExceeded.Refresh", r.code())
	}
	if got := quota("DescribeRefreshQuota")["UrlRemain"]; got != "6" {
		t.Errorf("UrlRemain after refused call = %v, want 6", got)
	}
	if got := quota("DescribeDcdnRefreshQuota")["UrlRemain"]; got != "0" {
		t.Errorf("DCDN UrlRemain = %v, want 0", got)
	}
	if _, ok := quota("DescribeDcdnRefreshQuota")["PreloadEdgeQuota"]; ok {
		t.Error("DCDN quota has PreloadEdgeQuota, the API has none")
	}

	e.srv.ResetQuota()
	if got := quota("DescribeRefreshQuota")["UrlRemain"]; got != "10" {
		t.Errorf("UrlRemain after ResetQuota = %v, want 10", got)
	}
	wantOK(t, e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectPath": "http://example.com/x"}))
	e.clock.Advance(24 * time.Hour) // next day in UTC+8
	if got := quota("DescribeRefreshQuota")["UrlRemain"]; got != "10" {
		t.Errorf("UrlRemain on the next day = %v, want 10", got)
	}
}

func TestPerMinuteRolls(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{DomainURLsPerMinute: 10})
	refresh := func(n int, host string) reply {
		return e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectPath": urls(n, "http://"+host+"/%d")})
	}
	wantOK(t, refresh(6, "a.com"))
	e.clock.Advance(30 * time.Second)
	wantOK(t, refresh(4, "a.com"))
	wantOK(t, refresh(10, "b.com")) // per domain
	if r := refresh(1, "a.com"); r.code() != "QuotaPerMinuteExceeded.Refresh" {
		t.Fatalf("11th URL in a minute: code %q, want QuotaPerMinuteExceeded.Refresh", r.code())
	}
	e.clock.Advance(31 * time.Second) // the first 6 leave the window
	wantOK(t, refresh(6, "a.com"))
	// Directory refreshes do not count against the URL budget.
	wantOK(t, e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectType": "Directory", "ObjectPath": "http://a.com/d/"}))
	// IgnoreParams refreshes do, and DCDN's Edge Routine ones count apart.
	wantOK(t, e.call(map[string]string{"Action": "RefreshErObjectCaches", "ObjectPath": urls(10, "http://a.com/er/%d")}))
	if r := e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectType": "IgnoreParams", "ObjectPath": "http://a.com/p"}); r.code() != "QuotaPerMinuteExceeded.Refresh" {
		t.Errorf("IgnoreParams over the minute's budget: code %q, want QuotaPerMinuteExceeded.Refresh", r.code())
	}
}

func TestTasks(t *testing.T) {
	t.Parallel()
	// Rate limits off: this test lists tasks many times within a second.
	e := newEnv(t, Options{TaskDuration: 10 * time.Second, CallsPerSecond: map[string]int{"*": -1}})
	r := e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectPath": "http://a.com/1\nhttp://b.com/2\nhttp://a.com/3"})
	wantOK(t, r)
	ids := strings.Split(r.body["RefreshTaskId"].(string), ",")
	if len(ids) != 2 {
		t.Fatalf("RefreshTaskId = %v, want one id per domain", r.body["RefreshTaskId"])
	}
	e.clock.Advance(time.Second)
	r = e.call(map[string]string{"Action": "PushObjectCache", "ObjectPath": "http://a.com/p"})
	pushID := r.body["PushTaskId"].(string)
	failed := e.srv.AddTask(Task{ObjectPath: "http://a.com/old/", ObjectType: "directory", Created: e.clock.Now().Add(-time.Hour)})
	e.srv.FailTask(failed, "OriginTimeout")
	e.srv.AddTask(Task{ObjectPath: "http://a.com/ancient", Created: e.clock.Now().Add(-80 * time.Hour)})
	e.srv.AddTask(Task{ObjectPath: "http://a.com/dcdn", Product: "dcdn"})

	list := func(params map[string]string) reply {
		p := map[string]string{"Action": "DescribeRefreshTasks"}
		for k, v := range params {
			p[k] = v
		}
		return e.call(p)
	}
	r = list(nil)
	wantOK(t, r)
	if got := r.body["TotalCount"].(json.Number).String(); got != "5" {
		t.Errorf("TotalCount = %s, want 5 (3 refresh + 1 push + 1 failed; ancient and DCDN left out); body %v", got, r.body)
	}
	tasks := r.body["Tasks"].(map[string]any)["CDNTask"].([]any)
	first := tasks[0].(map[string]any)
	if first["ObjectPath"] != "http://a.com/p" || first["ObjectType"] != "preload" || first["Status"] != "Pending" || first["Process"] != "0%" {
		t.Errorf("newest task = %v, want the pending preload", first)
	}

	statusOf := func(id string) []string {
		r := e.call(map[string]string{"Action": "DescribeRefreshTaskById", "TaskId": id})
		wantOK(t, r)
		var out []string
		for _, x := range r.body["Tasks"].([]any) {
			m := x.(map[string]any)
			out = append(out, fmt.Sprint(m["ObjectPath"], " ", m["Status"], " ", m["Process"], " ", m["Description"]))
		}
		return out
	}
	if diff := cmp.Diff([]string{"http://a.com/1 Pending 0% ", "http://a.com/3 Pending 0% "}, statusOf(ids[0])); diff != "" {
		t.Errorf("a tenth into TaskDuration (-want +got):\n%s", diff)
	}
	e.clock.Advance(2 * time.Second)
	if diff := cmp.Diff([]string{"http://a.com/1 Refreshing 30% ", "http://a.com/3 Refreshing 30% "}, statusOf(ids[0])); diff != "" {
		t.Errorf("3/10 into TaskDuration (-want +got):\n%s", diff)
	}
	e.clock.Advance(7 * time.Second)
	if diff := cmp.Diff([]string{"http://a.com/1 Complete 100% ", "http://a.com/3 Complete 100% "}, statusOf(ids[0])); diff != "" {
		t.Errorf("after TaskDuration (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"http://a.com/old/ Failed 0% Origin Timeout"}, statusOf(failed)); diff != "" {
		t.Errorf("failed task (-want +got):\n%s", diff)
	}

	filters := []struct {
		name   string
		params map[string]string
		want   string // TotalCount or error code
	}{
		{"by task id", map[string]string{"TaskId": ids[1]}, "1"},
		{"by path", map[string]string{"ObjectPath": "http://a.com/3"}, "1"},
		{"failed", map[string]string{"ObjectType": "directory", "Status": "Failed"}, "1"},
		{"complete", map[string]string{"ObjectType": "file", "Status": "Complete"}, "3"},
		{"pending", map[string]string{"ObjectType": "file", "Status": "Pending"}, "0"},
		{"domain file", map[string]string{"ObjectType": "file", "DomainName": "a.com"}, "2"},
		{"preload", map[string]string{"ObjectType": "preload"}, "1"},
		{"page 2 of 2", map[string]string{"PageSize": "3", "PageNumber": "2"}, "5"},
		{"window", map[string]string{"StartTime": e.clock.Now().Add(-30 * time.Minute).UTC().Format(timeFormat)}, "4"},
		{"status without type", map[string]string{"Status": "Failed"}, "MissingParameter"},
		{"domain without type", map[string]string{"DomainName": "a.com"}, "MissingParameter"},
		{"upper-case type", map[string]string{"ObjectType": "File"}, "InvalidObjectType.ValueNotSupported"},
		{"bad status", map[string]string{"ObjectType": "file", "Status": "Done"}, "InvalidStatus.ValueNotSupported"},
		{"page size 101", map[string]string{"PageSize": "101"}, "InvalidPageSize.ValueNotSupported"},
		{"bad start", map[string]string{"StartTime": "yesterday"}, "InvalidStartTime.Malformed"},
		{"end before start", map[string]string{"StartTime": "2025-03-01T00:00:00Z", "EndTime": "2025-02-28T00:00:00Z"}, "InvalidEndTime.Mismatch"},
	}
	for _, f := range filters {
		t.Run(f.name, func(t *testing.T) {
			r := list(f.params)
			got := r.code()
			if got == "" {
				got = r.body["TotalCount"].(json.Number).String()
			}
			if got != f.want {
				t.Errorf("DescribeRefreshTasks(%v) = %s, want %s; body %v", f.params, got, f.want, r.body)
			}
		})
	}
	r = list(map[string]string{"PageSize": "3", "PageNumber": "2"})
	if n := len(r.body["Tasks"].(map[string]any)["CDNTask"].([]any)); n != 2 {
		t.Errorf("page 2 of 5 by 3 has %d tasks, want 2", n)
	}

	r = e.call(map[string]string{"Action": "DescribeDcdnRefreshTasks"})
	wantOK(t, r)
	if _, ok := r.body["Tasks"].(map[string]any)["Task"]; !ok {
		t.Errorf("DescribeDcdnRefreshTasks Tasks = %v, want the Task wrapper", r.body["Tasks"])
	}
	if r := e.call(map[string]string{"Action": "DescribeDcdnRefreshTasks", "PageSize": "51"}); r.code() != "InvalidPageSize.ValueNotSupported" {
		t.Errorf("DCDN PageSize 51: code %q, want InvalidPageSize.ValueNotSupported", r.code())
	}
	if r := e.call(map[string]string{"Action": "DescribeRefreshTaskById", "TaskId": "1,2,3,4,5,6,7,8,9,10,11"}); r.code() != "InvalidTaskId.Malformed" {
		t.Errorf("11 ids: code %q, want InvalidTaskId.Malformed", r.code())
	}
	if r := e.call(map[string]string{"Action": "DescribePreloadDetailById", "TaskId": pushID}); r.status != 403 || r.code() != "Forbidden" {
		t.Errorf("preload detail off the allow-list: %d %q, want 403 Forbidden", r.status, r.code())
	}
}

func TestCacheTagAndEr(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Domains: []string{"a.com"}})
	tests := []struct {
		name     string
		params   map[string]string
		wantCode string
	}{
		{"cdn tags", map[string]string{"Action": "RefreshObjectCacheByCacheTag", "DomainName": "a.com", "CacheTag": "t1,t2", "Force": "true"}, ""},
		{"dcdn tags", map[string]string{"Action": "RefreshDcdnObjectCacheByCacheTag", "DomainName": "a.com", "CacheTag": "t1"}, ""},
		{"no tag", map[string]string{"Action": "RefreshObjectCacheByCacheTag", "DomainName": "a.com"}, "MissingParameter"},
		{"empty tag", map[string]string{"Action": "RefreshObjectCacheByCacheTag", "DomainName": "a.com", "CacheTag": "t1,,t2"}, "InvalidObjectPath.Malformed"},
		{"blank tag", map[string]string{"Action": "RefreshDcdnObjectCacheByCacheTag", "DomainName": "a.com", "CacheTag": " "}, "InvalidObjectPath.Malformed"},
		{"11 tags", map[string]string{"Action": "RefreshObjectCacheByCacheTag", "DomainName": "a.com", "CacheTag": "1,2,3,4,5,6,7,8,9,10,11"}, "SingleRequest.OverLimit"},
		{"wildcard tag domain", map[string]string{"Action": "RefreshObjectCacheByCacheTag", "DomainName": "*.a.com", "CacheTag": "t1"}, "InvalidExtensiveDomain.ValueNotSupported"},
		{"not a domain", map[string]string{"Action": "RefreshObjectCacheByCacheTag", "DomainName": "a.com/x", "CacheTag": "t1"}, "InvalidParameter"},
		{"other domain", map[string]string{"Action": "RefreshObjectCacheByCacheTag", "DomainName": "b.com", "CacheTag": "t1"}, "InvalidDomain.NotFound"},
		{"er", map[string]string{"Action": "RefreshErObjectCaches", "ObjectType": "File", "ObjectPath": "http://a.com/x"}, ""},
		{"er defaults to File", map[string]string{"Action": "RefreshErObjectCaches", "ObjectPath": "http://a.com/x", "RoutineId": "fetch.sub", "MergeDomainName": "a.com,B.a.com", "Force": "true"}, ""},
		{"er one domain", map[string]string{"Action": "RefreshErObjectCaches", "ObjectPath": "http://a.com/x\nhttp://b.com/y"}, "InvalidObjectPath.Malformed"},
		{"er routine", map[string]string{"Action": "RefreshErObjectCaches", "ObjectPath": "http://a.com/x", "RoutineId": "fetch"}, "InvalidParameters"},
		{"er merge domains", map[string]string{"Action": "RefreshErObjectCaches", "ObjectPath": "http://a.com/x", "MergeDomainName": "a.com;b.com"}, "InvalidParameters"},
		{"er ExQuery", map[string]string{"Action": "RefreshErObjectCaches", "ObjectType": "ExQuery", "ObjectPath": "http://a.com/x"}, "InvalidObjectType.Malformed"},
		{"er IgnoreParams", map[string]string{"Action": "RefreshErObjectCaches", "ObjectType": "IgnoreParams", "ObjectPath": "a.com/x?y=1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := e.call(tt.params); r.code() != tt.wantCode {
				t.Errorf("code %q, want %q; body %v", r.code(), tt.wantCode, r.body)
			}
		})
	}
	calls := e.srv.Calls()
	if len(calls) != 5 {
		t.Fatalf("Calls() has %d calls, want 5: %+v", len(calls), calls)
	}
	c := calls[0]
	if diff := cmp.Diff([]string{"t1", "t2"}, c.CacheTags); diff != "" || c.Domain != "a.com" || !c.Force || c.TaskID == "" {
		t.Errorf("cache-tag call = %+v", c)
	}
	er := calls[3]
	if er.ObjectType != "File" || er.RoutineID != "fetch.sub" || !er.Force || strings.Join(er.MergeDomains, ",") != "a.com,b.a.com" {
		t.Errorf("RefreshErObjectCaches call = %+v, want File, RoutineId fetch.sub, forced, merged with a.com and b.a.com", er)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Seed: 1})
	quota := map[string]string{"Action": "DescribeRefreshQuota"}

	e.srv.Inject(Faults{Next: []string{"QuotaExceeded.Refresh", "ServiceBusy", "Made.Up"}})
	var got []string
	for range 4 {
		r := e.call(quota)
		got = append(got, fmt.Sprint(r.status, " ", r.code()))
	}
	if diff := cmp.Diff([]string{"400 QuotaExceeded.Refresh", "403 ServiceBusy", "400 Made.Up", "200 "}, got); diff != "" {
		t.Errorf("Next faults (-want +got):\n%s", diff)
	}

	e.srv.Inject(Faults{Throttle: 1})
	for _, action := range []string{"DescribeRefreshQuota", "DescribeDcdnRefreshQuota"} {
		if r := e.call(map[string]string{"Action": action}); r.status != 429 || r.code() != "TooManyRequests" {
			t.Errorf("%s throttled: %d %q, want 429 TooManyRequests", action, r.status, r.code())
		}
	}
	e503 := newEnv(t, Options{ThrottleStatus: http.StatusServiceUnavailable, Faults: Faults{Throttle: 1}})
	if r := e503.call(quota); r.status != 503 || r.code() != "Throttling" {
		t.Errorf("throttled with ThrottleStatus 503: %d %q, want 503 Throttling", r.status, r.code())
	}
	e.srv.Inject(Faults{Throttle: 1, Actions: []string{"RefreshObjectCaches"}})
	wantOK(t, e.call(quota))
	if r := e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectPath": "http://a.com/x"}); r.code() != "TooManyRequests" {
		t.Errorf("throttle limited to RefreshObjectCaches: code %q, want TooManyRequests", r.code())
	}
	e.srv.Inject(Faults{ServerError: 1})
	if r := e.call(quota); r.status != 500 || r.code() != "InternalError" {
		t.Errorf("server error: %d %q, want 500 InternalError", r.status, r.code())
	}

	// A seeded half-rate throttle is reproducible.
	pattern := func() string {
		s := New(Options{Seed: 42, CallsPerSecond: map[string]int{"*": -1}})
		s.Inject(Faults{Throttle: 0.5})
		ts := httptest.NewServer(s)
		defer ts.Close()
		e2 := &env{t: t, srv: s, ts: ts}
		var b strings.Builder
		for range 20 {
			if e2.call(quota).status == 200 {
				b.WriteByte('.')
			} else {
				b.WriteByte('T')
			}
		}
		return b.String()
	}
	p1, p2 := pattern(), pattern()
	if p1 != p2 || !strings.Contains(p1, "T") || !strings.Contains(p1, ".") {
		t.Errorf("seeded throttle patterns %q and %q, want equal mixes", p1, p2)
	}

	e.srv.Inject(Faults{})
	st := e.srv.Stats()
	if st.Refused["TooManyRequests"] != 3 || st.Refused["InternalError"] != 1 || st.Refused["ServiceBusy"] != 1 {
		t.Errorf("Stats().Refused = %v", st.Refused)
	}
}

func TestCallsAndStats(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	wantOK(t, e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectType": "Directory", "Force": "true", "ObjectPath": "http://a.com/d/\nhttp://a.com/e/"}))
	wantOK(t, e.call(map[string]string{"Action": "PushObjectCache", "Area": "overseas", "L2Preload": "true", "ObjectPath": "http://a.com/p", "SecurityToken": "tok"}))
	e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectPath": "nope"})

	calls := e.srv.Calls()
	for i := range calls {
		calls[i].TaskID = ""
		calls[i].AccessKeyID = ""
	}
	want := []Call{
		{Action: "RefreshObjectCaches", Version: CDNVersion, Method: "POST", ObjectType: "Directory", Force: true, URLs: []string{"http://a.com/d/", "http://a.com/e/"}},
		{Action: "PushObjectCache", Version: CDNVersion, Method: "POST", Area: "overseas", L2Preload: true, URLs: []string{"http://a.com/p"}, SecurityToken: true},
	}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("Calls() mismatch (-want +got):\n%s", diff)
	}
	st := e.srv.Stats()
	wantStats := Stats{
		Requests: 3, Accepted: 2, Refused: map[string]int{"InvalidObjectPath.Malformed": 1},
		Calls: map[string]int{"PushObjectCache": 1, "RefreshObjectCaches": 2},
		URLs:  3, DomainURLs: map[string]int{"a.com": 3}, STS: 1,
		Tasks: map[string]int{"Pending": 3},
	}
	if diff := cmp.Diff(wantStats, st); diff != "" {
		t.Errorf("Stats() mismatch (-want +got):\n%s", diff)
	}
	e.srv.Reset()
	if n := len(e.srv.Calls()); n != 0 {
		t.Errorf("after Reset, %d calls", n)
	}
}

func TestConcurrentRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu.Lock()
			v := e.signed("POST", AccessKeyID, AccessKeySecret, map[string]string{"Action": "RefreshObjectCaches", "ObjectPath": fmt.Sprintf("http://a.com/%d", i)})
			mu.Unlock()
			resp, err := http.Post(e.ts.URL+"/?"+v.Encode(), "application/x-www-form-urlencoded", nil)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("status %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	if st := e.srv.Stats(); st.URLs != 20 {
		t.Errorf("Stats().URLs = %d, want 20", st.URLs)
	}
}

// TestTaskFailures: the task-fail fault ends a share of tasks Failed when
// they are done, never before, with a documented reason in each API's
// spelling; Tasks() tells when each was created and done.
func TestTaskFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{TaskDuration: 10 * time.Second, Seed: 7, Faults: Faults{TaskFail: 0.5}, CallsPerSecond: map[string]int{"*": -1}})
	r := e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectPath": urls(40, "http://a.com/%d")})
	wantOK(t, r)
	id := r.body["RefreshTaskId"].(string)
	statuses := func(byID bool) map[string]int {
		var list []any
		if byID {
			list = e.call(map[string]string{"Action": "DescribeRefreshTaskById", "TaskId": id}).body["Tasks"].([]any)
		} else {
			list = e.call(map[string]string{"Action": "DescribeRefreshTasks", "PageSize": "100"}).body["Tasks"].(map[string]any)["CDNTask"].([]any)
		}
		out := map[string]int{}
		for _, x := range list {
			m := x.(map[string]any)
			out[m["Status"].(string)+" "+m["Description"].(string)]++
		}
		return out
	}
	e.clock.Advance(9 * time.Second)
	if got := statuses(true); got["Refreshing "] != 40 {
		t.Errorf("before the tasks are done: %v, want 40 Refreshing", got)
	}
	e.clock.Advance(time.Second)
	byID, list := statuses(true), statuses(false)
	failed := 0
	for _, r := range failureReasons {
		if byID["Failed "+r.byID] != list["Failed "+r.list] {
			t.Errorf("%q by id %d times, %q in the list %d times, want the same", r.byID, byID["Failed "+r.byID], r.list, list["Failed "+r.list])
		}
		failed += byID["Failed "+r.byID]
	}
	if failed < 10 || failed > 30 || byID["Complete "]+failed != 40 {
		t.Errorf("with TaskFail 0.5, 40 tasks ended %v, want about half Failed for documented reasons, the rest Complete", byID)
	}
	for _, task := range e.srv.Tasks() {
		if d := task.Completed.Sub(task.Created); d != 10*time.Second {
			t.Errorf("task %s took %v, want the TaskDuration 10s", task.ObjectPath, d)
		}
	}
	if got := e.srv.Stats().Tasks; got["Complete"]+got["Failed"] != 40 || got["Failed"] != failed {
		t.Errorf("Stats().Tasks = %v, want %d Failed of 40", got, failed)
	}
}

// TestPushRecordsQueryHashkey: PushObjectCache takes QueryHashkey (seed
// 000) and the call records it.
func TestPushRecordsQueryHashkey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	wantOK(t, e.call(map[string]string{"Action": "PushObjectCache", "ObjectPath": "http://a.com/x?v=1", "QueryHashkey": "true"}))
	if r := e.call(map[string]string{"Action": "PushObjectCache", "ObjectPath": "http://a.com/x", "QueryHashkey": "maybe"}); r.code() != "InvalidParameter" {
		t.Errorf("QueryHashkey maybe: code %q, want InvalidParameter", r.code())
	}
	if c := e.srv.Calls(); len(c) != 1 || !c[0].QueryHashkey {
		t.Errorf("Calls() = %+v, want one push with QueryHashkey", c)
	}
}

// TestIgnoreParamsSpelling: Options.IgnoreParamsSpelling chooses which
// spelling CDN RefreshObjectCaches accepts; DCDN takes IgnoreParams only.
func TestIgnoreParamsSpelling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spelling, action, objectType string
		ok                           bool
	}{
		{"", "RefreshObjectCaches", "IgnoreParams", true},
		{"", "RefreshObjectCaches", "ExQuery", true},
		{SpellBoth, "RefreshObjectCaches", "ExQuery", true},
		{SpellIgnoreParams, "RefreshObjectCaches", "IgnoreParams", true},
		{SpellIgnoreParams, "RefreshObjectCaches", "ExQuery", false},
		{SpellExQuery, "RefreshObjectCaches", "ExQuery", true},
		{SpellExQuery, "RefreshObjectCaches", "IgnoreParams", false},
		{SpellExQuery, "RefreshDcdnObjectCaches", "IgnoreParams", true},
		{SpellBoth, "RefreshDcdnObjectCaches", "ExQuery", false},
		{SpellBoth, "RefreshErObjectCaches", "ExQuery", false},
		{"", "RefreshObjectCaches", "ignoreparams", false},
	}
	for _, tt := range tests {
		t.Run(tt.spelling+"/"+tt.action+"/"+tt.objectType, func(t *testing.T) {
			e := newEnv(t, Options{IgnoreParamsSpelling: tt.spelling})
			r := e.call(map[string]string{"Action": tt.action, "ObjectType": tt.objectType, "ObjectPath": "http://a.com/x?a=1"})
			if tt.ok {
				wantOK(t, r)
				if c := e.srv.Calls()[0]; c.ObjectType != tt.objectType {
					t.Errorf("call recorded ObjectType %q, want %q", c.ObjectType, tt.objectType)
				}
				return
			}
			if r.status != 400 || r.code() != "InvalidObjectType.Malformed" {
				t.Errorf("%d %q, want 400 InvalidObjectType.Malformed", r.status, r.code())
			}
		})
	}
}

// TestRateLimitOverride: CallsPerSecond changes or lifts a limit; the
// window follows the emulator's clock.
func TestRateLimitOverride(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{CallsPerSecond: map[string]int{"*": 2, "DescribeRefreshQuota": -1}, ThrottleStatus: http.StatusServiceUnavailable})
	quota := map[string]string{"Action": "DescribeRefreshQuota"}
	for range 30 {
		wantOK(t, e.call(quota))
	}
	tasks := map[string]string{"Action": "DescribeRefreshTasks"}
	wantOK(t, e.call(tasks))
	e.clock.Advance(999 * time.Millisecond)
	wantOK(t, e.call(tasks))
	if r := e.call(tasks); r.status != 503 || r.code() != "Throttling" {
		t.Errorf("third call in a second: %d %q, want 503 Throttling", r.status, r.code())
	}
	e.clock.Advance(time.Millisecond) // the first call leaves the window
	wantOK(t, e.call(tasks))
}
