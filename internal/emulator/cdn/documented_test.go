package cdn

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
)

// sdkEnv is an emulator on a fake clock called through the real SDK's
// CommonRequest over HTTP.
type sdkEnv struct {
	t      *testing.T
	srv    *Server
	client *sdk.Client
	clock  *clock
}

func newSDKEnv(t *testing.T, opts Options) *sdkEnv {
	t.Helper()
	c := &clock{t: time.Date(2025, 3, 1, 4, 0, 0, 0, time.UTC)}
	if opts.Now == nil {
		opts.Now = c.Now
	}
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	client, err := sdk.NewClientWithOptions("cn-hangzhou", sdk.NewConfig(), credentials.NewAccessKeyCredential(AccessKeyID, AccessKeySecret))
	if err != nil {
		t.Fatal(err)
	}
	client.Domain = strings.TrimPrefix(ts.URL, "http://")
	return &sdkEnv{t: t, srv: s, client: client, clock: c}
}

// call sends action with params and returns the decoded answer, or the
// API's error.
func (e *sdkEnv) call(action string, params map[string]string) (map[string]any, *sdkerrors.ServerError) {
	e.t.Helper()
	a, ok := actions[action]
	if !ok {
		e.t.Fatalf("no action %s", action)
	}
	cr := requests.NewCommonRequest()
	cr.Method = "POST"
	cr.Version, cr.ApiName, cr.Product = a.product.version, action, "Cdn"
	if a.product == dcdnProduct {
		cr.Product = "Dcdn"
	}
	for k, v := range params {
		cr.QueryParams[k] = v
	}
	resp, err := e.client.ProcessCommonRequest(cr)
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		return nil, se
	}
	if err != nil {
		e.t.Fatalf("%s: %v", action, err)
	}
	var body map[string]any
	dec := json.NewDecoder(strings.NewReader(resp.GetHttpContentString()))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		e.t.Fatalf("%s answer %s: %v", action, resp.GetHttpContentString(), err)
	}
	return body, nil
}

// ok sends action and fails the test unless it is accepted.
func (e *sdkEnv) ok(action string, params map[string]string) map[string]any {
	e.t.Helper()
	body, se := e.call(action, params)
	if se != nil {
		e.t.Fatalf("%s(%.200v) = %d %s: %s, want it accepted", action, params, se.HttpStatus(), se.ErrorCode(), se.Message())
	}
	return body
}

// refused sends action and fails the test unless it is answered status code.
func (e *sdkEnv) refused(action string, params map[string]string, status int, code string) {
	e.t.Helper()
	_, se := e.call(action, params)
	if se == nil {
		e.t.Fatalf("%s(%.200v) accepted, want %d %s", action, params, status, code)
	}
	if se.HttpStatus() != status || se.ErrorCode() != code {
		e.t.Fatalf("%s(%.200v) = %d %s (%s), want %d %s", action, params, se.HttpStatus(), se.ErrorCode(), se.Message(), status, code)
	}
}

// joinf joins n paths made by format from 0..n-1 with \n.
func joinf(n int, format string) string { return listf(n, format, "\n") }

// listf joins n strings made by format from 0..n-1 with sep.
func listf(n int, format, sep string) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf(format, i)
	}
	return strings.Join(s, sep)
}

// cheap is a small accepted call to each action, for rate limits.
func cheap(action string) map[string]string {
	switch action {
	case "RefreshObjectCaches", "RefreshDcdnObjectCaches", "RefreshErObjectCaches", "PushObjectCache", "PreloadDcdnObjectCaches":
		return map[string]string{"ObjectPath": "http://a.com/x"}
	case "DescribeRefreshTaskById", "DescribeDcdnRefreshTaskById", "DescribePreloadDetailById":
		return map[string]string{"TaskId": "1"}
	case "RefreshObjectCacheByCacheTag", "RefreshDcdnObjectCacheByCacheTag":
		return map[string]string{"DomainName": "a.com", "CacheTag": "t"}
	}
	return nil
}

// isPrefetch reports whether action prefetches.
func isPrefetch(action string) bool {
	return action == "PushObjectCache" || action == "PreloadDcdnObjectCaches"
}

