package refresh

import "testing"

func TestJSONKind(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`{"a":1}`, "object"},
		{` [1] `, "array"},
		{`"s"`, "string"},
		{`-1.5e3`, "number"},
		{`0`, "number"},
		{`true`, "boolean"},
		{`false`, "boolean"},
		{"\n null", "null"},
		{"", "nothing"},
		{" \t", "nothing"},
	}
	for _, tt := range tests {
		if got := JSONKind([]byte(tt.in)); got != tt.want {
			t.Errorf("JSONKind(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
