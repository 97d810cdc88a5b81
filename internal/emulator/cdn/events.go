package cdn

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/platform/fc"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// Event names of Function Compute's CDN event trigger for finished tasks.
const (
	EventRefreshed = "CachedObjectsRefreshed"
	EventPushed    = "CachedObjectsPushed"
)

// Values the emulator puts in every event.
const (
	eventVersion = "1.0.0" // the only version CDN event triggers support (FC CDNTriggerConfig, eventVersion)
	eventRegion  = "cn-hangzhou"
	// EventAccountID is the emulated account's id (userIdentity.aliUid, x-fc-account-id).
	EventAccountID = "1234567890123456"
	// EventFunctionName names the function in x-fc-function-name.
	EventFunctionName = "cdn-events"
	// EventSecurityToken is the STS token passed with the emulator's
	// access key in x-fc-security-token, as FC passes the function role's.
	EventSecurityToken = "emulator-sts-token"
)

// CDNEvents is the body Function Compute posts to a function for a CDN
// event trigger. Its shape is that of Function Compute's "Trigger event
// format" page (触发器Event格式), section "CDN triggers", sample for the
// CachedObjectsRefreshed and CachedObjectsPushed events (event version
// 1.0.0):
//
//	{"events": [{
//	  "eventName": "CachedObjectsRefreshed",
//	  "eventVersion": "1.0.0",
//	  "eventSource": "cdn",
//	  "region": "cn-hangzhou",
//	  "eventTime": "2018-03-16T14:19:55+08:00",
//	  "traceId": "cf89e5a8-7d59-4bb5-a33e-4c3d08e2****",
//	  "resource": {"domain": "example.com"},
//	  "eventParameter": {
//	    "objectPath": ["/2018/03/16/13/33b430c57e7.mp4", "/2018/03/16/14/4ff6b9bd54d.mp4"],
//	    "createTime": 1521180769,
//	    "domain": "example.com",
//	    "completeTime": 1521180777,
//	    "objectType": "File",
//	    "taskId": 2089687230
//	  },
//	  "userIdentity": {"aliUid": "164901546557****"}
//	}]}
//
// One event carries one task: its domain, and the paths (without scheme
// and host) of all the task's objects, as an array. createTime and
// completeTime are Unix seconds and taskId a number in the sample JSON
// (the page's field table calls them String); objectType is File or
// Directory. The emulator posts one event per task id when the task is
// Complete (a Failed task posts none), for CDN tasks only (the trigger is
// CDN's) and only for URL, directory and prefetch tasks (the objectType
// values the page documents).
type CDNEvents struct {
	Events []Event `json:"events"`
}

// Event is one CDN event.
type Event struct {
	EventName      string         `json:"eventName"`
	EventVersion   string         `json:"eventVersion"`
	EventSource    string         `json:"eventSource"`
	Region         string         `json:"region"`
	EventTime      string         `json:"eventTime"`
	TraceID        string         `json:"traceId"`
	Resource       EventResource  `json:"resource"`
	EventParameter EventParameter `json:"eventParameter"`
	UserIdentity   EventUser      `json:"userIdentity"`
}

// EventResource names the domain an event is about.
type EventResource struct {
	Domain string `json:"domain"`
}

// EventUser names the account.
type EventUser struct {
	AliUID string `json:"aliUid"`
}

// EventParameter describes the finished task.
type EventParameter struct {
	ObjectPath   []string `json:"objectPath"`
	CreateTime   int64    `json:"createTime"`
	Domain       string   `json:"domain"`
	CompleteTime int64    `json:"completeTime"`
	ObjectType   string   `json:"objectType"`
	TaskID       int64    `json:"taskId"`
}

// eventObjectType spells a task kind as the event's objectType does. The
// page documents File and Directory only, so the emulator posts no event
// for the other kinds (regex, IgnoreParams and cache-tag refreshes).
var eventObjectType = map[string]string{kindFile: "File", kindDirectory: "Directory", kindPreload: "File"}

// dueEventsLocked collects, and marks delivered, the events of every CDN
// task id whose records are all done by now, one event per id, in task
// order. Failed records are left out; an id with none Complete posts none.
func (s *Server) dueEventsLocked(now time.Time) []Event {
	type group struct {
		recs []*Task
		done bool
	}
	groups := map[string]*group{}
	var order []string
	for i := range s.tasks {
		t := &s.tasks[i]
		if t.Product != productCDN || t.delivered || eventObjectType[t.ObjectType] == "" {
			continue
		}
		g := groups[t.ID]
		if g == nil {
			g = &group{done: true}
			groups[t.ID] = g
			order = append(order, t.ID)
		}
		g.recs = append(g.recs, t)
		if now.Before(t.Completed) {
			g.done = false
		}
	}
	var out []Event
	for _, id := range order {
		g := groups[id]
		if !g.done {
			continue
		}
		var ev *Event
		for _, t := range g.recs {
			t.delivered = true
			if t.Failed {
				continue
			}
			if ev == nil {
				ev = s.newEvent(t, now)
			}
			ev.EventParameter.ObjectPath = append(ev.EventParameter.ObjectPath, pathOf(t.ObjectPath))
			ev.EventParameter.CompleteTime = max(ev.EventParameter.CompleteTime, t.Completed.Unix())
		}
		if ev != nil {
			out = append(out, *ev)
		}
	}
	return out
}