// limitProbes check a KindLimit statement: Value is allowed, one more is
// answered Code with Status.
var limitProbes = map[string]func(t *testing.T, st Statement, n int){
	NameURLsPerCall: func(t *testing.T, st Statement, n int) {
		e := newSDKEnv(t, Options{DomainURLsPerMinute: -1})
		e.ok(st.API, map[string]string{"ObjectPath": joinf(n, "http://a.com/%d")})
		e.refused(st.API, map[string]string{"ObjectPath": joinf(n+1, "http://a.com/%d")}, st.Status, st.Code)
	},
	NameDirsPerCall: func(t *testing.T, st Statement, n int) {
		e := newSDKEnv(t, Options{DirQuota: 1000})
		e.ok(st.API, map[string]string{"ObjectType": "Directory", "ObjectPath": joinf(n, "http://a.com/%d/")})
		e.refused(st.API, map[string]string{"ObjectType": "Directory", "ObjectPath": joinf(n+1, "http://a.com/%d/")}, st.Status, st.Code)
	},
	NameRegexPerCall: func(t *testing.T, st Statement, n int) {
		e := newSDKEnv(t, Options{})
		e.ok(st.API, map[string]string{"ObjectType": "Regex", "ObjectPath": joinf(n, "http://a.com/%d/.*")})
		e.refused(st.API, map[string]string{"ObjectType": "Regex", "ObjectPath": joinf(n+1, "http://a.com/%d/.*")}, st.Status, st.Code)
	},
	NameDomainsPerCall: func(t *testing.T, st Statement, n int) {
		e := newSDKEnv(t, Options{})
		e.ok(st.API, map[string]string{"ObjectPath": joinf(n, "http://d%d.example.com/x")})
		e.refused(st.API, map[string]string{"ObjectPath": joinf(n+1, "http://d%d.example.com/x")}, st.Status, st.Code)
	},
	NamePathLength: func(t *testing.T, st Statement, n int) {
		e := newSDKEnv(t, Options{})
		base := "http://a.com/"
		e.ok(st.API, map[string]string{"ObjectPath": base + strings.Repeat("é", n-len(base))})
		e.refused(st.API, map[string]string{"ObjectPath": base + strings.Repeat("é", n+1-len(base))}, st.Status, st.Code)
	},
	NameCallsPerSecond: func(t *testing.T, st Statement, n int) {
		e := newSDKEnv(t, Options{PreloadDetailAllowed: true})
		for range n {
			e.ok(st.API, cheap(st.API))
		}
		e.refused(st.API, cheap(st.API), st.Status, st.Code)
		e.clock.Advance(time.Second)
		e.ok(st.API, cheap(st.API))
	},
	NameDomainURLsPerMinute: func(t *testing.T, st Statement, n int) {
		e := newSDKEnv(t, Options{})
		for i := 0; i < n; i += maxURLsPerCall {
			e.ok(st.API, map[string]string{"ObjectPath": joinf(min(maxURLsPerCall, n-i), "http://a.com/"+strconv.Itoa(i)+"/%d")})
		}
		// Every URL type counts: the one more is IgnoreParams.
		e.refused(st.API, map[string]string{"ObjectType": "IgnoreParams", "ObjectPath": "http://a.com/more"}, st.Status, st.Code)
		e.clock.Advance(time.Minute)
		e.ok(st.API, map[string]string{"ObjectType": "IgnoreParams", "ObjectPath": "http://a.com/more"})
	},
	NameURLsPerDay: func(t *testing.T, st Statement, n int) {
		e := newSDKEnv(t, Options{})
		for i := 0; i < n; i += maxURLsPerCall { // 10 domains a call, within every per-minute budget
			e.ok(st.API, map[string]string{"ObjectPath": joinf(min(maxURLsPerCall, n-i), "http://d"+strconv.Itoa(i/maxURLsPerCall)+".example.com/%d")})
		}
		e.refused(st.API, map[string]string{"ObjectPath": "http://a.com/more"}, st.Status, st.Code)
	},
	NameDirsPerDay:         dailyProbe("Directory", "http://a.com/%d/", maxDirsPerCall),
	NameRegexPerDay:        dailyProbe("Regex", "http://a.com/%d/.*", 1),
	NameIgnoreParamsPerDay: dailyProbe("IgnoreParams", "http://a.com/%d", maxURLsPerCall),
	NamePrefetchPerDay:     dailyProbe("", "http://a.com/%d", maxPushPerCall),
	NamePrefetchQueue: func(t *testing.T, st Statement, n int) {
		e := newSDKEnv(t, Options{PreloadQuota: 10})
		for i := range n - 1 {
			e.srv.AddTask(Task{ObjectPath: fmt.Sprintf("http://a.com/%d", i), ObjectType: kindPreload, Completed: e.clock.Now().Add(time.Hour)})
		}
		e.ok(st.API, map[string]string{"ObjectPath": "http://a.com/last"})
		e.refused(st.API, map[string]string{"ObjectPath": "http://a.com/more"}, st.Status, st.Code)
	},
	NameCacheTagsPerCall: func(t *testing.T, st Statement, n int) {
		e := newSDKEnv(t, Options{})
		e.ok(st.API, map[string]string{"DomainName": "a.com", "CacheTag": listf(n, "t%d", ",")})
		e.refused(st.API, map[string]string{"DomainName": "a.com", "CacheTag": listf(n+1, "t%d", ",")}, st.Status, st.Code)
	},
	NameTaskIDsPerCall: func(t *testing.T, st Statement, n int) {
		e := newSDKEnv(t, Options{})
		e.ok(st.API, map[string]string{"TaskId": listf(n, "%d", ",")})
		e.refused(st.API, map[string]string{"TaskId": listf(n+1, "%d", ",")}, st.Status, st.Code)
	},
	NamePageSize: func(t *testing.T, st Statement, n int) {
		e := newSDKEnv(t, Options{})
		e.ok(st.API, map[string]string{"PageSize": strconv.Itoa(n)})
		e.refused(st.API, map[string]string{"PageSize": strconv.Itoa(n + 1)}, st.Status, st.Code)
	},
	NameTaskRetention: func(t *testing.T, st Statement, n int) {
		e := newSDKEnv(t, Options{})
		kept := time.Duration(n) * 24 * time.Hour
		in := e.srv.AddTask(Task{ObjectPath: "http://a.com/in", Created: e.clock.Now().Add(-kept + time.Minute)})
		out := e.srv.AddTask(Task{ObjectPath: "http://a.com/out", Created: e.clock.Now().Add(-kept - time.Minute)})
		params := map[string]string{"TaskId": in + "," + out}
		if st.API == "DescribeRefreshTasks" {
			params = nil
		}
		body := e.ok(st.API, params)
		got := fmt.Sprint(body["Tasks"])
		if !strings.Contains(got, "http://a.com/in") || strings.Contains(got, "http://a.com/out") {
			t.Errorf("%s after %d days: Tasks = %s, want the task of %v ago and not the one of %v ago", st.API, n, got, kept-time.Minute, kept+time.Minute)
		}
	},
	NameURLsPerTaskID: func(t *testing.T, st Statement, n int) {
		e := newSDKEnv(t, Options{DomainURLsPerMinute: -1})
		var ids []string
		for i := 0; i <= n; i += maxURLsPerCall {
			body := e.ok(st.API, map[string]string{"ObjectPath": joinf(min(maxURLsPerCall, n+1-i), "http://a.com/"+strconv.Itoa(i)+"/%d")})
			ids = append(ids, body["RefreshTaskId"].(string))
		}
		if len(ids) != 3 || ids[1] != ids[0] || ids[2] == ids[0] || strings.Contains(ids[0]+ids[2], ",") {
			t.Errorf("RefreshTaskId of %d URLs of one domain in one second, in calls of 1,000 = %v, want one id for the first %d and a new one after", n+1, ids, n)
		}
		e.clock.Advance(time.Second)
		if body := e.ok(st.API, map[string]string{"ObjectPath": "http://a.com/next"}); body["RefreshTaskId"] == ids[2] {
			t.Errorf("a URL one second later joined task %s, want a new id", ids[2])
		}
	},
}

