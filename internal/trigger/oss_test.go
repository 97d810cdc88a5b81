package trigger

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// ossRec returns one OSS trigger record as JSON.
func ossRec(name, bucket, key string) string {
	return fmt.Sprintf(`{"eventName":%q,"eventSource":"acs:oss","eventTime":"2024-05-10T06:21:35.000Z",`+
		`"oss":{"bucket":{"name":%q},"object":{"eTag":"E1","key":%q}},"responseElements":{"requestId":"R1"}}`,
		name, bucket, key)
}

// ossPayload wraps records into an OSS trigger payload.
func ossPayload(recs ...string) []byte {
	return []byte(`{"events":[` + strings.Join(recs, ",") + `]}`)
}

func ossChange(key string, op refresh.Op) refresh.Change {
	return refresh.Change{
		Source: "oss", EventID: "R1/" + key, Bucket: "my-site", Key: key, Op: op, ETag: "E1",
		Time: at("2024-05-10T06:21:35Z"),
	}
}

func TestParseOSSEventNames(t *testing.T) {
	const key = "static/a.html"
	create := []refresh.Change{ossChange(key, refresh.OpCreate)}
	remove := []refresh.Change{ossChange(key, refresh.OpDelete)}
	tests := []struct {
		name    string // eventName as sent
		changes []refresh.Change
		reason  string // of the one ignored record, if any
	}{
		{"ObjectCreated:PutObject", create, ""},
		{"ObjectCreated:PostObject", create, ""},
		{"ObjectCreated:CopyObject", create, ""},
		{"ObjectCreated:CompleteMultipartUpload", create, ""},
		{"ObjectCreated:AppendObject", create, ""},
		{"ObjectCreated:PutSymlink", create, ""},
		{"ObjectModified:UpdateObjectMeta", create, ""},
		{"ObjectRemoved:DeleteObject", remove, ""},
		{"ObjectRemoved:DeleteObjects", remove, ""},
		{"oss:ObjectCreated:PutObject", create, ""},
		{"oss:ObjectRemoved:DeleteObject", remove, ""},
		{"ObjectCreated:InitiateMultipartUpload", nil,
			"record 0: ObjectCreated:InitiateMultipartUpload: starts a multipart upload; CompleteMultipartUpload reports the object"},
		{"ObjectCreated:UploadPart", nil,
			"record 0: ObjectCreated:UploadPart: uploads one part; CompleteMultipartUpload reports the object"},
		{"ObjectCreated:UploadPartCopy", nil,
			"record 0: ObjectCreated:UploadPartCopy: copies one part; CompleteMultipartUpload reports the object"},
		{"oss:ObjectRemoved:AbortMultipartUpload", nil,
			"record 0: ObjectRemoved:AbortMultipartUpload: abandons a multipart upload; no object changed"},
		{"ObjectDownloaded:GetObject", nil, "record 0: ObjectDownloaded:GetObject: a read; no object changed"},
		{"ObjectModified:PutObjectTagging", nil, `record 0: unknown event name "ObjectModified:PutObjectTagging"`},
		{"ObjectCreated:Put", nil, `record 0: unknown event name "ObjectCreated:Put"`},
		{"objectcreated:putobject", nil, `record 0: unknown event name "objectcreated:putobject"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := ossPayload(ossRec(tt.name, "my-site", key))
			got, err := ParseOSS(raw)
			if err != nil {
				t.Fatalf("ParseOSS(%s): %v", raw, err)
			}
			want := refresh.Event{ID: wantID("oss", raw), Changes: tt.changes}
			if want.Changes == nil {
				want.Changes = []refresh.Change{}
			}
			if tt.reason != "" {
				want.Ignored = []refresh.Ignored{{Key: key, Reason: tt.reason}}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseOSS(%s) mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

// TestParseOSSMixed checks that bad and irrelevant records never cost the
// good ones of the same batch.
func TestParseOSSMixed(t *testing.T) {
	raw := ossPayload(
		ossRec("ObjectCreated:PutObject", "my-site", "static/a.css"),
		ossRec("ObjectCreated:PutObject", "my-site", ""),
		`null`,
		ossRec("ObjectCreated:UploadPart", "my-site", "static/big.zip"),
		`{"eventName":"ObjectCreated:PutObject","eventSource":"acs:oss","oss":{"bucket":{"name":"my-site"},"object":{"key":7}}}`,
		strings.Replace(ossRec("ObjectCreated:PutObject", "my-site", "static/x.js"), "acs:oss", "acs:mns", 1),
		ossRec("ObjectRemoved:DeleteObject", "", "static/gone.png"),
		strings.Replace(ossRec("ObjectCreated:PutObject", "my-site", "static/t.js"), "2024-05-10T06:21:35.000Z", "yesterday", 1),
		`{"eventSource":"acs:oss","oss":{"bucket":{"name":"my-site"},"object":{"key":"static/n.js"}}}`,
		`{"eventName":"ObjectCreated:PutObject","oss":{"bucket":{"name":"my-site"},"object":{"key":"static/s.js"}}}`,
		ossRec("ObjectRemoved:DeleteObject", "my-site", "static/b.css"),
	)
	got, err := ParseOSS(raw)
	if err != nil {
		t.Fatalf("ParseOSS: %v", err)
	}
	want := refresh.Event{
		ID: wantID("oss", raw),
		Changes: []refresh.Change{
			ossChange("static/a.css", refresh.OpCreate),
			ossChange("static/b.css", refresh.OpDelete),
		},
		Ignored: []refresh.Ignored{
			{Key: "", Reason: "record 1: missing oss.object.key"},
			{Key: "", Reason: "record 2: record is JSON null, want object"},
			{Key: "static/big.zip", Reason: "record 3: ObjectCreated:UploadPart: uploads one part; CompleteMultipartUpload reports the object"},
			{Key: "", Reason: "record 4: oss.object.key is JSON number, want string"},
			{Key: "static/x.js", Reason: `record 5: eventSource "acs:mns" is not acs:oss`},
			{Key: "static/gone.png", Reason: "record 6: missing oss.bucket.name"},
			{Key: "static/t.js", Reason: `record 7: eventTime "yesterday" is not an RFC 3339 time`},
			{Key: "static/n.js", Reason: "record 8: missing eventName"},
			{Key: "static/s.js", Reason: "record 9: missing eventSource"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseOSS(mixed batch) mismatch (-want +got):\n%s", diff)
	}
}

// TestParseOSSOptionalFields checks that a record without eTag, eventTime or
// request id still yields a change (delete events often lack the first).
func TestParseOSSOptionalFields(t *testing.T) {
	raw := []byte(`{"events":[{"eventName":"ObjectRemoved:DeleteObject","eventSource":"acs:oss",` +
		`"oss":{"bucket":{"name":"my-site"},"object":{"key":"static/%E4%B8%AD+1.txt","size":"not-a-number"}}}]}`)
	got, err := ParseOSS(raw)
	if err != nil {
		t.Fatalf("ParseOSS: %v", err)
	}
	want := []refresh.Change{{Source: "oss", Bucket: "my-site", Key: "static/%E4%B8%AD+1.txt", Op: refresh.OpDelete}}
	if diff := cmp.Diff(want, got.Changes); diff != "" {
		t.Errorf("ParseOSS changes mismatch (-want +got):\n%s", diff)
	}
	if len(got.Ignored) != 0 {
		t.Errorf("ParseOSS ignored = %v, want none", got.Ignored)
	}
}

func TestParseOSSErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", ``, "trigger: OSS event is empty"},
		{"not json", `{"events":[`, "trigger: OSS event is not valid JSON: unexpected end of JSON input"},
		{"trailing garbage", `{"events":[]} x`, "trigger: OSS event is not valid JSON"},
		{"null", `null`, "trigger: OSS event is JSON null, want object"},
		{"array", `[{"eventName":"ObjectCreated:PutObject"}]`, "trigger: OSS event is JSON array, want object"},
		{"string", `"events"`, "trigger: OSS event is JSON string, want object"},
		{"missing events", `{"Records":[]}`, `trigger: OSS event: missing events (top-level keys "Records")`},
		{"events null", `{"events":null}`, "trigger: OSS event: events is JSON null, want array"},
		{"events object", `{"events":{"eventName":"x"}}`, "trigger: OSS event: events is JSON object, want array"},
		{"events empty", `{"events":[]}`, "trigger: OSS event: events is empty"},
		{"only record has empty key", string(ossPayload(ossRec("ObjectCreated:PutObject", "my-site", ""))),
			"trigger: OSS event record 0: missing oss.object.key"},
		{"only record has no bucket", string(ossPayload(ossRec("ObjectCreated:PutObject", "", "static/a"))),
			"trigger: OSS event record 0: missing oss.bucket.name"},
		{"only record is a number", `{"events":[5]}`, "trigger: OSS event record 0: record is JSON number, want object"},
		{"only record has wrong type", `{"events":[{"eventName":["ObjectCreated:PutObject"]}]}`,
			"trigger: OSS event record 0: eventName is JSON array, want string"},
		{"all records bad", string(ossPayload(`1`, `2`, `3`, `4`, `{}`)),
			"trigger: OSS event: none of 5 records is valid: record 0: record is JSON number, want object; " +
				"record 1: record is JSON number, want object; record 2: record is JSON number, want object; and 2 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOSS([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseOSS(%s) = %+v, want error %q", tt.in, got, tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("ParseOSS(%s) error = %q, want %q", tt.in, err, tt.want)
			}
			if diff := cmp.Diff(refresh.Event{}, got); diff != "" {
				t.Errorf("ParseOSS(%s) returned an event with its error:\n%s", tt.in, diff)
			}
		})
	}
}

// TestParseOSSOnlyIgnored checks that a payload of well-formed records that
// need no work is not an error: the handler answers with its ignored count.
func TestParseOSSOnlyIgnored(t *testing.T) {
	raw := ossPayload(
		ossRec("ObjectCreated:UploadPart", "my-site", "static/a.zip"),
		strings.Replace(ossRec("ObjectCreated:PutObject", "my-site", "static/b"), "acs:oss", "aws:s3", 1),
	)
	got, err := ParseOSS(raw)
	if err != nil {
		t.Fatalf("ParseOSS: %v", err)
	}
	if len(got.Changes) != 0 || len(got.Ignored) != 2 {
		t.Errorf("ParseOSS = %d changes, %d ignored, want 0 and 2", len(got.Changes), len(got.Ignored))
	}
	if got.Changes == nil {
		t.Errorf("ParseOSS Changes = nil, want an empty list (it prints as [])")
	}
}

// TestParseOSSRoundTrip rebuilds a payload from changes and decodes it
// again: keys of any shape come back byte for byte.
func TestParseOSSRoundTrip(t *testing.T) {
	keys := []string{
		"static/a.html", "static/docs/年度 报告 (final).pdf", "static/a+b%2B.txt", "static/ü/ß?x=1#y",
		`static/"quoted"\back`, "static/\u00a0nbsp\ttab", "static/😀.png",
	}
	var want []refresh.Change
	var recs []string
	for i, k := range keys {
		op := refresh.OpCreate
		name := "ObjectCreated:PutObject"
		if i%2 == 1 {
			op, name = refresh.OpDelete, "ObjectRemoved:DeleteObjects"
		}
		want = append(want, ossChange(k, op))
		rec, err := json.Marshal(map[string]any{
			"eventName": name, "eventSource": "acs:oss", "eventTime": "2024-05-10T06:21:35.000Z",
			"oss":              map[string]any{"bucket": map[string]any{"name": "my-site"}, "object": map[string]any{"key": k, "eTag": "E1"}},
			"responseElements": map[string]any{"requestId": "R1"},
		})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, string(rec))
	}
	got, err := ParseOSS(ossPayload(recs...))
	if err != nil {
		t.Fatalf("ParseOSS: %v", err)
	}
	if diff := cmp.Diff(want, got.Changes); diff != "" {
		t.Errorf("ParseOSS(round trip) mismatch (-want +got):\n%s", diff)
	}
}
