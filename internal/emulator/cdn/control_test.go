package cdn

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// control sends method path with body to the env's control endpoints and
// returns the status and the decoded answer.
func (e *env) control(method, path, body string) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		e.t.Fatalf("%s %s answered %s: %v", method, path, b, err)
	}
	return resp.StatusCode, m
}

func TestControlStats(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{TaskDuration: 10 * time.Second})
	wantOK(t, e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectPath": "http://a.com/1\nhttp://b.com/2\nhttp://a.com/3"}))
	e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectType": "Folder", "ObjectPath": "http://a.com/d/"})
	e.clock.Advance(5 * time.Second)
	status, got := e.control("GET", "/_emulator/stats", "")
	want := map[string]any{
		"requests": 2.0, "accepted": 1.0, "sts": 0.0, "urls": 3.0,
		"refused":     map[string]any{"InvalidObjectType.Malformed": 1.0},
		"calls":       map[string]any{"RefreshObjectCaches": 2.0},
		"domain_urls": map[string]any{"a.com": 2.0, "b.com": 1.0},
		"tasks":       map[string]any{"Refreshing": 3.0},
		"events":      map[string]any{"delivered": 0.0, "failed": 0.0, "retries": 0.0, "dropped": 0.0},
	}
	if diff := cmp.Diff(want, got); status != 200 || diff != "" {
		t.Errorf("GET /_emulator/stats = %d, mismatch (-want +got):\n%s", status, diff)
	}
}

func TestControlFaultsAndReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{URLQuota: 5, Faults: Faults{ServerError: 1, Actions: []string{"PushObjectCache"}}})
	if status, _ := e.control("POST", "/_emulator/faults", `{"throttle_rate":1,"delay":"1ms","actions":["RefreshObjectCaches"],"task_fail_rate":0.5}`); status != 200 {
		t.Fatalf("POST /_emulator/faults = %d", status)
	}
	if r := e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectPath": "http://a.com/1"}); r.code() != "TooManyRequests" {
		t.Errorf("refresh with throttle_rate 1: code %q, want TooManyRequests", r.code())
	}
	wantOK(t, e.call(map[string]string{"Action": "DescribeRefreshQuota"})) // not among the actions
	status, got := e.control("GET", "/_emulator/faults", "")
	want := map[string]any{"throttle_rate": 1.0, "fail_rate": 0.0, "delay": "1ms", "delay_rate": 0.0, "task_fail_rate": 0.5, "actions": []any{"RefreshObjectCaches"}}
	if diff := cmp.Diff(want, got); status != 200 || diff != "" {
		t.Errorf("GET /_emulator/faults = %d, mismatch (-want +got):\n%s", status, diff)
	}

	// next forces codes; reset restores quotas, tasks, counters and the
	// faults the emulator started with.
	e.control("POST", "/_emulator/faults", `{"next":["PreloadQueueFull"]}`)
	if r := e.call(map[string]string{"Action": "DescribeRefreshQuota"}); r.status != 400 || r.code() != "PreloadQueueFull" {
		t.Errorf("next PreloadQueueFull: %d %q", r.status, r.code())
	}
	wantOK(t, e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectPath": urls(4, "http://a.com/%d")}))
	if status, got := e.control("POST", "/_emulator/reset", ""); status != 200 || got["reset"] != true {
		t.Fatalf("POST /_emulator/reset = %d %v", status, got)
	}
	if n := len(e.srv.Tasks()); n != 0 {
		t.Errorf("after reset, %d tasks", n)
	}
	if st := e.srv.Stats(); st.Requests != 0 || st.URLs != 0 || len(st.Calls) != 0 {
		t.Errorf("after reset, Stats() = %+v", st)
	}
	wantOK(t, e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectPath": urls(5, "http://a.com/%d")})) // the whole quota again
	if r := e.call(map[string]string{"Action": "PushObjectCache", "ObjectPath": "http://a.com/x"}); r.code() != "InternalError" {
		t.Errorf("after reset, push: code %q, want the starting faults' InternalError", r.code())
	}
}

func TestControlRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	signed := e.signed("GET", AccessKeyID, AccessKeySecret, map[string]string{"Action": "DescribeRefreshQuota"}).Encode()
	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"signed API request", "GET", "/_emulator/stats?" + signed, "", http.StatusBadRequest},
		{"Action alone", "POST", "/_emulator/reset?Action=RefreshObjectCaches", "", http.StatusBadRequest},
		{"unknown endpoint", "GET", "/_emulator/tasks", "", http.StatusNotFound},
		{"stats by POST", "POST", "/_emulator/stats", "", http.StatusMethodNotAllowed},
		{"reset by GET", "GET", "/_emulator/reset", "", http.StatusMethodNotAllowed},
		{"faults by PUT", "PUT", "/_emulator/faults", "{}", http.StatusMethodNotAllowed},
		{"unknown field", "POST", "/_emulator/faults", `{"throttle":1}`, http.StatusBadRequest},
		{"rate above 1", "POST", "/_emulator/faults", `{"fail_rate":2}`, http.StatusBadRequest},
		{"bad delay", "POST", "/_emulator/faults", `{"delay":"soon"}`, http.StatusBadRequest},
		{"negative delay", "POST", "/_emulator/faults", `{"delay":"-1s"}`, http.StatusBadRequest},
		{"unknown action", "POST", "/_emulator/faults", `{"actions":["Refresh"]}`, http.StatusBadRequest},
		{"empty code", "POST", "/_emulator/faults", `{"next":[""]}`, http.StatusBadRequest},
		{"not JSON", "POST", "/_emulator/faults", `throttle_rate=1`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, got := e.control(tt.method, tt.path, tt.body)
			if status != tt.want || got["error"] == nil {
				t.Errorf("%s %s = %d %v, want %d with an error", tt.method, tt.path, status, got, tt.want)
			}
		})
	}
	if st := e.srv.Stats(); st.Requests != 0 {
		t.Errorf("a refused control request reached the API: Stats() = %+v", st)
	}
	if f := e.srv.Faults(); f.Throttle != 0 || f.ServerError != 0 || f.Delay != 0 || len(f.Actions) != 0 {
		t.Errorf("refused POSTs changed the faults: %+v", f)
	}

	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/_emulator/stats", nil)
	req.RemoteAddr = "192.0.2.7:40000"
	e.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("GET /_emulator/stats from 192.0.2.7 = %d, want 403", rec.Code)
	}
}

func TestOptionsCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts Options
		want string // "" for none
	}{
		{"zero", Options{}, ""},
		{"every choice", Options{ThrottleStatus: 503, IgnoreParamsSpelling: SpellExQuery, EventTarget: "http://127.0.0.1:9000",
			DomainStatus: map[string]string{"a.com": DomainOffline}, CallsPerSecond: map[string]int{"*": -1, "RefreshObjectCaches": 5}}, ""},
		{"status", Options{ThrottleStatus: 500}, "throttle status 500"},
		{"spelling", Options{IgnoreParamsSpelling: "exquery"}, `spelling "exquery"`},
		{"domain state", Options{DomainStatus: map[string]string{"a.com": "paused"}}, `state "paused"`},
		{"action", Options{CallsPerSecond: map[string]int{"Purge": 1}}, `action "Purge"`},
		{"event target", Options{EventTarget: "127.0.0.1:9000"}, "event target"},
		{"fault", Options{Faults: Faults{TaskFail: 1.5}}, "task fail rate 1.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Check()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Check() = %v, want %q", err, tt.want)
			}
		})
	}
}
