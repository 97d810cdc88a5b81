package trigger_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/trigger"
	"github.com/google/go-cmp/cmp"
)

func TestParseCDN(t *testing.T) {
	for _, tt := range []struct {
		file string
		want refresh.Completion
	}{
		{"cdn-refresh-complete.json", refresh.Completion{Action: refresh.ActionRefresh, TaskID: "17000000001", Domain: "static.example.com",
			Paths: []string{"/css/site.css", "/img/logo.png"}, ObjectType: "File",
			Created: time.Unix(1715322097, 0).UTC(), Completed: time.Unix(1715322427, 0).UTC()}},
		{"cdn-push-complete.json", refresh.Completion{Action: refresh.ActionPrefetch}},
	} {
		raw, err := os.ReadFile("../../events/" + tt.file)
		if err != nil {
			t.Fatal(err)
		}
		got, ignored, err := trigger.ParseCDN(raw)
		if err != nil || len(got) != 1 || len(ignored) != 0 {
			t.Fatalf("ParseCDN(%s) = %v, %v, %v; want one completion", tt.file, got, ignored, err)
		}
		if tt.want.TaskID == "" { // only the action is checked
			if got[0].Action != tt.want.Action || got[0].TaskID == "" || got[0].Completed.IsZero() {
				t.Errorf("ParseCDN(%s) = %+v, want a %s completion", tt.file, got[0], tt.want.Action)
			}
			continue
		}
		if diff := cmp.Diff(tt.want, got[0]); diff != "" {
			t.Errorf("ParseCDN(%s) mismatch (-want +got):\n%s", tt.file, diff)
		}
	}
}

func TestParseCDNBadInput(t *testing.T) {
	event := func(params string) string {
		return `{"events":[{"eventName":"CachedObjectsRefreshed","eventVersion":"1.0.0","eventSource":"cdn","eventParameter":{` + params + `}}]}`
	}
	for _, tt := range []struct {
		name, raw, wantErr string
		wantIgnored        int
	}{
		{"not JSON", `{`, "CDN event", 0},
		{"no events", `{"foo":1}`, `no "events"`, 0},
		{"no task id", event(`"domain":"d","completeTime":1`), "taskId", 0},
		{"no domain", event(`"taskId":1,"completeTime":1`), "domain", 0},
		{"no completion time", event(`"taskId":1,"domain":"d"`), "completeTime", 0},
		{"string fields", event(`"taskId":"7","domain":"D","completeTime":"1715322427"`), "", 0},
		{"another event", `{"events":[{"eventName":"CdnDomainAdded"}]}`, "", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ignored, err := trigger.ParseCDN([]byte(tt.raw))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseCDN = %v, %v; want an error naming %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || len(ignored) != tt.wantIgnored {
				t.Fatalf("ParseCDN = %v, %v, %v; want %d ignored", got, ignored, err, tt.wantIgnored)
			}
			if tt.wantIgnored == 0 && (len(got) != 1 || got[0].TaskID != "7" || got[0].Domain != "d") {
				t.Errorf("ParseCDN = %+v; want task 7 of domain d", got)
			}
		})
	}
}