// dailyProbe fills a daily quota with calls of up to per paths of
// objectType, then asks for one more.
func dailyProbe(objectType, format string, per int) func(t *testing.T, st Statement, n int) {
	return func(t *testing.T, st Statement, n int) {
		e := newSDKEnv(t, Options{DomainURLsPerMinute: -1})
		params := func(k int, prefix string) map[string]string {
			p := map[string]string{"ObjectPath": joinf(k, strings.Replace(format, "%d", prefix+"%d", 1))}
			if objectType != "" {
				p["ObjectType"] = objectType
			}
			return p
		}
		for i := 0; i < n; i += per {
			e.ok(st.API, params(min(per, n-i), strconv.Itoa(i)+"-"))
			e.clock.Advance(time.Second) // within every calls-per-second limit
		}
		e.refused(st.API, params(1, "more-"), st.Status, st.Code)
	}
}

// codeTriggers produce a code by a request to api: options for the
// emulator, then the params of the call that gets the code. A nil entry
// means only an injected fault produces it.
func codeTriggers(api string) map[string]func() (Options, map[string]string) {
	url := func(p string) map[string]string { return map[string]string{"ObjectPath": p} }
	if api == "RefreshObjectCacheByCacheTag" || api == "RefreshDcdnObjectCacheByCacheTag" {
		tag := func(d, t string) map[string]string { return map[string]string{"DomainName": d, "CacheTag": t} }
		return map[string]func() (Options, map[string]string){
			"InvalidObjectPath.Malformed": func() (Options, map[string]string) { return Options{}, tag("a.com", "t1,,t2") },
			"QuotaExceeded.Refresh":       func() (Options, map[string]string) { return Options{DirQuota: 1}, tag("a.com", "t1,t2") },
		}
	}
	tooMany := maxURLsPerCall
	if isPrefetch(api) {
		tooMany = maxPushPerCall
	}
	return map[string]func() (Options, map[string]string){
		"SingleRequest.OverLimit": func() (Options, map[string]string) {
			return Options{}, url(joinf(tooMany+1, "http://a.com/%d"))
		},
		"InvalidObjectType.Malformed": func() (Options, map[string]string) {
			return Options{}, map[string]string{"ObjectType": "Folder", "ObjectPath": "http://a.com/d/"}
		},
		"InvalidObjectPath.Malformed": func() (Options, map[string]string) { return Options{}, url("http:///x") },
		"ObjectPath.Malformed":        nil,
		"InvalidObjectPath.Size.Malformed": func() (Options, map[string]string) {
			return Options{}, map[string]string{"ObjectType": "Regex", "ObjectPath": "http://a.com/.*\nhttp://a.com/b.*"}
		},
		"QuotaExceeded.Refresh": func() (Options, map[string]string) {
			return Options{URLQuota: 1}, url("http://a.com/1\nhttp://a.com/2")
		},
		"QuotaExceeded.Preload": func() (Options, map[string]string) {
			return Options{PreloadQuota: 1}, url("http://a.com/1\nhttp://a.com/2")
		},
		"InvalidExtensiveDomain.ValueNotSupported": func() (Options, map[string]string) { return Options{}, url("http://*.a.com/x") },
		"QuotaPerMinuteExceeded.Refresh": func() (Options, map[string]string) {
			return Options{DomainURLsPerMinute: 1}, url("http://a.com/1\nhttp://a.com/2")
		},
		"TooMany.Refresh": func() (Options, map[string]string) {
			return Options{DomainRefreshQueue: 1}, url("http://a.com/1\nhttp://a.com/2")
		},
		"PreloadQueueFull": func() (Options, map[string]string) {
			if !isPrefetch(api) {
				return Options{Faults: Faults{Next: []string{"PreloadQueueFull"}}}, url("http://a.com/1")
			}
			return Options{PreloadQueue: 1}, url("http://a.com/1\nhttp://a.com/2")
		},
		"TooManyRequests": func() (Options, map[string]string) {
			return Options{CallsPerSecond: map[string]int{api: -1}, Faults: Faults{Throttle: 1}}, cheap(api)
		},
		"Throttling": func() (Options, map[string]string) {
			return Options{ThrottleStatus: http.StatusServiceUnavailable, CallsPerSecond: map[string]int{api: -1}, Faults: Faults{Throttle: 1}}, cheap(api)
		},
		"InvalidStations.Malformed": nil,
		"InvalidParameters": func() (Options, map[string]string) {
			return Options{}, map[string]string{"ObjectPath": "http://a.com/x", "RoutineId": "no-subdomain"}
		},
		"IllegalOperation": func() (Options, map[string]string) {
			return Options{DomainStatus: map[string]string{"a.com": DomainIllegal}}, url("http://a.com/x")
		},
		"OperationDenied":        func() (Options, map[string]string) { return Options{Suspended: true}, url("http://a.com/x") },
		"InvalidDomain.NotFound": func() (Options, map[string]string) { return Options{Domains: []string{"b.com"}}, url("http://a.com/x") },
		"InvalidDomain.Offline": func() (Options, map[string]string) {
			return Options{DomainStatus: map[string]string{"a.com": DomainOffline}}, url("http://a.com/x")
		},
		"ServiceBusy": func() (Options, map[string]string) {
			return Options{DomainStatus: map[string]string{"a.com": DomainConfiguring}}, url("http://a.com/x")
		},
		"InvalidDomain.Configure_failed": nil,
		"InvalidTaskId.Malformed":        func() (Options, map[string]string) { return Options{}, map[string]string{"TaskId": "12,x"} },
	}
}

