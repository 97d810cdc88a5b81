package trigger

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// ossEventSource is the eventSource of every OSS trigger record.
const ossEventSource = "acs:oss"

// ossOps maps the OSS event names that change what the CDN serves to the
// operation they report. ObjectModified:UpdateObjectMeta rewrites the
// object's headers (Content-Type, Cache-Control, x-oss-meta-*), which the
// CDN caches along with the body, so it is a create: the cached copy must
// be refreshed.
var ossOps = map[string]refresh.Op{
	"ObjectCreated:PutObject":               refresh.OpCreate,
	"ObjectCreated:PostObject":              refresh.OpCreate,
	"ObjectCreated:CopyObject":              refresh.OpCreate,
	"ObjectCreated:CompleteMultipartUpload": refresh.OpCreate,
	"ObjectCreated:AppendObject":            refresh.OpCreate,
	"ObjectCreated:PutSymlink":              refresh.OpCreate,
	"ObjectModified:UpdateObjectMeta":       refresh.OpCreate,
	"ObjectRemoved:DeleteObject":            refresh.OpDelete,
	"ObjectRemoved:DeleteObjects":           refresh.OpDelete,
}

// ossNoChange says why the known OSS events that change no visible object
// are ignored.
var ossNoChange = map[string]string{
	"ObjectCreated:InitiateMultipartUpload": "starts a multipart upload; CompleteMultipartUpload reports the object",
	"ObjectCreated:UploadPart":              "uploads one part; CompleteMultipartUpload reports the object",
	"ObjectCreated:UploadPartCopy":          "copies one part; CompleteMultipartUpload reports the object",
	"ObjectRemoved:AbortMultipartUpload":    "abandons a multipart upload; no object changed",
}

// ossRecord is the part of an OSS trigger record that trigger reads. Fields
// it does not need (sizes, ARNs, identities) are left out so that their
// types cannot spoil a record.
type ossRecord struct {
	EventName   string `json:"eventName"`
	EventSource string `json:"eventSource"`
	EventTime   string `json:"eventTime"`
	OSS         struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key  string `json:"key"`
			ETag string `json:"eTag"`
			// Size is kept raw: only whether it is 0 (or absent) matters.
			Size json.RawMessage `json:"size"`
		} `json:"object"`
	} `json:"oss"`
	ResponseElements struct {
		RequestID string `json:"requestId"`
	} `json:"responseElements"`
}

// ParseOSS decodes a Function Compute OSS trigger event, {"events":[...]}.
//
// Records that create, overwrite, re-describe or remove an object become
// changes (Source "oss"): ObjectCreated PutObject, PostObject, CopyObject,
// CompleteMultipartUpload, AppendObject and PutSymlink, and
// ObjectModified:UpdateObjectMeta (the CDN caches the headers it changes)
// are refresh.OpCreate; ObjectRemoved DeleteObject and DeleteObjects are
// refresh.OpDelete. Event names may carry the "oss:" prefix the trigger
// configuration uses. Multipart steps, aborted uploads, ObjectDownloaded
// events, unknown event names and records whose eventSource is not
// "acs:oss" are ignored with the reason, and so are folder placeholders (a
// key ending in / with size 0 or none) and keys that are not valid UTF-8.
// Keys are kept as sent, raw UTF-8.
//
// Each change's EventID is responseElements.requestId + "/" + key (empty
// when the record has no request id); its Time is the record's eventTime.
func ParseOSS(raw []byte) (refresh.Event, error) {
	const what = "OSS event"
	fields, err := topObject(what, raw)
	if err != nil {
		return refresh.Event{}, err
	}
	recs, err := recordList(what, fields, "events")
	if err != nil {
		return refresh.Event{}, err
	}
	b := batch{what: what, ev: refresh.Event{ID: payloadID("oss", raw), Changes: make([]refresh.Change, 0, len(recs))}}
	for i, rec := range recs {
		decodeOSSRecord(&b, i, rec)
	}
	return b.result(len(recs))
}

// decodeOSSRecord adds record i to b as a change, an ignored record or a
// malformed one.
func decodeOSSRecord(b *batch, i int, raw json.RawMessage) {
	if k := refresh.JSONKind(raw); k != "object" {
		b.malformed(i, "", fmt.Sprintf("record is JSON %s, want object", k))
		return
	}
	var r ossRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		b.malformed(i, r.OSS.Object.Key, describe(err))
		return
	}
	key := r.OSS.Object.Key
	if !b.envelope(i, key, r.EventSource, ossEventSource, r.EventName) {
		return
	}
	name := strings.TrimPrefix(r.EventName, "oss:")
	op, ok := ossOps[name]
	if !ok {
		switch why, known := ossNoChange[name]; {
		case known:
			b.skip(i, key, name+": "+why)
		case strings.HasPrefix(name, "ObjectDownloaded:"):
			b.skip(i, key, name+": a read; no object changed")
		default:
			b.skip(i, key, "unknown event name "+clip(r.EventName))
		}
		return
	}
	switch {
	case r.OSS.Bucket.Name == "":
		b.malformed(i, key, "missing oss.bucket.name")
		return
	case key == "":
		b.malformed(i, key, "missing oss.object.key")
		return
	}
	size := strings.TrimSpace(string(r.OSS.Object.Size))
	rawKey := func() json.RawMessage { return rawKeysOf(raw).OSS.Object.Key }
	if why := checkKey(key, size == "" || size == "0" || size == "null", rawKey); why != "" {
		b.skip(i, key, why)
		return
	}
	var at time.Time
	if r.EventTime != "" {
		t, err := time.Parse(time.RFC3339Nano, r.EventTime)
		if err != nil {
			b.malformed(i, key, fmt.Sprintf("eventTime %s is not an RFC 3339 time", clip(r.EventTime)))
			return
		}
		at = t.UTC()
	}
	var id string
	if r.ResponseElements.RequestID != "" {
		id = r.ResponseElements.RequestID + "/" + key
	}
	b.change(refresh.Change{
		Source:  "oss",
		EventID: id,
		Bucket:  r.OSS.Bucket.Name,
		Key:     key,
		Op:      op,
		ETag:    r.OSS.Object.ETag,
		Time:    at,
	})
}
