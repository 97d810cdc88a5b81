package apptest

import (
	"encoding/json"
	"strings"

	"github.com/cdnrefresh/cdnrefresh/internal/testrun"
)

// Log is a function's JSON log in memory, safe for the concurrent writes
// of a server and its invocations.
type Log struct{ testrun.Buffer }

// Records returns the logged JSON records whose level is level.
func (l *Log) Records(level string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(l.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["level"] == level {
			out = append(out, rec)
		}
	}
	return out
}