// TestDocumented checks the emulator against every statement of
// Documented, through the real SDK over HTTP.
func TestDocumented(t *testing.T) {
	t.Parallel()
	for i, st := range Documented {
		name := fmt.Sprintf("%02d %s %s %s %s%s", i, st.API, st.Kind, st.Name, st.Value, st.Code)
		t.Run(name, func(t *testing.T) {
			if st.Source == "" || st.Assumed && st.Note == "" {
				t.Fatalf("statement %+v lacks its source or, assumed, its note", st)
			}
			if _, ok := actions[st.API]; !ok {
				t.Fatalf("statement about %q, an action the emulator does not serve", st.API)
			}
			switch st.Kind {
			case KindLimit:
				n, err := strconv.Atoi(st.Value)
				if err != nil {
					t.Fatalf("limit %q is not a number", st.Value)
				}
				probe, ok := limitProbes[st.Name]
				if !ok {
					t.Fatalf("no probe for the limit %q", st.Name)
				}
				probe(t, st, n)
			case KindCode:
				checkCode(t, st)
			case KindDefault, KindSpelling:
				checkValue(t, st)
			default:
				t.Fatalf("kind %q", st.Kind)
			}
		})
	}
}

// checkCode produces st.Code on st.API by a request when one can, else by
// an injected fault, and checks its status.
func checkCode(t *testing.T, st Statement) {
	if st.Class == "" || st.Status == 0 {
		t.Fatalf("code %s has no class or status", st.Code)
	}
	if (st.Status == http.StatusTooManyRequests || st.Status >= 500 && st.Code != "InvalidDomain.Configure_failed") && st.Class != ClassRetry {
		t.Errorf("%d %s is classed %s, want %s", st.Status, st.Code, st.Class, ClassRetry)
	}
	trigger, ok := codeTriggers(st.API)[st.Code]
	if !ok {
		t.Fatalf("no trigger for %s on %s", st.Code, st.API)
	}
	opts, params := Options{Faults: Faults{Next: []string{st.Code}}}, cheap(st.API)
	if trigger != nil {
		opts, params = trigger()
	}
	opts.PreloadDetailAllowed = true
	e := newSDKEnv(t, opts)
	e.refused(st.API, params, st.Status, st.Code)
	if want := knownErrors[st.Code].message; want == "" {
		t.Errorf("%s has no documented message", st.Code)
	}
}

