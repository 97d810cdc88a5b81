package trigger

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// seed adds every sample in events/ and a few edge cases to f's corpus.
func seed(f *testing.F, extra ...string) {
	files, err := filepath.Glob(filepath.Join(eventsDir, "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no samples in %s: %v", eventsDir, err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range append([]string{``, `null`, `{}`, `[]`, `"x"`, `{"events":[null]}`, `{"Records":[{}]}`}, extra...) {
		f.Add([]byte(s))
	}
}

// checkEvent states what every successful decode promises.
func checkEvent(t *testing.T, raw []byte, source string, ev refresh.Event) {
	t.Helper()
	if want := wantID(source, raw); ev.ID != want {
		t.Errorf("ID = %q, want %q", ev.ID, want)
	}
	if ev.Changes == nil {
		t.Errorf("Changes = nil, want a list")
	}
	if len(ev.Changes)+len(ev.Ignored) == 0 {
		t.Errorf("decoded an event with no changes and nothing ignored")
	}
	for _, c := range ev.Changes {
		if c.Source != source || c.Bucket == "" || c.Key == "" || (c.Op != refresh.OpCreate && c.Op != refresh.OpDelete) {
			t.Errorf("invalid change %+v", c)
		}
	}
	for _, ig := range ev.Ignored {
		if ig.Reason == "" || !utf8.ValidString(ig.Reason) {
			t.Errorf("ignored %q without a readable reason: %q", ig.Key, ig.Reason)
		}
	}
}

func FuzzParseOSS(f *testing.F) {
	seed(f, string(ossPayload(ossRec("oss:ObjectCreated:PutObject", "b", "k"), `7`)))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := ParseOSS(raw)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "trigger: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			return
		}
		checkEvent(t, raw, "oss", ev)
	})
}

func FuzzParseS3(f *testing.F) {
	seed(f, string(s3Payload(s3Rec("ObjectCreated:Put", "b", "a%zz+%2B"), `[]`)),
		`{"Service":"Amazon S3","Event":"s3:TestEvent"}`)
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := ParseS3(raw)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "trigger: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			return
		}
		checkEvent(t, raw, "s3", ev)
		// Parse must agree with ParseS3 whenever it dispatches here.
		if k, err := Detect(raw); err == nil && k == KindS3 {
			if _, err := Parse(raw); err != nil {
				t.Errorf("ParseS3 succeeded, Parse failed: %v", err)
			}
		}
	})
}

func FuzzParseTimer(f *testing.F) {
	seed(f, fcTimer(`{"tasks":["drain"]}`), fcTimer(quoteN("report", 3)), `"both"`, `["report","drain"]`)
	f.Fuzz(func(t *testing.T, raw []byte) {
		tm, err := ParseTimer(raw)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "trigger: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			return
		}
		valid := [][]string{{TaskDrain}, {TaskReport}, {TaskDrain, TaskReport}}
		if !slices.ContainsFunc(valid, func(v []string) bool { return slices.Equal(v, tm.Tasks) }) {
			t.Errorf("ParseTimer(%q).Tasks = %q, want drain, report, or drain then report", raw, tm.Tasks)
		}
	})
}

// FuzzParseCDN: any payload decodes to completions or an error, never a
// panic, and every completion has a task id, a domain and a time.
func FuzzParseCDN(f *testing.F) {
	for _, name := range []string{"cdn-refresh-complete.json", "cdn-push-complete.json"} {
		if raw, err := os.ReadFile("../../events/" + name); err == nil {
			f.Add(raw)
		}
	}
	f.Add([]byte(`{"events":[{"eventName":"CachedObjectsRefreshed","eventParameter":{"taskId":"1","domain":"d","completeTime":"9"}}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		cs, _, err := ParseCDN(raw)
		if err != nil {
			return
		}
		for _, c := range cs {
			if c.TaskID == "" || c.Domain == "" || c.Completed.IsZero() {
				t.Errorf("ParseCDN(%q) gave an incomplete completion %+v", raw, c)
			}
		}
	})
}
