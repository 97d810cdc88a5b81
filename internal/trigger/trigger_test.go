package trigger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// eventsDir holds the sample payloads shared with the README and the
// function tests.
const eventsDir = "../../events"

func readEvent(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(eventsDir, name))
	if err != nil {
		t.Fatalf("read sample: %v", err)
	}
	return b
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestParseSamples decodes every object-event sample in events/ and
// compares the changes and ignored records with what the file shows.
func TestParseSamples(t *testing.T) {
	tests := []struct {
		file    string
		kind    Kind
		changes []refresh.Change
		ignored []refresh.Ignored
	}{
		{"oss-put-object.json", KindOSS, []refresh.Change{{
			Source: "oss", EventID: "663DA2EF9C0E4B3837A1C2F0/static/css/site.css", Bucket: "my-site",
			Key: "static/css/site.css", Op: refresh.OpCreate, ETag: "7D73E1052AF595535DE90994F4C3E6D5",
			Time: at("2024-05-10T06:21:35Z"),
		}}, nil},
		{"oss-post-object.json", KindOSS, []refresh.Change{{
			Source: "oss", EventID: "663DA30C5E8F1A3932B7D4E1/static/img/logo.png", Bucket: "my-site",
			Key: "static/img/logo.png", Op: refresh.OpCreate, ETag: "0F343B0931126A20F133D67C2B018A3B",
			Time: at("2024-05-10T06:22:04Z"),
		}}, nil},
		{"oss-complete-multipart.json", KindOSS, []refresh.Change{{
			Source: "oss", EventID: "663DA3EF4B1C9D2A3E5F6071/static/video/intro.mp4", Bucket: "my-site",
			Key: "static/video/intro.mp4", Op: refresh.OpCreate, ETag: "A8C3D2B1E6F70918273645AB5C6D7E8F-4",
			Time: at("2024-05-10T06:25:51Z"),
		}}, nil},
		{"oss-copy-object.json", KindOSS, []refresh.Change{{
			Source: "oss", EventID: "663DA446A7B2C3D4E5F60718/static/js/app.js", Bucket: "my-site",
			Key: "static/js/app.js", Op: refresh.OpCreate, ETag: "E9C3A1B2D4F6081A2B3C4D5E6F708192",
			Time: at("2024-05-10T06:27:18Z"),
		}}, nil},
		{"oss-delete-object.json", KindOSS, []refresh.Change{{
			Source: "oss", EventID: "663DA4EA1F2E3D4C5B6A7980/static/img/banner-old.jpg", Bucket: "my-site",
			Key: "static/img/banner-old.jpg", Op: refresh.OpDelete, Time: at("2024-05-10T06:30:02Z"),
		}}, nil},
		{"oss-delete-objects.json", KindOSS, []refresh.Change{
			{
				Source: "oss", EventID: "663DA52B8E7D6C5B4A392817/static/blog/draft-1.html", Bucket: "my-site",
				Key: "static/blog/draft-1.html", Op: refresh.OpDelete, Time: at("2024-05-10T06:31:07Z"),
			},
			{
				Source: "oss", EventID: "663DA52B8E7D6C5B4A392817/static/blog/draft-2.html", Bucket: "my-site",
				Key: "static/blog/draft-2.html", Op: refresh.OpDelete, Time: at("2024-05-10T06:31:07Z"),
			},
			{
				Source: "oss", EventID: "663DA52B8E7D6C5B4A392817/private/notes.txt", Bucket: "my-site",
				Key: "private/notes.txt", Op: refresh.OpDelete, Time: at("2024-05-10T06:31:07Z"),
			},
		}, nil},
		{"oss-unicode-key.json", KindOSS, []refresh.Change{{
			Source: "oss", EventID: "663DA5C4D3E2F1A0B9C8D7E6/static/docs/年度 报告 (final).pdf", Bucket: "my-site",
			Key: "static/docs/年度 报告 (final).pdf", Op: refresh.OpCreate, ETag: "5B2C8E1D9F7A4063B1C5D8E2F0A9B7C6",
			Time: at("2024-05-10T06:33:40Z"),
		}}, nil},
		{"oss-upload-part.json", KindOSS, []refresh.Change{}, []refresh.Ignored{{
			Key:    "static/video/intro.mp4",
			Reason: "record 0: ObjectCreated:UploadPart: uploads one part; CompleteMultipartUpload reports the object",
		}}},
		{"oss-index-html.json", KindOSS, []refresh.Change{{
			Source: "oss", EventID: "663DA61D0C1B2A3948576E6F/static/blog/post-1/index.html", Bucket: "my-site",
			Key: "static/blog/post-1/index.html", Op: refresh.OpCreate, ETag: "C4CA4238A0B923820DCC509A6F75849B",
			Time: at("2024-05-10T06:35:09Z"),
		}}, nil},
		{"s3-put-encoded-key.json", KindS3, []refresh.Change{{
			Source: "s3", EventID: "C3D13FE58DE4C810/static/img/my photo+1.jpg", Bucket: "my-site",
			Key: "static/img/my photo+1.jpg", Op: refresh.OpCreate, ETag: "d41d8cd98f00b204e9800998ecf8427e",
			Time: at("2024-05-10T07:02:11.482Z"),
		}}, nil},
		{"s3-delete.json", KindS3, []refresh.Change{
			{
				Source: "s3", EventID: "8A1B2C3D4E5F6071/static/old/page.html", Bucket: "my-site",
				Key: "static/old/page.html", Op: refresh.OpDelete, Time: at("2024-05-10T07:05:40.019Z"),
			},
			{
				Source: "s3", EventID: "9B2C3D4E5F607182/static/old/style.css", Bucket: "my-site",
				Key: "static/old/style.css", Op: refresh.OpDelete, Time: at("2024-05-10T07:05:40.233Z"),
			},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := readEvent(t, tt.file)
			k, err := Detect(raw)
			if err != nil || k != tt.kind {
				t.Fatalf("Detect(%s) = %v, %v, want %v", tt.file, k, err, tt.kind)
			}
			got, err := Parse(raw)
			if err != nil {
				t.Fatalf("Parse(%s): %v", tt.file, err)
			}
			want := refresh.Event{ID: wantID(tt.kind.String(), raw), Changes: tt.changes, Ignored: tt.ignored}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Parse(%s) mismatch (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

// TestSamplesCovered fails when a sample in events/ is missing from the
// tests, so that every file the README lists is decoded somewhere.
func TestSamplesCovered(t *testing.T) {
	tested := map[string]bool{
		"oss-put-object.json": true, "oss-post-object.json": true, "oss-complete-multipart.json": true,
		"oss-copy-object.json": true, "oss-delete-object.json": true, "oss-delete-objects.json": true,
		"oss-unicode-key.json": true, "oss-upload-part.json": true, "oss-index-html.json": true,
		"s3-put-encoded-key.json": true, "s3-delete.json": true,
		"timer.json": true, "eventbridge-schedule.json": true,
		// CDN event samples: internal/emulator/cdn's TestEventSamples decodes them.
		"cdn-refresh-complete.json": true, "cdn-push-complete.json": true,
	}
	files, err := filepath.Glob(filepath.Join(eventsDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !tested[filepath.Base(f)] {
			t.Errorf("sample %s is not decoded by any test", filepath.Base(f))
		}
	}
	if len(files) != len(tested) {
		t.Errorf("events/ holds %d JSON samples, tests name %d", len(files), len(tested))
	}
}

func wantID(prefix string, raw []byte) string {
	sum := sha256.Sum256(raw)
	return prefix + ":" + hex.EncodeToString(sum[:])[:32]
}

// TestEventID checks the delivery identity: the same bytes (an FC async
// retry) give the same ID, any other bytes another.
func TestEventID(t *testing.T) {
	idRE := regexp.MustCompile(`^(oss|s3):[0-9a-f]{32}$`)
	raw := readEvent(t, "oss-put-object.json")
	a, err := ParseOSS(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseOSS(append([]byte(nil), raw...))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID {
		t.Errorf("ParseOSS of the same bytes: IDs %q and %q, want equal", a.ID, b.ID)
	}
	if !idRE.MatchString(a.ID) {
		t.Errorf("ParseOSS ID = %q, want oss: and 32 hex digits", a.ID)
	}
	other, err := ParseOSS(readEvent(t, "oss-post-object.json"))
	if err != nil {
		t.Fatal(err)
	}
	if other.ID == a.ID {
		t.Errorf("two different payloads share ID %q", a.ID)
	}
	s3, err := ParseS3(readEvent(t, "s3-delete.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s3.ID, "s3:") || !idRE.MatchString(s3.ID) {
		t.Errorf("ParseS3 ID = %q, want s3: and 32 hex digits", s3.ID)
	}
}

// TestEventRoundTrip checks that every decoded sample survives the JSON
// form the pipeline and the plan command print.
func TestEventRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(eventsDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		if !strings.HasPrefix(name, "oss-") && !strings.HasPrefix(name, "s3-") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			ev, err := Parse(readEvent(t, name))
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			var back refresh.Event
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("unmarshal %s: %v", b, err)
			}
			if diff := cmp.Diff(ev, back); diff != "" {
				t.Errorf("Event JSON round trip mismatch (-before +after):\n%s", diff)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Kind
	}{
		{"oss", `{"events":[]}`, KindOSS},
		{"s3", `{"Records":[]}`, KindS3},
		{"s3 test event", `{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"my-site"}`, KindS3},
		{"eventbridge", `{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}`, KindEventBridge},
		{"fc timer", `{"triggerTime":"2024-05-11T02:00:00Z","triggerName":"t","payload":""}`, KindTimer},
		{"bare tasks", `{"tasks":["drain"]}`, KindTimer},
		{"bare task", `{"task":"report"}`, KindTimer},
		{"bare string", `"both"`, KindTimer},
		{"bare array", `["drain"]`, KindTimer},
		{"leading space", " \n\t{\"events\":[]}", KindOSS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect([]byte(tt.in))
			if err != nil || got != tt.want {
				t.Errorf("Detect(%s) = %v, %v, want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestDetectErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", ``, "trigger: payload is empty"},
		{"not json", `hello`, "trigger: payload is not valid JSON"},
		{"null", `null`, "trigger: payload is JSON null, want object"},
		{"number", `42`, "trigger: payload is JSON number, want object"},
		{"unknown keys", `{"foo":1,"bar":2}`, `trigger: unrecognised payload: top-level keys "bar", "foo"`},
		{"empty object", `{}`, "trigger: unrecognised payload: top-level keys (none)"},
		{"lower-case records", `{"records":[]}`, `top-level keys "records"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Detect(%q) = %v, %v, want error containing %q", tt.in, got, err, tt.want)
			}
			if got != KindUnknown {
				t.Errorf("Detect(%q) kind = %v, want unknown", tt.in, got)
			}
		})
	}
}

func TestParseRejectsTimers(t *testing.T) {
	for _, name := range []string{"timer.json", "eventbridge-schedule.json"} {
		_, err := Parse(readEvent(t, name))
		if err == nil || !strings.Contains(err.Error(), "is not an object-change event") {
			t.Errorf("Parse(%s) error = %v, want not an object-change event", name, err)
		}
	}
}

func TestKindString(t *testing.T) {
	tests := []struct {
		k    Kind
		want string
	}{
		{KindUnknown, "unknown"}, {KindOSS, "oss"}, {KindS3, "s3"},
		{KindTimer, "timer"}, {KindEventBridge, "eventbridge"}, {Kind(99), "unknown"},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(tt.k), got, tt.want)
		}
	}
}
