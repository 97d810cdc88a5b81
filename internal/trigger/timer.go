package trigger

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// The tasks a timer invocation can select, in the order they run.
const (
	TaskDrain  = "drain"  // replay the spill store
	TaskReport = "report" // report quota, failed tasks and backlog
)

// allTasks is what a timer runs when its payload selects nothing.
var allTasks = []string{TaskDrain, TaskReport}

// Timer is a decoded scheduled invocation.
type Timer struct {
	// TriggerTime is when the schedule fired, in UTC; zero for a bare input,
	// which carries no time.
	TriggerTime time.Time
	// TriggerName names the FC timer trigger, or the EventBridge rule.
	TriggerName string
	// Payload is the selector as configured: the FC trigger's payload
	// string, or the bare JSON input. Empty when none was given.
	Payload string
	// Tasks are the tasks to run, in order (drain before report), never
	// empty.
	Tasks []string
}

// ParseTimer decodes a scheduled invocation: an FC timer event
// {"triggerTime","triggerName","payload"}, an EventBridge scheduled event
// (detail-type "Scheduled Event", source "aws.events"), or the bare JSON
// input an EventBridge rule sends in place of its event.
//
// The payload (or bare input) selects the work: {"tasks":["drain","report"]},
// ["drain"], or one of "drain", "report" and "both" — as JSON, or as plain
// text, which may also list names separated by commas. {"task":…} is
// refused with a pointer to "tasks", the one key for it.
// An FC payload may hold that JSON inside its string. An empty payload, an
// empty object and the EventBridge scheduled event select both tasks.
// Unknown task names and unknown selector fields are errors naming them.
func ParseTimer(raw []byte) (Timer, error) {
	v, err := decodeTop("timer event", raw)
	if err != nil {
		return Timer{}, err
	}
	switch k := refresh.JSONKind(v); k {
	case "string", "array":
		tasks, err := selectTasks(v, 0)
		if err != nil {
			return Timer{}, fmt.Errorf("trigger: timer input: %w", err)
		}
		return Timer{Payload: string(v), Tasks: tasks}, nil
	case "object":
	default:
		return Timer{}, fmt.Errorf("trigger: timer event is JSON %s, want object, string or array", k)
	}
	fields, err := topObject("timer event", v)
	if err != nil {
		return Timer{}, err
	}
	_, hasDetailType := fields["detail-type"]
	_, hasTime := fields["triggerTime"]
	_, hasName := fields["triggerName"]
	switch {
	case hasDetailType:
		return parseScheduledEvent(v)
	case hasTime || hasName:
		return parseFCTimer(fields)
	}
	tasks, err := selectTasks(v, 0)
	if err != nil {
		return Timer{}, fmt.Errorf("trigger: timer input: %w", err)
	}
	return Timer{Payload: string(v), Tasks: tasks}, nil
}

// parseFCTimer decodes an FC timer event.
func parseFCTimer(fields map[string]json.RawMessage) (Timer, error) {
	var t Timer
	if err := stringField(fields, "triggerName", &t.TriggerName); err != nil {
		return Timer{}, err
	}
	var at string
	if err := stringField(fields, "triggerTime", &at); err != nil {
		return Timer{}, err
	}
	if at != "" {
		tt, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			return Timer{}, fmt.Errorf("trigger: FC timer event: triggerTime %s is not an RFC 3339 time", clip(at))
		}
		t.TriggerTime = tt.UTC()
	}
	p := fields["payload"]
	switch k := refresh.JSONKind(p); k {
	case "nothing", "null":
	case "string":
		if err := json.Unmarshal(p, &t.Payload); err != nil {
			return Timer{}, fmt.Errorf("trigger: FC timer event: payload: %s", describe(err))
		}
	case "object", "array":
		t.Payload = string(p) // a hand-made event may hold the JSON itself
	default:
		return Timer{}, fmt.Errorf("trigger: FC timer event: payload is JSON %s, want string", k)
	}
	tasks, err := selectTasks([]byte(t.Payload), 0)
	if err != nil {
		return Timer{}, fmt.Errorf("trigger: FC timer %s: payload: %w", clip(t.TriggerName), err)
	}
	t.Tasks = tasks
	return t, nil
}