func (s *Server) newEvent(t *Task, now time.Time) *Event {
	name := EventRefreshed
	if t.ObjectType == kindPreload {
		name = EventPushed
	}
	id, _ := strconv.ParseInt(t.ID, 10, 64)
	s.seq++
	return &Event{
		EventName:    name,
		EventVersion: eventVersion,
		EventSource:  "cdn",
		Region:       eventRegion,
		EventTime:    now.In(time.FixedZone("", 8*3600)).Format(time.RFC3339),
		TraceID:      fmt.Sprintf("cf89e5a8-%04x-4bb5-a33e-%012x", s.seq>>48&0xffff, s.seq&0xffffffffffff),
		Resource:     EventResource{Domain: t.Domain},
		EventParameter: EventParameter{
			CreateTime: t.Created.Unix(),
			Domain:     t.Domain,
			ObjectType: eventObjectType[t.ObjectType],
			TaskID:     id,
		},
		UserIdentity: EventUser{AliUID: EventAccountID},
	}
}

// DeliverEvents posts the events of every CDN task done by the emulator's
// clock and not yet posted to Options.EventTarget, one invocation per
// event, and returns how many the function accepted. It does nothing
// without an EventTarget. Run calls it periodically; tests on a fake
// clock call it after advancing the clock.
func (s *Server) DeliverEvents(ctx context.Context) int {
	if s.opts.EventTarget == "" {
		return 0
	}
	s.mu.Lock()
	evs := s.dueEventsLocked(s.now())
	s.mu.Unlock()
	n := 0
	for _, ev := range evs {
		if s.deliver(ctx, ev) {
			n++
		}
	}
	return n
}

// deliver posts one event as an FC 3.0 event invocation of a custom
// runtime (POST /invoke, x-fc-control-path /invoke, the role's credentials
// in x-fc-access-key-id, x-fc-access-key-secret, x-fc-security-token),
// retrying a failure with backoff as FC retries an asynchronous
// invocation.
func (s *Server) deliver(ctx context.Context, ev Event) bool {
	body, err := json.Marshal(CDNEvents{Events: []Event{ev}})
	if err != nil {
		return false
	}
	retries := orDefault(s.opts.EventRetries, 3)
	base := strings.TrimSuffix(strings.TrimSuffix(s.opts.EventTarget, "/"), "/invoke")
	keyID := slices.Sorted(maps.Keys(s.keys))[0]
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			s.count(func(st *EventStats) { st.Retries++ })
		}
		inv := fc.Invoke{
			RequestID:    fmt.Sprintf("1-%08x-%08x-%012x", time.Now().Unix(), ev.EventParameter.TaskID&0xffffffff, attempt),
			FunctionName: EventFunctionName,
			RetryCount:   attempt,
			Credentials:  refresh.Credentials{AccessKeyID: keyID, AccessKeySecret: s.keys[keyID], SecurityToken: EventSecurityToken},
		}
		if s.post(ctx, inv, base, body) {
			s.count(func(st *EventStats) { st.Delivered++ })
			return true
		}
		s.count(func(st *EventStats) { st.Failed++ })
		if attempt >= retries {
			s.count(func(st *EventStats) { st.Dropped++ })
			return false
		}
		t := time.NewTimer(time.Duration(100<<attempt) * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			s.count(func(st *EventStats) { st.Dropped++ })
			return false
		case <-t.C:
		}
	}
}

// post makes one invocation and reports whether the function succeeded:
// HTTP 2xx and no x-fc-status 404.
func (s *Server) post(ctx context.Context, inv fc.Invoke, base string, body []byte) bool {
	req, err := inv.NewEventRequest(ctx, base, body)
	if err != nil {
		return false
	}
	req.Header.Set("x-fc-region", eventRegion)
	req.Header.Set("x-fc-account-id", EventAccountID)
	req.Header.Set("x-fc-qualifier", "LATEST")
	resp, err := s.events.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	status := fc.Status(resp)
	return resp.StatusCode/100 == 2 && status/100 == 2
}

func (s *Server) count(f func(*EventStats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.stats.Events)
}

// Run delivers CDN events (DeliverEvents) every interval of real time
// until ctx is done. It returns at once without an Options.EventTarget.
func (s *Server) Run(ctx context.Context, interval time.Duration) {
	if s.opts.EventTarget == "" {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.DeliverEvents(ctx)
		}
	}
}
