package trigger

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// s3Rec returns one S3 notification record as JSON; key is as S3 sends it
// (form-URL-encoded).
func s3Rec(name, bucket, key string) string {
	return fmt.Sprintf(`{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"ap-southeast-1",`+
		`"eventTime":"2024-05-10T07:02:11.482Z","eventName":%q,"responseElements":{"x-amz-request-id":"Q1"},`+
		`"s3":{"bucket":{"name":%q},"object":{"key":%q,"eTag":"e1","sequencer":"S1"}}}`, name, bucket, key)
}

func s3Payload(recs ...string) []byte {
	return []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`)
}

func s3Change(key string, op refresh.Op) refresh.Change {
	return refresh.Change{
		Source: "s3", EventID: "Q1/" + key, Bucket: "my-site", Key: key, Op: op, ETag: "e1",
		Time: at("2024-05-10T07:02:11.482Z"),
	}
}

func TestParseS3KeyDecoding(t *testing.T) {
	tests := []struct {
		name, sent string
		want       string // decoded key; "" means the record is ignored
		reason     string
	}{
		{"plus is a space", "a+b", "a b", ""},
		{"encoded plus", "a%2Bb", "a+b", ""},
		{"utf-8", "%E4%B8%AD", "中", ""},
		{"sample", "static/img/my+photo%2B1.jpg", "static/img/my photo+1.jpg", ""},
		{"encoded slash", "static%2Fa.txt", "static/a.txt", ""},
		{"lower-case escape", "static/%e4%b8%ad%20x", "static/中 x", ""},
		{"plain", "static/a.txt", "static/a.txt", ""},
		{"invalid escape", "static/%zz.txt", "", `record 0: s3.object.key "static/%zz.txt" is not valid URL encoding: invalid escape "%zz"`},
		{"truncated escape", "static/a%2", "", `record 0: s3.object.key "static/a%2" is not valid URL encoding: invalid escape "%2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := s3Payload(s3Rec("ObjectCreated:Put", "my-site", tt.sent), s3Rec("ObjectCreated:Put", "my-site", "ok"))
			got, err := ParseS3(raw)
			if err != nil {
				t.Fatalf("ParseS3(key %q): %v", tt.sent, err)
			}
			want := refresh.Event{ID: wantID("s3", raw)}
			if tt.want != "" {
				want.Changes = append(want.Changes, s3Change(tt.want, refresh.OpCreate))
			} else {
				want.Ignored = []refresh.Ignored{{Key: tt.sent, Reason: tt.reason}}
			}
			want.Changes = append(want.Changes, s3Change("ok", refresh.OpCreate))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseS3(key %q) mismatch (-want +got):\n%s", tt.sent, diff)
			}
		})
	}
}

