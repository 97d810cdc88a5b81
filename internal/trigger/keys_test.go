package trigger

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// withSize puts an object size into one OSS or S3 record built by ossRec
// or s3Rec.
func withSize(rec, size string) string {
	return strings.Replace(rec, `"object":{`, `"object":{"size":`+size+`,`, 1)
}

// TestKeysThatAreNotFiles checks that folder placeholders (a key ending
// in / with size 0, as the OSS and S3 consoles create for folders) and
// keys that are not valid UTF-8 are ignored with the reason, in both
// decoders, while the good record beside them is kept. rawKey is the key
// as it appears inside the JSON string, escapes and raw bytes included.
func TestKeysThatAreNotFiles(t *testing.T) {
	const folder = "folder placeholder (key ends in / and size is 0): not a file"
	tests := []struct {
		name       string
		source     string // oss or s3
		event      string
		rawKey     string
		size       string // "" leaves the size out, as delete events do
		wantKey    string // the decoded key of the change; "" when ignored
		ignoredKey string
		reason     string
	}{
		{"oss folder created", "oss", "ObjectCreated:PutObject", "static/img/", "0", "", "static/img/", folder},
		{"oss folder deleted", "oss", "ObjectRemoved:DeleteObject", "static/img/", "", "", "static/img/", folder},
		{"oss object named like a folder, with content", "oss", "ObjectCreated:PutObject", "static/img/", "12", "static/img/", "", ""},
		{"oss empty file", "oss", "ObjectCreated:PutObject", "static/empty.txt", "0", "static/empty.txt", "", ""},
		{"oss invalid UTF-8 byte", "oss", "ObjectCreated:PutObject", "static/a\xff.txt", "3", "", "static/a\ufffd.txt", "key is not valid UTF-8"},
		{"oss truncated UTF-8 sequence", "oss", "ObjectCreated:PutObject", "static/\xe4\xb8.txt", "3", "", "static/\ufffd\ufffd.txt", "key is not valid UTF-8"},
		{"oss lone surrogate escape", "oss", "ObjectCreated:PutObject", `static/a\udc80.txt`, "3", "", "static/a\ufffd.txt", "key is not valid UTF-8"},
		{"oss escaped surrogate pair", "oss", "ObjectCreated:PutObject", `static/\ud83d\ude00.txt`, "3", "static/😀.txt", "", ""},
		{"oss escaped replacement character", "oss", "ObjectCreated:PutObject", `static/\ufffd.txt`, "3", "static/\ufffd.txt", "", ""},
		{"oss raw replacement character", "oss", "ObjectCreated:PutObject", "static/\ufffd.txt", "3", "static/\ufffd.txt", "", ""},
		{"s3 folder created", "s3", "ObjectCreated:Put", "photos/2024/", "0", "", "photos/2024/", folder},
		{"s3 folder deleted", "s3", "ObjectRemoved:Delete", "photos/2024/", "", "", "photos/2024/", folder},
		{"s3 invalid UTF-8 escape", "s3", "ObjectCreated:Put", "static/a%FF.txt", "3", "", "static/a%FF.txt", "key is not valid UTF-8"},
		{"s3 invalid UTF-8 byte", "s3", "ObjectCreated:Put", "static/a\xff.txt", "3", "", "static/a\ufffd.txt", "key is not valid UTF-8"},
		{"s3 valid escape", "s3", "ObjectCreated:Put", "static/%E4%B8%AD.txt", "3", "static/中.txt", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, good, parse := ossRec, ossRec("ObjectCreated:PutObject", "my-site", "ok"), ParseOSS
			change := ossChange
			payload := ossPayload
			if tt.source == "s3" {
				rec, good, parse, change, payload = s3Rec, s3Rec("ObjectCreated:Put", "my-site", "ok"), ParseS3, s3Change, s3Payload
			}
			// %q would escape the key's bytes; put them in as they are.
			r := strings.Replace(rec(tt.event, "my-site", "KEY"), `"KEY"`, `"`+tt.rawKey+`"`, 1)
			if tt.size != "" {
				r = withSize(r, tt.size)
			}
			raw := payload(r, good)
			got, err := parse(raw)
			if err != nil {
				t.Fatalf("Parse%s(%q): %v", strings.ToUpper(tt.source), raw, err)
			}
			op := refresh.OpCreate
			if strings.HasPrefix(tt.event, "ObjectRemoved") {
				op = refresh.OpDelete
			}
			want := refresh.Event{ID: wantID(tt.source, raw)}
			if tt.wantKey != "" {
				want.Changes = append(want.Changes, change(tt.wantKey, op))
			} else {
				want.Ignored = []refresh.Ignored{{Key: tt.ignoredKey, Reason: "record 0: " + tt.reason}}
			}
			want.Changes = append(want.Changes, change("ok", refresh.OpCreate))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Parse%s(key %q) mismatch (-want +got):\n%s", strings.ToUpper(tt.source), tt.rawKey, diff)
			}
		})
	}
}
