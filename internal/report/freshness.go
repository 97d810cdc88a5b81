package report

import (
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// Freshness is how fresh the edge got in the period: per domain, the time
// from an object's change to the completion of the task that refreshed
// it (the task ledger's tickets: the change time, and the CDN event's
// completeTime or when polling first saw the task Complete).
type Freshness struct {
	Domain string        `json:"domain"`
	Tasks  int           `json:"tasks"` // tickets completed in the period
	P50    time.Duration `json:"p50"`
	P95    time.Duration `json:"p95"`
	Max    time.Duration `json:"max"`
}

// String reads "static.example.com: 12 tasks, change → complete p50 5m10s,
// p95 6m2s, max 6m30s".
func (f Freshness) String() string {
	return f.Domain + ": " + plural(f.Tasks, "task", "tasks") + ", change → complete p50 " + short(f.P50) +
		", p95 " + short(f.P95) + ", max " + short(f.Max)
}

func short(d time.Duration) string { return d.Round(time.Second).String() }

// Following counts what became of the period's accepted calls (the
// tickets of the task ledger: one a call).
type Following struct {
	Completed   int `json:"completed"`
	Failed      int `json:"failed"`
	Resubmitted int `json:"resubmitted"`
	Open        int `json:"open"`
	Expired     int `json:"expired,omitempty"`
	Waiting     int `json:"waiting"` // prefetches waiting for their purge
	// FailedForGood are the URLs of failed tasks that are not sent again
	// (they failed again after a re-submission, or re-submission is off),
	// each with the API's description.
	FailedForGood []string `json:"failed_for_good,omitempty"`
	// Collapses are the period's directory refreshes the planner made of
	// file refreshes, with why (one directory unit each).
	Collapses []string `json:"collapses,omitempty"`
}

// Empty reports whether nothing was followed.
func (f Following) Empty() bool {
	return f.Completed+f.Failed+f.Resubmitted+f.Open+f.Expired+f.Waiting+len(f.Collapses) == 0
}

// String counts them: "calls: 12 complete, 1 with failed tasks (1 sent
// again), 3 open, 2 prefetches waiting for their purge".
func (f Following) String() string {
	s := "calls: " + strconv.Itoa(f.Completed) + " complete, " + strconv.Itoa(f.Failed) + " with failed tasks (" +
		strconv.Itoa(f.Resubmitted) + " sent again), " + strconv.Itoa(f.Open) + " open"
	if f.Expired > 0 {
		s += ", " + strconv.Itoa(f.Expired) + " no longer known to the API"
	}
	return s + ", " + plural(f.Waiting, "prefetch", "prefetches") + " waiting for their purge"
}

// follow computes the freshness per domain and the counts of tickets whose
// latest change falls in [since, now], and the open ones; waiting is the
// number of prefetches waiting in the spill.
func follow(tickets []refresh.Ticket, since, now time.Time, waiting int) ([]Freshness, Following) {
	f := Following{Waiting: waiting}
	lat := map[string][]time.Duration{}
	in := func(t time.Time) bool { return !t.Before(since) && !t.After(now) }
	for _, t := range tickets {
		if in(t.Submitted) {
			f.Collapses = append(f.Collapses, t.Collapsed...)
		}
		switch {
		case t.State == refresh.TicketOpen:
			f.Open++
		case t.State == refresh.TicketComplete && in(t.Completed):
			f.Completed++
			if !t.Changed.IsZero() {
				for _, d := range t.Domains() {
					lat[d] = append(lat[d], t.Completed.Sub(t.Changed))
				}
			}
		case t.State == refresh.TicketFailed && in(t.Updated):
			f.Failed++
			if t.Resubmitted {
				f.Resubmitted++
				break
			}
			for _, u := range t.Failed {
				f.FailedForGood = append(f.FailedForGood, u+": "+t.Description)
			}
		case t.State == refresh.TicketExpired && in(t.Updated):
			f.Expired++
		}
	}
	var out []Freshness
	for _, d := range slices.Sorted(maps.Keys(lat)) {
		ds := lat[d]
		slices.Sort(ds)
		out = append(out, Freshness{Domain: d, Tasks: len(ds), P50: rank(ds, 50), P95: rank(ds, 95), Max: ds[len(ds)-1]})
	}
	return out, f
}

// rank returns the p-th percentile of sorted ds by the nearest-rank method.
func rank(ds []time.Duration, p int) time.Duration {
	i := (p*len(ds)+99)/100 - 1
	return ds[max(0, min(i, len(ds)-1))]
}