func TestParseS3EventNames(t *testing.T) {
	const key = "static/a.html"
	tests := []struct {
		name   string
		op     refresh.Op // "" means ignored
		reason string
	}{
		{"ObjectCreated:Put", refresh.OpCreate, ""},
		{"ObjectCreated:Post", refresh.OpCreate, ""},
		{"ObjectCreated:Copy", refresh.OpCreate, ""},
		{"ObjectCreated:CompleteMultipartUpload", refresh.OpCreate, ""},
		{"s3:ObjectCreated:Put", refresh.OpCreate, ""},
		{"ObjectRemoved:Delete", refresh.OpDelete, ""},
		{"ObjectRemoved:DeleteMarkerCreated", refresh.OpDelete, ""},
		{"LifecycleExpiration:Delete", refresh.OpDelete, ""},
		{"LifecycleExpiration:DeleteMarkerCreated", refresh.OpDelete, ""},
		{"ObjectRestore:Completed", "", `record 0: event "ObjectRestore:Completed" does not create or remove an object`},
		{"ObjectTagging:Put", "", `record 0: event "ObjectTagging:Put" does not create or remove an object`},
		{"LifecycleTransition", "", `record 0: event "LifecycleTransition" does not create or remove an object`},
		{"Replication:OperationFailedReplication", "", `record 0: event "Replication:OperationFailedReplication" does not create or remove an object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := s3Payload(s3Rec(tt.name, "my-site", key))
			got, err := ParseS3(raw)
			if err != nil {
				t.Fatalf("ParseS3(%s): %v", tt.name, err)
			}
			want := refresh.Event{ID: wantID("s3", raw), Changes: []refresh.Change{}}
			if tt.op != "" {
				want.Changes = []refresh.Change{s3Change(key, tt.op)}
			} else {
				want.Ignored = []refresh.Ignored{{Key: key, Reason: tt.reason}}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseS3(%s) mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

func TestParseS3Mixed(t *testing.T) {
	raw := s3Payload(
		s3Rec("ObjectCreated:Put", "my-site", "static/a+1.css"),
		strings.Replace(s3Rec("ObjectCreated:Put", "my-site", "static/b.css"), "aws:s3", "aws:sqs", 1),
		s3Rec("ObjectCreated:Put", "", "static/c.css"),
		s3Rec("ObjectRemoved:Delete", "my-site", ""),
		strings.Replace(s3Rec("ObjectCreated:Put", "my-site", "static/d.css"), "2024-05-10T07:02:11.482Z", "2024-13-40", 1),
		`{"eventSource":"aws:s3","eventTime":5,"s3":{"bucket":{"name":"my-site"},"object":{"key":"static/e.css"}}}`,
		`{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"my-site"},"object":{"key":9}}}`,
		`"Records"`,
		strings.Replace(s3Rec("ObjectCreated:Put", "my-site", "static/f.css"), `"x-amz-request-id":"Q1"`, `"x-amz-request-id":1`, 1),
		s3Rec("ObjectRemoved:Delete", "my-site", "static/%E4%B8%AD.css"),
	)
	got, err := ParseS3(raw)
	if err != nil {
		t.Fatalf("ParseS3: %v", err)
	}
	want := refresh.Event{
		ID: wantID("s3", raw),
		Changes: []refresh.Change{
			s3Change("static/a 1.css", refresh.OpCreate),
			s3Change("static/中.css", refresh.OpDelete),
		},
		Ignored: []refresh.Ignored{
			{Key: "static/b.css", Reason: `record 1: eventSource "aws:sqs" is not aws:s3`},
			{Key: "static/c.css", Reason: "record 2: missing s3.bucket.name"},
			{Key: "", Reason: "record 3: missing s3.object.key"},
			{Key: "static/d.css", Reason: `record 4: eventTime "2024-13-40" is not an RFC 3339 time`},
			{Key: "static/e.css", Reason: "record 5: eventTime is JSON number, want string"},
			{Key: "", Reason: "record 6: s3.object.key is JSON number, want string"},
			{Key: "", Reason: "record 7: record is JSON string, want object"},
			{Key: "static/f.css", Reason: "record 8: responseElements is JSON number, want string"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseS3(mixed batch) mismatch (-want +got):\n%s", diff)
	}
}

// TestParseS3EventID checks the fallback to the sequencer when the
// notification has no request id.
func TestParseS3EventID(t *testing.T) {
	rec := strings.Replace(s3Rec("ObjectCreated:Put", "my-site", "a+b"), `"responseElements":{"x-amz-request-id":"Q1"},`, "", 1)
	got, err := ParseS3(s3Payload(rec))
	if err != nil {
		t.Fatalf("ParseS3: %v", err)
	}
	if len(got.Changes) != 1 || got.Changes[0].EventID != "S1/a b" {
		t.Errorf("ParseS3 changes = %+v, want one with EventID %q", got.Changes, "S1/a b")
	}
}

func TestParseS3TestEvent(t *testing.T) {
	raw := []byte(`{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-05-10T07:00:00.000Z","Bucket":"my-site",` +
		`"RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}`)
	got, err := Parse(raw)
	if err != nil {
		t.Fatalf("Parse(s3:TestEvent): %v", err)
	}
	want := refresh.Event{
		ID:      wantID("s3", raw),
		Changes: []refresh.Change{},
		Ignored: []refresh.Ignored{{Reason: "s3:TestEvent: sent when a bucket notification is configured"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse(s3:TestEvent) mismatch (-want +got):\n%s", diff)
	}
}

func TestParseS3Errors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "  ", "trigger: S3 event is empty"},
		{"not json", `{"Records":[}`, "trigger: S3 event is not valid JSON"},
		{"null", `null`, "trigger: S3 event is JSON null, want object"},
		{"missing records", `{"events":[]}`, `trigger: S3 event: missing Records (top-level keys "events")`},
		{"records wrong type", `{"Records":"x"}`, "trigger: S3 event: Records is JSON string, want array"},
		{"records empty", `{"Records":[]}`, "trigger: S3 event: Records is empty"},
		{"only record bad key", string(s3Payload(s3Rec("ObjectCreated:Put", "my-site", "%zz"))),
			`trigger: S3 event record 0: s3.object.key "%zz" is not valid URL encoding: invalid escape "%zz"`},
		{"only record no bucket", string(s3Payload(s3Rec("ObjectCreated:Put", "", "a"))),
			"trigger: S3 event record 0: missing s3.bucket.name"},
		{"two bad records", string(s3Payload(`[]`, `{"eventSource":"aws:s3","eventName":"ObjectCreated:Put"}`)),
			"trigger: S3 event: none of 2 records is valid: record 0: record is JSON array, want object; record 1: missing s3.bucket.name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseS3([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseS3(%s) = %+v, want error %q", tt.in, got, tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("ParseS3(%s) error = %q, want %q", tt.in, err, tt.want)
			}
		})
	}
}