// stringField stores the JSON string fields[name], if present, in dst.
func stringField(fields map[string]json.RawMessage, name string, dst *string) error {
	v, ok := fields[name]
	if !ok || refresh.JSONKind(v) == "null" {
		return nil
	}
	if k := refresh.JSONKind(v); k != "string" {
		return fmt.Errorf("trigger: FC timer event: %s is JSON %s, want string", name, k)
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return fmt.Errorf("trigger: FC timer event: %s: %s", name, describe(err))
	}
	return nil
}

// parseScheduledEvent decodes an EventBridge scheduled event; it selects
// both tasks, since a rule that wants fewer sends an Input instead.
func parseScheduledEvent(v []byte) (Timer, error) {
	var e events.EventBridgeEvent
	if err := json.Unmarshal(v, &e); err != nil {
		return Timer{}, fmt.Errorf("trigger: EventBridge event: %s", describe(err))
	}
	if e.DetailType != "Scheduled Event" || e.Source != "aws.events" {
		return Timer{}, fmt.Errorf("trigger: EventBridge event from source %s with detail-type %s is not a scheduled event",
			clip(e.Source), clip(e.DetailType))
	}
	t := Timer{TriggerTime: e.Time.UTC(), Tasks: slices.Clone(allTasks)}
	if len(e.Resources) > 0 {
		// arn:aws:events:REGION:ACCOUNT:rule/NAME (or rule/BUS/NAME)
		r := e.Resources[0]
		t.TriggerName = r[strings.LastIndex(r, "/")+1:]
	}
	return t, nil
}

// taskSelector is the JSON object form of a selector.
type taskSelector struct {
	Tasks []string `json:"tasks"`
}

// selectTasks returns the tasks a selector names, in run order; depth
// bounds how many JSON-in-a-string layers are unwrapped.
func selectTasks(sel []byte, depth int) ([]string, error) {
	s := strings.TrimSpace(string(sel))
	if s == "" {
		return slices.Clone(allTasks), nil
	}
	if !json.Valid([]byte(s)) {
		// Plain text: "report", "drain, report", "both".
		return taskNames(strings.Split(s, ","))
	}
	switch k := refresh.JSONKind([]byte(s)); k {
	case "string":
		if depth >= 3 {
			return nil, fmt.Errorf("selector %s is nested too deeply in strings", clip(s))
		}
		var inner string
		if err := json.Unmarshal([]byte(s), &inner); err != nil {
			return nil, fmt.Errorf("selector: %s", describe(err))
		}
		return selectTasks([]byte(inner), depth+1)
	case "array":
		var names []string
		if err := json.Unmarshal([]byte(s), &names); err != nil {
			return nil, fmt.Errorf("selector: %s", describe(err))
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("selector %s names no task", clip(s))
		}
		return taskNames(names)
	case "object":
		var fields map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &fields); err != nil {
			return nil, fmt.Errorf("selector: %s", describe(err))
		}
		if _, ok := fields["task"]; ok {
			return nil, errors.New(`selector field "task" is not a key: use "tasks", e.g. {"tasks":["drain"]}`)
		}
		var unknown []string
		for name := range fields {
			if name != "tasks" {
				unknown = append(unknown, clip(name))
			}
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			return nil, fmt.Errorf("selector has unknown field %s (want tasks)", strings.Join(unknown, ", "))
		}
		if _, ok := fields["tasks"]; !ok {
			return slices.Clone(allTasks), nil
		}
		var ts taskSelector
		if err := json.Unmarshal([]byte(s), &ts); err != nil {
			return nil, fmt.Errorf("selector: %s", describe(err))
		}
		if len(ts.Tasks) == 0 {
			return nil, errors.New("selector tasks is empty")
		}
		return taskNames(ts.Tasks)
	default:
		return nil, fmt.Errorf("selector is JSON %s, want object, array or string", k)
	}
}

// taskNames checks names and returns the tasks they select, in run order.
func taskNames(names []string) ([]string, error) {
	var drain, report bool
	var unknown []string
	for _, n := range names {
		switch strings.ToLower(strings.TrimSpace(n)) {
		case TaskDrain:
			drain = true
		case TaskReport:
			report = true
		case "both":
			drain, report = true, true
		default:
			unknown = append(unknown, clip(n))
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown task %s (want drain, report or both)", strings.Join(unknown, ", "))
	}
	var tasks []string
	if drain {
		tasks = append(tasks, TaskDrain)
	}
	if report {
		tasks = append(tasks, TaskReport)
	}
	return tasks, nil
}
