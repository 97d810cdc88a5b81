package report

import (
	"math"
	"slices"
	"strconv"
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

// Policy decides whether a report is sent.
type Policy struct {
	When string // WhenAlways or WhenProblems; "" means WhenProblems
	// Thresholds, per quota kind, replace DefaultThreshold (which applies
	// to url, dir and preload); a zero Threshold turns a kind's check off.
	Thresholds map[string]Threshold
}

// NewThreshold returns the threshold value, in percent when percent is
// set, else a count (rounded up).
func NewThreshold(value float64, percent bool) Threshold {
	if percent {
		return Threshold{Percent: value}
	}
	return Threshold{Absolute: int(math.Ceil(value))}
}

// UniformPolicy is the policy When with threshold t for the URL, directory
// and prefetch quotas, the kinds DefaultThreshold applies to.
func UniformPolicy(when string, t Threshold) Policy {
	p := Policy{When: when, Thresholds: map[string]Threshold{}}
	for _, k := range defaultKinds {
		p.Thresholds[k] = t
	}
	return p
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
	if n := len(r.Following.FailedForGood); n > 0 {
		out = append(out, plural(n, "URL", "URLs")+" failed to refresh and will not be sent again")
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
