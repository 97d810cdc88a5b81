// Package report is the model of what the report function tells its
// operators — the quota left today, refresh and prefetch tasks that failed,
// the spill store's backlog and what its replay did — with the policy that
// decides whether a report is worth sending and a rendering that channels
// adapt to their own markup (package notify) or print as plain text (the
// CLI's cdnrefresh report).
//
// The package does no I/O: the gathering code fills a Report from the CDN
// API (DescribeRefreshQuota, DescribeRefreshTasks, DescribePreloadDetailById)
// and the spill store, sets Problems from a Policy, and hands it on.
package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// TimeLayout is how the report writes a moment.
const TimeLayout = "2006-01-02 15:04 MST"

// Quota kinds, named after the DescribeRefreshQuota fields they come from
// (UrlRemain, DirRemain, RegexRemain, IgnoreParamsRemain, PreloadRemain,
// PreloadEdgeRemain, BlockRemain).
const (
	KindURL          = string(refresh.QuotaURL)
	KindDir          = string(refresh.QuotaDir)
	KindRegex        = string(refresh.QuotaRegex)
	KindIgnoreParams = string(refresh.QuotaIgnoreParams)
	KindPreload      = string(refresh.QuotaPreload)
	KindPreloadEdge  = string(refresh.QuotaPreloadEdge)
	KindBlock        = string(refresh.QuotaBlock)
)

// kindNames are the kinds in report order, with the words a person reads.
var kindNames = []struct{ kind, name string }{
	{KindURL, "URL refresh"},
	{KindDir, "directory refresh"},
	{KindRegex, "regex refresh"},
	{KindIgnoreParams, "ignore-params refresh"},
	{KindPreload, "prefetch"},
	{KindPreloadEdge, "edge prefetch"},
	{KindBlock, "block"},
}

// KindName returns the words for a quota kind ("URL refresh" for "url"), or
// the kind itself when it is not one of the known kinds.
func KindName(kind string) string {
	if name, ok := kindName(kind); ok {
		return name
	}
	return kind
}

func kindName(kind string) (string, bool) {
	for _, k := range kindNames {
		if k.kind == kind {
			return k.name, true
		}
	}
	return "", false
}

// Report is one report: built once, rendered by every channel.
type Report struct {
	Generated time.Time `json:"generated"`
	Account   string    `json:"account,omitempty"` // Alibaba Cloud account (owner) id, when known
	// Problems are the reasons to send the report, as Policy.Problems
	// phrases them. The gathering code sets them; renderings list them
	// first.
	Problems []string `json:"problems,omitempty"`
	Quotas   []Quota  `json:"quotas,omitempty"`
	// Failed are the failed tasks that were read; FailedTotal is how many
	// the API said there are, which may be more (reading stops early).
	Failed      []Task           `json:"failed,omitempty"`
	FailedTotal int              `json:"failed_total"`
	Notes       []string         `json:"notes,omitempty"` // e.g. "DescribePreloadDetailById not allowed for this account"
	Spill       SpillStats       `json:"spill"`
	Replay      refresh.Replayed `json:"replay"`
	// Freshness and Following are what the task ledger says of the
	// period: change → complete per domain, and what became of the calls.
	Freshness []Freshness `json:"freshness,omitempty"`
	Following Following   `json:"following,omitzero"`
}

// FailedCount is the number of failed tasks: FailedTotal, or the number
// read when that is larger.
func (r Report) FailedCount() int { return max(r.FailedTotal, len(r.Failed)) }

// Quota is what remains of one daily quota.
type Quota struct {
	Provider refresh.Provider `json:"provider"`
	Kind     string           `json:"kind"` // one of the Kind constants
	Total    int              `json:"total"`
	Remain   int              `json:"remain"`
}

// Name says which quota q is, e.g. "CDN URL refresh".
func (q Quota) Name() string {
	if q.Provider == "" {
		return KindName(q.Kind)
	}
	return providerName(q.Provider) + " " + KindName(q.Kind)
}

// Percent returns the part of the quota that remains, in percent, and false
// when the total is not known.
func (q Quota) Percent() (float64, bool) {
	if q.Total <= 0 {
		return 0, false
	}
	return float64(q.Remain) * 100 / float64(q.Total), true
}

// Left says how much remains, e.g. "150 of 10000 left (1.5%)".
func (q Quota) Left() string {
	p, ok := q.Percent()
	if !ok {
		return fmt.Sprintf("%d left", q.Remain)
	}
	return fmt.Sprintf("%d of %d left (%s)", q.Remain, q.Total, formatPercent(p))
}

// String is q's name and what is left: "CDN URL refresh: 150 of 10000 left (1.5%)".
func (q Quota) String() string { return q.Name() + ": " + q.Left() }

// formatPercent writes p with at most one decimal, rounded down so that a
// quota just under a threshold never reads as the threshold itself.
func formatPercent(p float64) string {
	p = math.Floor(p*10) / 10
	return strconv.FormatFloat(p, 'f', -1, 64) + "%"
}

// Task is one refresh or prefetch task, as DescribeRefreshTasks lists it.
type Task struct {
	Provider    refresh.Provider `json:"provider"`
	ID          string           `json:"id"`
	URL         string           `json:"url"`         // ObjectPath
	ObjectType  string           `json:"object_type"` // file, directory, regex, preload
	Status      string           `json:"status"`      // Failed, …
	Description string           `json:"description,omitempty"`
	Created     time.Time        `json:"created,omitzero"`
	// Details are DescribePreloadDetailById's lines for a prefetch task,
	// e.g. "/a.jpg 0%: origin timeout".
	Details []string `json:"details,omitempty"`
}

// SpillStats describe the spill store's backlog after the replay.
type SpillStats struct {
	Count    int            `json:"count"`
	Oldest   time.Time      `json:"oldest,omitzero"`
	ByReason map[string]int `json:"by_reason,omitempty"`
}

// String says how many changes wait and since when: "12 changes waiting in
// spill since 2025-06-01 08:00 CST".
func (s SpillStats) String() string {
	msg := plural(s.Count, "change", "changes") + " waiting in spill"
	if !s.Oldest.IsZero() {
		msg += " since " + s.Oldest.Format(TimeLayout)
	}
	return msg
}

// Count is one reason and how often it occurred.
type Count struct {
	Name string
	N    int
}

// Counts returns m's entries, most frequent first, ties by name.
func Counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for name, n := range m {
		out = append(out, Count{name, n})
	}
	slices.SortFunc(out, func(a, b Count) int {
		return cmp.Or(cmp.Compare(b.N, a.N), strings.Compare(a.Name, b.Name))
	})
	return out
}

// Headline is the report's one-line title: "CDN refresh report: 3 problems".
func Headline(r Report) string {
	if len(r.Problems) == 0 {
		return "CDN refresh report"
	}
	return "CDN refresh report: " + plural(len(r.Problems), "problem", "problems")
}

func providerName(p refresh.Provider) string { return strings.ToUpper(string(p)) }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