// checkValue checks a default or a spelling.
func checkValue(t *testing.T, st Statement) {
	e := newSDKEnv(t, Options{PreloadDetailAllowed: true})
	switch {
	case st.Name == NameObjectType && st.Kind == KindDefault:
		e.ok(st.API, map[string]string{"ObjectPath": "http://a.com/x"})
		if c := e.srv.Calls()[0]; c.ObjectType != st.Value {
			t.Errorf("%s without ObjectType refreshed as %q, want %q", st.API, c.ObjectType, st.Value)
		}
	case st.Name == NameObjectType:
		path := "http://a.com/x"
		switch st.Value {
		case "Directory":
			path = "http://a.com/d/"
		case "Regex":
			path = "http://a.com/.*"
		}
		e.ok(st.API, map[string]string{"ObjectType": st.Value, "ObjectPath": path})
	case st.Name == NameForce:
		e.ok(st.API, map[string]string{"ObjectType": "Directory", "ObjectPath": "http://a.com/d/"})
		if got := strconv.FormatBool(e.srv.Calls()[0].Force); got != st.Value {
			t.Errorf("%s without Force: Force %s, want %s", st.API, got, st.Value)
		}
	case st.Name == NameObjectPath:
		body := e.ok(st.API, map[string]string{"ObjectPath": st.Value})
		byID := e.ok("DescribeRefreshTaskById", map[string]string{"TaskId": body["RefreshTaskId"].(string)})
		if got := fmt.Sprint(byID["Tasks"]); !strings.Contains(got, "ObjectPath:"+st.Value) {
			t.Errorf("task of ObjectPath %s: %s", st.Value, got)
		}
	case st.Name == NamePageSize:
		if body := e.ok(st.API, nil); body["PageSize"] != json.Number(st.Value) {
			t.Errorf("%s PageSize = %v, want %s", st.API, body["PageSize"], st.Value)
		}
	case st.Name == NameQuotaField:
		if body := e.ok(st.API, nil); body[st.Value] == nil {
			t.Errorf("%s answer %v lacks %s", st.API, body, st.Value)
		}
	case st.Name == NameByIDDescription || st.Name == NameListDescription:
		for _, r := range failureReasons {
			id := e.srv.AddTask(Task{ObjectPath: "http://a.com/" + strings.ReplaceAll(r.list, " ", ""), Created: e.clock.Now().Add(-time.Hour)})
			e.srv.FailTask(id, r.byID) // either spelling in, each API's out
		}
		params := map[string]string{"ObjectType": "file", "Status": "Failed"}
		if st.Name == NameByIDDescription {
			var ids []string
			for _, t := range e.srv.Tasks() {
				ids = append(ids, t.ID)
			}
			params = map[string]string{"TaskId": strings.Join(ids, ",")}
		}
		if got := fmt.Sprint(e.ok(st.API, params)["Tasks"]); !strings.Contains(got, "Description:"+st.Value+" ") {
			t.Errorf("%s Tasks = %s, want a Description %q", st.API, got, st.Value)
		}
	case st.Name == NameTaskStatus:
		body := e.ok("RefreshObjectCaches", map[string]string{"ObjectPath": "http://a.com/x"})
		id := body["RefreshTaskId"].(string)
		e.srv.FailTask(e.srv.AddTask(Task{ObjectPath: "http://a.com/f"}), "OriginTimeout")
		seen := map[string]bool{}
		for range 6 {
			for _, x := range e.ok(st.API, map[string]string{"TaskId": id + "," + e.srv.Tasks()[1].ID})["Tasks"].([]any) {
				seen[x.(map[string]any)["Status"].(string)] = true
			}
			e.clock.Advance(DefaultTaskDuration / 4)
		}
		if !seen[st.Value] {
			t.Errorf("%s never answered Status %s over a task's life; saw %v", st.API, st.Value, seen)
		}
	default:
		t.Fatalf("no check for %s %q", st.Kind, st.Name)
	}
}

// TestDocumentedCoversCodes makes sure every code the refresh APIs'
// error tables list is a statement, so that none is left unchecked.
func TestDocumentedCoversCodes(t *testing.T) {
	t.Parallel()
	have := map[string]bool{}
	for _, st := range Documented {
		if st.Kind == KindCode {
			have[st.Code] = true
		}
	}
	for _, c := range []string{
		"SingleRequest.OverLimit", "InvalidObjectType.Malformed", "InvalidObjectPath.Malformed", "QuotaExceeded.Refresh",
		"InvalidExtensiveDomain.ValueNotSupported", "QuotaPerMinuteExceeded.Refresh", "TooMany.Refresh", "TooManyRequests",
		"Throttling", "IllegalOperation", "InvalidDomain.NotFound", "InvalidDomain.Offline", "ServiceBusy", "OperationDenied",
		"PreloadQueueFull", "QuotaExceeded.Preload", "InvalidObjectPath.Size.Malformed", "InvalidStations.Malformed",
		"InvalidParameters", "InvalidTaskId.Malformed",
	} {
		if !have[c] {
			t.Errorf("Documented has no statement of the code %s", c)
		}
	}
}
