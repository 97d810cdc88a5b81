package trigger

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// s3EventSource is the eventSource of every S3 notification record.
const s3EventSource = "aws:s3"

// ParseS3 decodes an Amazon S3 event notification, {"Records":[...]}, with
// the aws-lambda-go events types.
//
// Keys arrive form-URL-encoded ("+" is a space, "%2B" a plus); changes
// carry the decoded key (events.S3Object.URLDecodedKey), and a record whose
// key is not valid encoding is ignored as malformed. ObjectCreated:* records
// are refresh.OpCreate; ObjectRemoved:* (DeleteMarkerCreated included) and
// LifecycleExpiration:* — the object is gone just the same — are
// refresh.OpDelete. Other event names (restores, replication, tagging, ACL
// changes, storage-class transitions) and records whose eventSource is not
// "aws:s3" are ignored with the reason, and so are folder placeholders (a
// key ending in / with size 0 or none) and keys that are not valid UTF-8
// once decoded. The s3:TestEvent that S3 sends when
// a notification is configured decodes to an event with no changes.
//
// Each change has Source "s3"; its EventID is the x-amz-request-id response
// element + "/" + decoded key, or the object's sequencer + "/" + key when
// the request id is absent.
func ParseS3(raw []byte) (refresh.Event, error) {
	const what = "S3 event"
	fields, err := topObject(what, raw)
	if err != nil {
		return refresh.Event{}, err
	}
	id := payloadID("s3", raw)
	if _, ok := fields["Records"]; !ok && isS3TestEvent(fields) {
		return refresh.Event{
			ID:      id,
			Changes: []refresh.Change{},
			Ignored: []refresh.Ignored{{Reason: "s3:TestEvent: sent when a bucket notification is configured"}},
		}, nil
	}
	recs, err := recordList(what, fields, "Records")
	if err != nil {
		return refresh.Event{}, err
	}
	b := batch{what: what, ev: refresh.Event{ID: id, Changes: make([]refresh.Change, 0, len(recs))}}
	for i, rec := range recs {
		decodeS3Record(&b, i, rec)
	}
	return b.result(len(recs))
}

// isS3TestEvent reports whether an object is the s3:TestEvent message.
func isS3TestEvent(fields map[string]json.RawMessage) bool {
	var ev string
	return json.Unmarshal(fields["Event"], &ev) == nil && ev == "s3:TestEvent"
}

// s3Op returns the operation an S3 event name reports, or ok false when it
// reports none.
func s3Op(name string) (op refresh.Op, ok bool) {
	family, _, _ := strings.Cut(name, ":")
	switch family {
	case "ObjectCreated":
		return refresh.OpCreate, true
	case "ObjectRemoved", "LifecycleExpiration":
		return refresh.OpDelete, true
	}
	return "", false
}

// decodeS3Record adds record i to b as a change, an ignored record or a
// malformed one.
func decodeS3Record(b *batch, i int, raw json.RawMessage) {
	if k := refresh.JSONKind(raw); k != "object" {
		b.malformed(i, "", fmt.Sprintf("record is JSON %s, want object", k))
		return
	}
	var r events.S3EventRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		key, why := diagnoseS3(raw, err)
		b.malformed(i, key, why)
		return
	}
	key := r.S3.Object.URLDecodedKey
	if !b.envelope(i, key, r.EventSource, s3EventSource, r.EventName) {
		return
	}
	name := strings.TrimPrefix(r.EventName, "s3:")
	op, ok := s3Op(name)
	if !ok {
		b.skip(i, key, fmt.Sprintf("event %s does not create or remove an object", clip(r.EventName)))
		return
	}
	switch {
	case r.S3.Bucket.Name == "":
		b.malformed(i, key, "missing s3.bucket.name")
		return
	case key == "":
		b.malformed(i, key, "missing s3.object.key")
		return
	}
	rawKey := func() json.RawMessage { return rawKeysOf(raw).S3.Object.Key }
	if why := checkKey(key, r.S3.Object.Size == 0, rawKey); why != "" {
		shown := key
		if why == reasonUTF8 {
			shown = r.S3.Object.Key // as sent, still encoded: the decoded bytes are not text
		}
		b.skip(i, shown, why)
		return
	}
	var id string
	if rid := r.ResponseElements["x-amz-request-id"]; rid != "" {
		id = rid + "/" + key
	} else if seq := r.S3.Object.Sequencer; seq != "" {
		id = seq + "/" + key
	}
	var at time.Time
	if !r.EventTime.IsZero() {
		at = r.EventTime.UTC()
	}
	b.change(refresh.Change{
		Source:  "s3",
		EventID: id,
		Bucket:  r.S3.Bucket.Name,
		Key:     key,
		Op:      op,
		ETag:    r.S3.Object.ETag,
		Time:    at,
	})
}

// diagnoseS3 explains why an S3 record did not decode, naming the field,
// and returns the record's key as sent (still encoded) when it has one.
func diagnoseS3(raw json.RawMessage, err error) (key, why string) {
	var loose struct {
		EventTime json.RawMessage `json:"eventTime"`
		S3        struct {
			Object struct {
				Key any `json:"key"`
			} `json:"object"`
		} `json:"s3"`
	}
	_ = json.Unmarshal(raw, &loose) // best effort: only for the message
	key, _ = loose.S3.Object.Key.(string)

	var esc url.EscapeError
	if errors.As(err, &esc) {
		return key, fmt.Sprintf("s3.object.key %s is not valid URL encoding: invalid escape %s", clip(key), clip(string(esc)))
	}
	if len(loose.EventTime) > 0 && refresh.JSONKind(loose.EventTime) != "null" {
		var s string
		if json.Unmarshal(loose.EventTime, &s) != nil {
			return key, fmt.Sprintf("eventTime is JSON %s, want string", refresh.JSONKind(loose.EventTime))
		}
		if _, perr := time.Parse(time.RFC3339, s); perr != nil {
			return key, fmt.Sprintf("eventTime %s is not an RFC 3339 time", clip(s))
		}
	}
	return key, describe(err)
}
