package report

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// When values.
const (
	WhenAlways   = "always"   // send every report
	WhenProblems = "problems" // send only a report with problems (the default)
)

// Threshold is the level under which a quota counts as low: under Percent
// percent of its total, or under Absolute left. A zero field is not
// checked, so the zero Threshold never fires.
type Threshold struct {
	Percent  float64 `json:"percent,omitempty"`
	Absolute int     `json:"absolute,omitempty"`
}

// DefaultThreshold applies to the URL, directory and prefetch quotas unless
// a Policy says otherwise.
var DefaultThreshold = Threshold{Percent: 20}

// defaultKinds are the kinds DefaultThreshold applies to.
var defaultKinds = []string{KindURL, KindDir, KindPreload}

// String writes t as ParseThreshold reads it: "20%", "500", "20% or 500",
// or "0" for the threshold that never fires.
func (t Threshold) String() string {
	var parts []string
	if t.Percent > 0 {
		parts = append(parts, strconv.FormatFloat(t.Percent, 'f', -1, 64)+"%")
	}
	if t.Absolute > 0 {
		parts = append(parts, strconv.Itoa(t.Absolute))
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, " or ")
}

// ParseThreshold reads "20%" (percent of the total) or "500" (count left).
// "0" or "0%" turns the check off.
func ParseThreshold(s string) (Threshold, error) {
	s = strings.TrimSpace(s)
	if num, ok := strings.CutSuffix(s, "%"); ok {
		p, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || math.IsNaN(p) || p < 0 || p > 100 {
			return Threshold{}, fmt.Errorf("threshold %q: want a percentage from 0%% to 100%%", s)
		}
		return Threshold{Percent: p}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return Threshold{}, fmt.Errorf("threshold %q: want a percentage like \"20%%\" or a count like \"500\"", s)
	}
	return Threshold{Absolute: n}, nil
}

// ParseThresholds reads a config's thresholds, keyed by quota kind
// (url: "20%", dir: "10"). Kinds not named keep their defaults.
func ParseThresholds(m map[string]string) (map[string]Threshold, error) {
	out := make(map[string]Threshold, len(m))
	var errs []error
	for _, kind := range slices.Sorted(maps.Keys(m)) {
		if !knownKind(kind) {
			errs = append(errs, unknownKind(kind))
			continue
		}
		t, err := ParseThreshold(m[kind])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", kind, err))
			continue
		}
		out[kind] = t
	}
	return out, errors.Join(errs...)
}

// Policy decides whether a report is sent.
type Policy struct {
	When string // WhenAlways or WhenProblems; "" means WhenProblems
	// Thresholds, per quota kind, replace DefaultThreshold (which applies
	// to url, dir and preload); a zero Threshold turns a kind's check off.
	Thresholds map[string]Threshold
}

// Validate reports what is wrong with p, naming the field.
func (p Policy) Validate() error {
	var errs []error
	switch p.When {
	case "", WhenAlways, WhenProblems:
	default:
		errs = append(errs, fmt.Errorf("report.when %q: want %q or %q", p.When, WhenAlways, WhenProblems))
	}
	for _, kind := range slices.Sorted(maps.Keys(p.Thresholds)) {
		t := p.Thresholds[kind]
		switch {
		case !knownKind(kind):
			errs = append(errs, unknownKind(kind))
		case math.IsNaN(t.Percent) || t.Percent < 0 || t.Percent > 100:
			errs = append(errs, fmt.Errorf("threshold for %s: percent %v is outside 0 to 100", kind, t.Percent))
		case t.Absolute < 0:
			errs = append(errs, fmt.Errorf("threshold for %s: count %d is negative", kind, t.Absolute))
		}
	}
	return errors.Join(errs...)
}

// threshold returns the threshold for a quota kind.
func (p Policy) threshold(kind string) (Threshold, bool) {
	if t, ok := p.Thresholds[kind]; ok {
		return t, true
	}
	if slices.Contains(defaultKinds, kind) {
		return DefaultThreshold, true
	}
	return Threshold{}, false
}

// Problems lists, in words, what is wrong in r: quotas under their
// threshold, failed tasks, changes waiting in spill, changes the replay
// rejected. It is empty when all is well.
func (p Policy) Problems(r Report) []string {
	var out []string
	for _, q := range r.Quotas {
		if why, low := p.low(q); low {
			out = append(out, q.Name()+" quota: "+q.Left()+" is under "+why)
		}
	}
	if n := r.FailedCount(); n > 0 {
		out = append(out, plural(n, "failed task", "failed tasks"))
	}
	if r.Spill.Count > 0 {
		out = append(out, r.Spill.String())
	}
	if r.Replay.Rejected > 0 {
		out = append(out, plural(r.Replay.Rejected, "spilled change", "spilled changes")+" rejected on replay")
	}
	return out
}

// low reports whether q is under its threshold, and which limit it passed.
func (p Policy) low(q Quota) (string, bool) {
	t, ok := p.threshold(q.Kind)
	if !ok {
		return "", false
	}
	if pct, known := q.Percent(); known && t.Percent > 0 && pct < t.Percent {
		return strconv.FormatFloat(t.Percent, 'f', -1, 64) + "%", true
	}
	if t.Absolute > 0 && q.Remain < t.Absolute {
		return strconv.Itoa(t.Absolute), true
	}
	return "", false
}

// ShouldSend reports whether r is to be sent: always, or when it has
// problems.
func (p Policy) ShouldSend(r Report) bool {
	return p.When == WhenAlways || len(p.Problems(r)) > 0
}

func unknownKind(kind string) error {
	known := make([]string, len(kindNames))
	for i, k := range kindNames {
		known[i] = k.kind
	}
	return fmt.Errorf("threshold for unknown quota kind %q (want one of %s)", kind, strings.Join(known, ", "))
}
