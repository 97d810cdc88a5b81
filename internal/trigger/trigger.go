// Package trigger decodes the payloads that start a cdnrefresh function into
// the words of package refresh: Function Compute OSS trigger events and
// Amazon S3 event notifications become a refresh.Event; FC timer events,
// EventBridge scheduled events and bare scheduled inputs become a Timer.
//
// Decoding is strict about shape and generous with batches. A record that
// is malformed (missing key or bucket, wrong JSON types, a key that is not
// valid URL encoding) lands in Event.Ignored with the reason, next to the
// records that need no CDN work (a multipart part, a download, an unknown
// event name); the valid records of the batch are always kept. Only a
// payload with nothing decodable is an error, and every error names what is
// wrong: a platform retry of the same payload never helps. Records are
// numbered from 0, as in events[N] and Records[N].
//
// Event.ID is the payload's delivery identity, "oss:" or "s3:" followed by
// the first 32 hex digits of the SHA-256 of the raw bytes, so that the
// identical bytes of an FC asynchronous retry carry the same ID.
//
// References:
//   - FC trigger event formats (OSS, timer): https://www.alibabacloud.com/help/en/functioncompute/fc/formats-of-event-for-different-triggers-1
//   - S3 event message structure: https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
package trigger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// Kind is the source a payload came from, as Detect recognises it.
type Kind int

// The kinds of payload Detect recognises.
const (
	KindUnknown     Kind = iota
	KindOSS              // FC OSS trigger: {"events":[...]}
	KindS3               // S3 event notification: {"Records":[...]} or the s3:TestEvent
	KindTimer            // FC timer {"triggerTime",...}, or a bare task selector
	KindEventBridge      // EventBridge / CloudWatch event: {"detail-type","source",...}
)

// String returns the kind's short name: oss, s3, timer, eventbridge or unknown.
func (k Kind) String() string {
	switch k {
	case KindOSS:
		return "oss"
	case KindS3:
		return "s3"
	case KindTimer:
		return "timer"
	case KindEventBridge:
		return "eventbridge"
	}
	return "unknown"
}

