package refresh

import (
	"bytes"
	"encoding/json"
)

// JSONKind names the JSON type of a valid value: object, array, string,
// number, boolean or null ("nothing" for blank input). The decoders of
// events and webhook bodies use it to check a member's type and to say
// what they got instead.
func JSONKind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}
