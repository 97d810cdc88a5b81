package trigger

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseTimerSamples(t *testing.T) {
	tests := []struct {
		file string
		kind Kind
		want Timer
	}{
		{"timer.json", KindTimer, Timer{
			TriggerTime: at("2024-05-11T02:00:00Z"), TriggerName: "cdnrefresh-report",
			Payload: `{"tasks":["drain","report"]}`, Tasks: []string{"drain", "report"},
		}},
		{"eventbridge-schedule.json", KindEventBridge, Timer{
			TriggerTime: at("2024-05-11T02:00:00Z"), TriggerName: "cdnrefresh-report",
			Tasks: []string{"drain", "report"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := readEvent(t, tt.file)
			if k, err := Detect(raw); err != nil || k != tt.kind {
				t.Errorf("Detect(%s) = %v, %v, want %v", tt.file, k, err, tt.kind)
			}
			got, err := ParseTimer(raw)
			if err != nil {
				t.Fatalf("ParseTimer(%s): %v", tt.file, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseTimer(%s) mismatch (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

// quoteN wraps s in n layers of JSON string.
func quoteN(s string, n int) string {
	for range n {
		b, _ := json.Marshal(s)
		s = string(b)
	}
	return s
}

// fcTimer returns an FC timer event whose payload string is p.
func fcTimer(p string) string {
	b, err := json.Marshal(map[string]string{"triggerTime": "2024-05-11T02:00:00Z", "triggerName": "t", "payload": p})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestParseTimerTasks(t *testing.T) {
	both := []string{"drain", "report"}
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"fc empty payload", fcTimer(""), both},
		{"fc blank payload", fcTimer("  "), both},
		{"fc no payload", `{"triggerTime":"2024-05-11T02:00:00Z","triggerName":"t"}`, both},
		{"fc null payload", `{"triggerName":"t","payload":null}`, both},
		{"fc plain drain", fcTimer("drain"), []string{"drain"}},
		{"fc plain report", fcTimer("report"), []string{"report"}},
		{"fc plain both", fcTimer("both"), both},
		{"fc plain upper case", fcTimer(" Report "), []string{"report"}},
		{"fc plain list", fcTimer("report, drain"), both},
		{"fc json tasks", fcTimer(`{"tasks":["report"]}`), []string{"report"}},
		{"fc json tasks reordered", fcTimer(`{"tasks":["report","drain","report"]}`), both},
		{"fc json tasks both", fcTimer(`{"tasks":["both"]}`), both},
		{"fc json empty object", fcTimer(`{}`), both},
		{"fc json string", fcTimer(`"report"`), []string{"report"}},
		{"fc three layers of string", fcTimer(quoteN("report", 3)), []string{"report"}},
		{"fc json string in string", fcTimer(`"{\"tasks\":[\"drain\"]}"`), []string{"drain"}},
		{"fc json array", fcTimer(`["drain"]`), []string{"drain"}},
		{"fc payload as object", `{"triggerName":"t","payload":{"tasks":["report"]}}`, []string{"report"}},
		{"bare tasks", `{"tasks":["drain"]}`, []string{"drain"}},
		{"bare empty object", `{}`, both},
		{"bare string", `"drain"`, []string{"drain"}},
		{"bare string both", `"both"`, both},
		{"bare array", `["report","drain"]`, both},
		{"bare json in string", `"{\"tasks\":[\"report\"]}"`, []string{"report"}},
		{"eventbridge without resources", `{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}`, both},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTimer([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseTimer(%s): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got.Tasks); diff != "" {
				t.Errorf("ParseTimer(%s).Tasks mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseTimerFields(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Timer
	}{
		{"fc with offset time", `{"triggerTime":"2024-05-11T10:00:00+08:00","triggerName":"nightly","payload":"report"}`,
			Timer{TriggerTime: time.Date(2024, 5, 11, 2, 0, 0, 0, time.UTC), TriggerName: "nightly", Payload: "report", Tasks: []string{"report"}}},
		{"bare input keeps its JSON", ` {"tasks":["drain"]} `,
			Timer{Payload: `{"tasks":["drain"]}`, Tasks: []string{"drain"}}},
		{"eventbridge rule on a custom bus", `{"detail-type":"Scheduled Event","source":"aws.events","time":"2024-05-11T02:00:00Z",` +
			`"resources":["arn:aws:events:us-east-1:123456789012:rule/my-bus/nightly"],"detail":{}}`,
			Timer{TriggerTime: at("2024-05-11T02:00:00Z"), TriggerName: "nightly", Tasks: []string{"drain", "report"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTimer([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseTimer(%s): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseTimer(%s) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseTimerErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", ``, "trigger: timer event is empty"},
		{"not json", `{"triggerTime":`, "trigger: timer event is not valid JSON"},
		{"null", `null`, "trigger: timer event is JSON null, want object, string or array"},
		{"number", `7`, "trigger: timer event is JSON number, want object, string or array"},
		{"unknown plain task", fcTimer("awesome-fc"), `trigger: FC timer "t": payload: unknown task "awesome-fc" (want drain, report or both)`},
		{"unknown tasks named", fcTimer(`{"tasks":["drain","purge","nap"]}`), `payload: unknown task "purge", "nap" (want drain, report or both)`},
		{"unknown json task", fcTimer(`{"tasks":["sweep"]}`), `payload: unknown task "sweep"`},
		{"unknown field", fcTimer(`{"mode":"full"}`), `payload: selector has unknown field "mode" (want tasks)`},
		{"task is not the key", fcTimer(`{"task":"drain"}`), `payload: selector field "task" is not a key: use "tasks", e.g. {"tasks":["drain"]}`},
		{"bare task is not the key", `{"task":"report"}`, `selector field "task" is not a key: use "tasks"`},
		{"tasks and task", fcTimer(`{"tasks":["drain"],"task":"report"}`), `payload: selector field "task" is not a key: use "tasks"`},
		{"tasks empty", fcTimer(`{"tasks":[]}`), "payload: selector tasks is empty"},
		{"tasks wrong type", fcTimer(`{"tasks":"drain"}`), "payload: selector: tasks is JSON string, want []string"},
		{"array empty", fcTimer(`[]`), `payload: selector "[]" names no task`},
		{"array of numbers", fcTimer(`[1]`), "payload: selector:"},
		{"payload number", `{"triggerName":"t","payload":5}`, "trigger: FC timer event: payload is JSON number, want string"},
		{"payload json number", fcTimer(`5`), "payload: selector is JSON number, want object, array or string"},
		{"trailing comma list", fcTimer("drain,"), `payload: unknown task ""`},
		{"bad trigger time", `{"triggerTime":"02:00","payload":""}`, `trigger: FC timer event: triggerTime "02:00" is not an RFC 3339 time`},
		{"trigger name wrong type", `{"triggerName":5}`, "trigger: FC timer event: triggerName is JSON number, want string"},
		{"too deep", fcTimer(quoteN("drain", 4)), "nested too deeply"},
		{"bare unknown", `"purge"`, `trigger: timer input: unknown task "purge"`},
		{"bare unknown field", `{"foo":1}`, `trigger: timer input: selector has unknown field "foo"`},
		{"not scheduled", `{"detail-type":"Object Created","source":"aws.s3","detail":{}}`,
			`trigger: EventBridge event from source "aws.s3" with detail-type "Object Created" is not a scheduled event`},
		{"eventbridge bad time", `{"detail-type":"Scheduled Event","source":"aws.events","time":"noon"}`, "trigger: EventBridge event:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTimer([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseTimer(%s) = %+v, want error %q", tt.in, got, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseTimer(%s) error = %q, want it to contain %q", tt.in, err, tt.want)
			}
		})
	}
}