// Detect tells which source sent raw by its top-level keys: "events" is an
// OSS trigger event, "Records" (or an s3:TestEvent) an S3 notification,
// "detail-type" with "source" an EventBridge event, "triggerTime" or
// "triggerName" an FC timer event, and "tasks" — or a bare JSON string or
// array — a scheduled input selecting tasks ("task" too, so that
// ParseTimer can say to use "tasks"). ParseTimer accepts
// both KindTimer and KindEventBridge payloads; Parse accepts KindOSS and
// KindS3.
func Detect(raw []byte) (Kind, error) {
	v, err := decodeTop("payload", raw)
	if err != nil {
		return KindUnknown, err
	}
	switch refresh.JSONKind(v) {
	case "string", "array":
		return KindTimer, nil
	case "object":
	default:
		return KindUnknown, fmt.Errorf("trigger: payload is JSON %s, want object (or a task selector string or array)", refresh.JSONKind(v))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(v, &fields); err != nil {
		return KindUnknown, fmt.Errorf("trigger: payload: %s", describe(err))
	}
	has := func(k string) bool { _, ok := fields[k]; return ok }
	switch {
	case has("events"):
		return KindOSS, nil
	case has("Records"), isS3TestEvent(fields):
		return KindS3, nil
	case has("detail-type") && has("source"):
		return KindEventBridge, nil
	case has("triggerTime"), has("triggerName"), has("tasks"), has("task"):
		return KindTimer, nil
	}
	return KindUnknown, fmt.Errorf("trigger: unrecognised payload: top-level keys %s", keyList(fields))
}

// Parse decodes an object-change payload of either source — an FC OSS
// trigger event or an S3 event notification — so that one binary serves
// Function Compute and Lambda alike.
func Parse(raw []byte) (refresh.Event, error) {
	k, err := Detect(raw)
	if err != nil {
		return refresh.Event{}, err
	}
	switch k {
	case KindOSS:
		return ParseOSS(raw)
	case KindS3:
		return ParseS3(raw)
	}
	return refresh.Event{}, fmt.Errorf("trigger: %s payload is not an object-change event", k)
}

// payloadID returns prefix + ":" + the first 32 hex digits of SHA-256(raw).
func payloadID(prefix string, raw []byte) string {
	sum := sha256.Sum256(raw)
	return prefix + ":" + hex.EncodeToString(sum[:16])
}

// decodeTop checks that raw is one valid JSON value and returns it trimmed.
func decodeTop(what string, raw []byte) (json.RawMessage, error) {
	v := bytes.TrimSpace(raw)
	if len(v) == 0 {
		return nil, fmt.Errorf("trigger: %s is empty", what)
	}
	if !json.Valid(v) {
		var x any
		err := json.Unmarshal(v, &x)
		return nil, fmt.Errorf("trigger: %s is not valid JSON: %s", what, describe(err))
	}
	return v, nil
}

// topObject decodes raw as a JSON object; what names the payload in errors.
func topObject(what string, raw []byte) (map[string]json.RawMessage, error) {
	v, err := decodeTop(what, raw)
	if err != nil {
		return nil, err
	}
	if k := refresh.JSONKind(v); k != "object" {
		return nil, fmt.Errorf("trigger: %s is JSON %s, want object", what, k)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(v, &fields); err != nil {
		return nil, fmt.Errorf("trigger: %s: %s", what, describe(err))
	}
	return fields, nil
}

// recordList returns the non-empty array fields[name].
func recordList(what string, fields map[string]json.RawMessage, name string) ([]json.RawMessage, error) {
	v, ok := fields[name]
	if !ok {
		return nil, fmt.Errorf("trigger: %s: missing %s (top-level keys %s)", what, name, keyList(fields))
	}
	if k := refresh.JSONKind(v); k != "array" {
		return nil, fmt.Errorf("trigger: %s: %s is JSON %s, want array", what, name, k)
	}
	var recs []json.RawMessage
	if err := json.Unmarshal(v, &recs); err != nil {
		return nil, fmt.Errorf("trigger: %s: %s: %s", what, name, describe(err))
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("trigger: %s: %s is empty", what, name)
	}
	return recs, nil
}

// describe turns a JSON decoding error into words that name the field.
func describe(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("%s is JSON %s, want %s", te.Field, te.Value, te.Type)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// clip quotes s for an error or reason, cut to a readable length.
func clip(s string) string {
	const limit = 64
	if len(s) <= limit {
		return strconv.Quote(s)
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}

// keyList formats the keys of an object for an error, sorted and capped.
func keyList(fields map[string]json.RawMessage) string {
	if len(fields) == 0 {
		return "(none)"
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, clip(k))
	}
	slices.Sort(keys)
	if len(keys) > 8 {
		keys = append(keys[:8], fmt.Sprintf("and %d more", len(keys)-8))
	}
	return strings.Join(keys, ", ")
}

// batch collects the outcome of decoding the records of one payload.
type batch struct {
	what string // "OSS event", "S3 event"
	ev   refresh.Event
	bad  []string // malformed records, each "record N: reason"
}

// change keeps a decoded change.
func (b *batch) change(c refresh.Change) { b.ev.Changes = append(b.ev.Changes, c) }

// skip records a well-formed record that needs no CDN work.
func (b *batch) skip(i int, key, reason string) {
	b.ev.Ignored = append(b.ev.Ignored, refresh.Ignored{Key: key, Reason: fmt.Sprintf("record %d: %s", i, reason)})
}

// malformed records a record that could not be decoded; the rest of the
// batch is kept.
func (b *batch) malformed(i int, key, reason string) {
	b.skip(i, key, reason)
	b.bad = append(b.bad, fmt.Sprintf("record %d: %s", i, reason))
}

// result returns the event, or an error when every one of n records was
// malformed.
func (b *batch) result(n int) (refresh.Event, error) {
	if len(b.bad) < n {
		return b.ev, nil
	}
	if n == 1 {
		return refresh.Event{}, fmt.Errorf("trigger: %s %s", b.what, b.bad[0])
	}
	shown := b.bad
	more := ""
	if len(shown) > 3 {
		more = fmt.Sprintf("; and %d more", len(shown)-3)
		shown = shown[:3]
	}
	return refresh.Event{}, fmt.Errorf("trigger: %s: none of %d records is valid: %s%s", b.what, n, strings.Join(shown, "; "), more)
}

// envelope checks a record's eventSource and eventName and records why a
// record is skipped (another source) or malformed; it reports whether the
// record is to be decoded further.
func (b *batch) envelope(i int, key, source, want, name string) bool {
	switch {
	case source == "":
		b.malformed(i, key, "missing eventSource")
	case source != want:
		b.skip(i, key, fmt.Sprintf("eventSource %s is not %s", clip(source), want))
	case name == "":
		b.malformed(i, key, "missing eventName")
	default:
		return true
	}
	return false
}

// Reasons for keys that name no file.
const (
	reasonFolder = "folder placeholder (key ends in / and size is 0): not a file"
	reasonUTF8   = "key is not valid UTF-8"
)

// checkKey says why a decoded key names no file the CDN serves, or ""
// when it names one: a folder placeholder (a key ending in / with size 0,
// as the OSS and S3 consoles create for folders; delete events carry no
// size), or a key that is not valid UTF-8. rawKey returns the key's JSON
// token as sent, asked only for a key holding U+FFFD: encoding/json turns
// invalid bytes and unpaired surrogate escapes into U+FFFD without a
// word, which would refresh another URL.
func checkKey(key string, zeroSize bool, rawKey func() json.RawMessage) string {
	switch {
	case !utf8.ValidString(key), strings.ContainsRune(key, utf8.RuneError) && !utf8JSONString(rawKey()):
		return reasonUTF8
	case strings.HasSuffix(key, "/") && zeroSize:
		return reasonFolder
	}
	return ""
}

// rawKeysOf returns the keys of an OSS or S3 record as their JSON tokens.
func rawKeysOf(rec json.RawMessage) rawKeys {
	var rk rawKeys
	_ = json.Unmarshal(rec, &rk) // the record decoded already
	return rk
}

// rawKeys holds the keys of an OSS or S3 record as their JSON tokens.
type rawKeys struct {
	OSS struct {
		Object struct {
			Key json.RawMessage `json:"key"`
		} `json:"object"`
	} `json:"oss"`
	S3 struct {
		Object struct {
			Key json.RawMessage `json:"key"`
		} `json:"object"`
	} `json:"s3"`
}

// utf8JSONString reports whether the JSON string token tok decodes to
// valid UTF-8: no invalid byte and no unpaired surrogate escape. A token
// that is not a well-formed string is left to the JSON decoder.
func utf8JSONString(tok []byte) bool {
	if len(tok) < 2 || tok[0] != '"' || tok[len(tok)-1] != '"' {
		return true
	}
	s := tok[1 : len(tok)-1]
	hex4 := func(i int) (rune, bool) { // the \uXXXX escape at s[i:]
		if i+6 > len(s) || s[i] != '\\' || s[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(s[i+2:i+6]), 16, 32)
		return rune(n), err == nil
	}
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && s[i+1] == 'u':
			r, ok := hex4(i)
			if !ok {
				return true
			}
			i += 6
			if !utf16.IsSurrogate(r) {
				continue
			}
			lo, ok := hex4(i)
			if !ok || utf16.DecodeRune(r, lo) == unicode.ReplacementChar {
				return false
			}
			i += 6
		case c == '\\':
			i += 2
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				return false
			}
			i += size
		}
	}
	return true
}
