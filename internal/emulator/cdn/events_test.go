package cdn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cdnrefresh/cdnrefresh/internal/platform/fc"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// function is a function under FC's custom-runtime protocol (the
// project's own fc.Server) that records the events it is invoked with and
// fails its first fails invocations.
type function struct {
	mu     sync.Mutex
	fails  int
	bodies [][]byte
	creds  []refresh.Credentials
	inv    []fc.Invocation
	url    string
}

func newFunction(t *testing.T, fails int) *function {
	f := &function{fails: fails}
	srv := httptest.NewServer(&fc.Server{Out: new(bytes.Buffer), Event: func(ctx context.Context, payload []byte) (any, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.fails > 0 {
			f.fails--
			return nil, errors.New("function failed")
		}
		c, _ := refresh.CredentialsFrom(ctx)
		inv, _ := fc.FromContext(ctx)
		f.bodies = append(f.bodies, payload)
		f.creds = append(f.creds, c)
		f.inv = append(f.inv, inv)
		return "ok", nil
	}})
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *function) events(t *testing.T) []Event {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Event
	for _, b := range f.bodies {
		var e CDNEvents
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil || len(e.Events) != 1 {
			t.Fatalf("event body %s: %v, want one event", b, err)
		}
		out = append(out, e.Events[0])
	}
	return out
}

func TestEvents(t *testing.T) {
	t.Parallel()
	fn := newFunction(t, 0)
	e := newEnv(t, Options{EventTarget: fn.url, TaskDuration: 5 * time.Minute})
	ctx := context.Background()
	created := e.clock.Now()
	r := e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectPath": "http://a.com/1.css\nhttps://b.com/2.js?v=2\na.com/img/3.png"})
	wantOK(t, r)
	wantOK(t, e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectType": "Directory", "ObjectPath": "http://a.com/img/"}))
	wantOK(t, e.call(map[string]string{"Action": "PushObjectCache", "ObjectPath": "http://a.com/1.css"}))
	wantOK(t, e.call(map[string]string{"Action": "RefreshDcdnObjectCaches", "ObjectPath": "http://a.com/dcdn"})) // DCDN: no CDN event
	// No documented objectType for these: no event.
	wantOK(t, e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectType": "Regex", "ObjectPath": "http://a.com/.*"}))
	wantOK(t, e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectType": "IgnoreParams", "ObjectPath": "http://a.com/q"}))
	wantOK(t, e.call(map[string]string{"Action": "RefreshObjectCacheByCacheTag", "DomainName": "a.com", "CacheTag": "t"}))
	e.srv.Inject(Faults{TaskFail: 1})
	wantOK(t, e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectPath": "http://c.com/fails"})) // Failed: no event
	e.srv.Inject(Faults{})

	if n := e.srv.DeliverEvents(ctx); n != 0 {
		t.Fatalf("DeliverEvents before any task is done posted %d events", n)
	}
	e.clock.Advance(5*time.Minute - time.Second)
	if n := e.srv.DeliverEvents(ctx); n != 0 {
		t.Fatalf("DeliverEvents a second before the tasks are done posted %d events", n)
	}
	e.clock.Advance(time.Second)
	if n := e.srv.DeliverEvents(ctx); n != 4 {
		t.Fatalf("DeliverEvents when the tasks are done posted %d events, want 4", n)
	}
	if n := e.srv.DeliverEvents(ctx); n != 0 {
		t.Errorf("DeliverEvents again posted %d events, want none: each is posted once", n)
	}

	done := created.Add(5 * time.Minute)
	param := func(paths []string, typ string) EventParameter {
		return EventParameter{ObjectPath: paths, CreateTime: created.Unix(), CompleteTime: done.Unix(), ObjectType: typ}
	}
	want := []Event{
		{EventName: EventRefreshed, EventParameter: param([]string{"/1.css", "/img/3.png"}, "File"), Resource: EventResource{"a.com"}},
		{EventName: EventRefreshed, EventParameter: param([]string{"/2.js?v=2"}, "File"), Resource: EventResource{"b.com"}},
		{EventName: EventRefreshed, EventParameter: param([]string{"/img/"}, "Directory"), Resource: EventResource{"a.com"}},
		{EventName: EventPushed, EventParameter: param([]string{"/1.css"}, "File"), Resource: EventResource{"a.com"}},
	}
	for i := range want {
		w := &want[i]
		w.EventVersion, w.EventSource, w.Region = "1.0.0", "cdn", "cn-hangzhou"
		w.EventTime = "2025-03-01T12:05:00+08:00"
		w.EventParameter.Domain = w.Resource.Domain
		w.UserIdentity = EventUser{EventAccountID}
	}
	got := fn.events(t)
	sort.SliceStable(got, func(i, j int) bool { return got[i].EventParameter.TaskID < got[j].EventParameter.TaskID })
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Event{}, "TraceID"), cmpopts.IgnoreFields(EventParameter{}, "TaskID")); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	tasks := e.srv.Tasks()
	for i, ev := range got {
		if ev.TraceID == "" || i > 0 && ev.TraceID == got[i-1].TraceID {
			t.Errorf("event %d traceId %q, want a fresh one", i, ev.TraceID)
		}
		if !slices.ContainsFunc(tasks, func(t Task) bool { return t.ID == strconv.FormatInt(ev.EventParameter.TaskID, 10) }) {
			t.Errorf("event %d taskId %d is no task's", i, ev.EventParameter.TaskID)
		}
	}
	for i, c := range fn.creds {
		if c.AccessKeyID != AccessKeyID || c.AccessKeySecret != AccessKeySecret || c.SecurityToken != EventSecurityToken {
			t.Errorf("invocation %d credentials %v, want the emulator's key and an STS token", i, c)
		}
		if inv := fn.inv[i]; inv.RequestID == "" || inv.FunctionName != EventFunctionName || inv.Deadline.IsZero() {
			t.Errorf("invocation %d = %+v, want a request id, the function name and a deadline from x-fc-function-timeout", i, inv)
		}
	}
	if st := e.srv.Stats().Events; st != (EventStats{Delivered: 4}) {
		t.Errorf("Stats().Events = %+v, want 4 delivered", st)
	}
}

// TestEventsRetried: a failed delivery is retried as FC retries an
// asynchronous invocation, and given up after the last retry.
func TestEventsRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fails   int
		retries int
		want    EventStats
	}{
		{"second retry succeeds", 2, 0, EventStats{Delivered: 1, Failed: 2, Retries: 2}},
		{"no retries left", 2, 1, EventStats{Failed: 2, Retries: 1, Dropped: 1}},
		{"never retried", 1, -1, EventStats{Failed: 1, Dropped: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := newFunction(t, tt.fails)
			e := newEnv(t, Options{EventTarget: fn.url + "/invoke", EventRetries: tt.retries, TaskDuration: -1})
			wantOK(t, e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectPath": "http://a.com/x"}))
			e.srv.DeliverEvents(context.Background())
			if st := e.srv.Stats().Events; st != tt.want {
				t.Errorf("Stats().Events = %+v, want %+v", st, tt.want)
			}
			if n := len(fn.events(t)); n != tt.want.Delivered {
				t.Errorf("the function got %d events, want %d", n, tt.want.Delivered)
			}
			fn.mu.Lock()
			defer fn.mu.Unlock()
			for _, inv := range fn.inv {
				if inv.RetryCount != tt.fails {
					t.Errorf("delivered with x-fc-retry-count %d, want %d", inv.RetryCount, tt.fails)
				}
			}
		})
	}
}

// TestRunDeliversEvents: Run posts events as tasks finish, on real time.
func TestRunDeliversEvents(t *testing.T) {
	t.Parallel()
	fn := newFunction(t, 0)
	s := New(Options{EventTarget: fn.url, TaskDuration: 50 * time.Millisecond})
	ts := httptest.NewServer(s)
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx, 10*time.Millisecond); close(done) }()
	e := &env{t: t, srv: s, ts: ts}
	wantOK(t, e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectPath": "http://a.com/x"}))
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Events.Delivered == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if got := fn.events(t); len(got) != 1 || got[0].EventParameter.ObjectPath[0] != "/x" {
		t.Errorf("Run delivered %+v, want one event for /x", got)
	}
}

