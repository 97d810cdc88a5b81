package trigger

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// CDN event names the cdn-events function acts on (Function Compute: CDN
// event triggers; "Trigger event format", CDN trigger), event version
// 1.0.0.
const (
	EventRefreshed = "CachedObjectsRefreshed" // a refresh task completed
	EventPushed    = "CachedObjectsPushed"    // a prefetch task completed
)

// cdnEvent is one record of a CDN event trigger payload:
//
//	{"events":[{"eventName":"CachedObjectsRefreshed","eventVersion":"1.0.0","eventSource":"cdn",
//	  "region":"cn-hangzhou","eventTime":"2018-03-16T14:19:55+08:00","resource":{"domain":"example.com"},
//	  "eventParameter":{"objectPath":["/a.mp4"],"createTime":1521180769,"domain":"example.com",
//	    "completeTime":1521180777,"objectType":"File","taskId":2089687230},
//	  "userIdentity":{"aliUid":"..."}}]}
//
// The page's field table calls taskId, createTime and completeTime
// strings, its sample has numbers: either is taken.
type cdnEvent struct {
	EventName      string `json:"eventName"`
	EventVersion   string `json:"eventVersion"`
	EventSource    string `json:"eventSource"`
	EventParameter struct {
		ObjectPath   []string        `json:"objectPath"`
		CreateTime   json.RawMessage `json:"createTime"`
		CompleteTime json.RawMessage `json:"completeTime"`
		Domain       string          `json:"domain"`
		ObjectType   string          `json:"objectType"`
		TaskID       json.RawMessage `json:"taskId"`
	} `json:"eventParameter"`
}

// ParseCDN decodes a CDN event trigger payload into the completions it
// reports. Events of other names (a domain added, a log file) are ignored
// with why. A payload that is not such an event, or a completion without
// its task id, domain or completion time, is an error: the invocation
// fails, so that it is delivered again and, at last, to the failure
// destination.
func ParseCDN(raw []byte) ([]refresh.Completion, []refresh.Ignored, error) {
	v, err := decodeTop("CDN event", raw)
	if err != nil {
		return nil, nil, err
	}
	var p struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(v, &p); err != nil {
		return nil, nil, fmt.Errorf("trigger: CDN event: %s", describe(err))
	}
	if p.Events == nil {
		return nil, nil, fmt.Errorf("trigger: CDN event: no \"events\" list")
	}
	var out []refresh.Completion
	var ignored []refresh.Ignored
	for i, rawEv := range p.Events {
		var e cdnEvent
		if err := json.Unmarshal(rawEv, &e); err != nil {
			return nil, nil, fmt.Errorf("trigger: CDN event %d: %s", i, describe(err))
		}
		var action refresh.Action
		switch e.EventName {
		case EventRefreshed:
			action = refresh.ActionRefresh
		case EventPushed:
			action = refresh.ActionPrefetch
		default:
			ignored = append(ignored, refresh.Ignored{Key: fmt.Sprintf("events[%d]", i), Reason: "event " + strconv.Quote(e.EventName) + " is not a refresh or prefetch completion"})
			continue
		}
		ep := e.EventParameter
		id, err := scalar(ep.TaskID)
		if err != nil || id == "" {
			return nil, nil, fmt.Errorf("trigger: CDN event %d (%s): eventParameter.taskId: missing or not a number or string", i, e.EventName)
		}
		domain := strings.ToLower(strings.TrimSpace(ep.Domain))
		if domain == "" {
			return nil, nil, fmt.Errorf("trigger: CDN event %d (%s): eventParameter.domain is empty", i, e.EventName)
		}
		done, err := unixTime(ep.CompleteTime)
		if err != nil {
			return nil, nil, fmt.Errorf("trigger: CDN event %d (%s): eventParameter.completeTime: %v", i, e.EventName, err)
		}
		created, _ := unixTime(ep.CreateTime) // informative only
		out = append(out, refresh.Completion{Action: action, TaskID: id, Domain: domain, Paths: ep.ObjectPath,
			ObjectType: ep.ObjectType, Created: created, Completed: done})
	}
	return out, ignored, nil
}

// scalar returns a JSON number or string as text.
func scalar(v json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return strings.TrimSpace(s), nil
	}
	var n json.Number
	if err := json.Unmarshal(v, &n); err != nil {
		return "", err
	}
	return n.String(), nil
}

// unixTime reads Unix seconds given as a JSON number or string.
func unixTime(v json.RawMessage) (time.Time, error) {
	s, err := scalar(v)
	if err != nil || s == "" {
		return time.Time{}, fmt.Errorf("missing or not Unix seconds")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, fmt.Errorf("%q is not Unix seconds", s)
	}
	return time.Unix(n, 0).UTC(), nil
}