// TestEventSamples: the samples in events/ have exactly the shape the
// emulator posts (no field more or less, the same JSON types).
func TestEventSamples(t *testing.T) {
	t.Parallel()
	fn := newFunction(t, 0)
	e := newEnv(t, Options{EventTarget: fn.url, TaskDuration: -1})
	wantOK(t, e.call(map[string]string{"Action": "RefreshObjectCaches", "ObjectPath": "http://a.com/x"}))
	wantOK(t, e.call(map[string]string{"Action": "PushObjectCache", "ObjectPath": "http://a.com/x"}))
	e.srv.DeliverEvents(context.Background())
	fn.mu.Lock()
	posted := map[string][]byte{}
	for _, b := range fn.bodies {
		var e CDNEvents
		json.Unmarshal(b, &e)
		posted[e.Events[0].EventName] = b
	}
	fn.mu.Unlock()
	for file, name := range map[string]string{"cdn-refresh-complete.json": EventRefreshed, "cdn-push-complete.json": EventPushed} {
		t.Run(file, func(t *testing.T) {
			sample, err := os.ReadFile("../../../events/" + file)
			if err != nil {
				t.Fatal(err)
			}
			var s, p any
			if err := json.Unmarshal(sample, &s); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			json.Unmarshal(posted[name], &p)
			if diff := cmp.Diff(shape(p), shape(s)); diff != "" {
				t.Errorf("%s differs in shape from the %s the emulator posts (-posted +sample):\n%s", file, name, diff)
			}
			var ev CDNEvents
			json.Unmarshal(sample, &ev)
			if ev.Events[0].EventName != name {
				t.Errorf("%s eventName %q, want %s", file, ev.Events[0].EventName, name)
			}
		})
	}
}

// shape replaces every value of decoded JSON by its type's name, and an
// array by its first element's shape.
func shape(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, x := range v {
			m[k] = shape(x)
		}
		return m
	case []any:
		if len(v) == 0 {
			return []any{}
		}
		return []any{shape(v[0])}
	}
	return reflect.TypeOf(v).String()
}
