package refresh

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TaskRetention is how long the task APIs remember a task ("only data
// within the last three days", DescribeRefreshTasks and
// DescribeRefreshTaskById API pages): the ledger keeps its tickets as long.
const TaskRetention = 72 * time.Hour

// TicketState is what became of an accepted call's tasks.
type TicketState string

// Ticket states.
const (
	TicketOpen     TicketState = "open"     // some task not done yet
	TicketComplete TicketState = "complete" // every task Complete
	TicketFailed   TicketState = "failed"   // a task Failed: Failed lists its URLs
	TicketExpired  TicketState = "expired"  // the API no longer knows its tasks (older than three days)
)

// Ticket is the ledger's record of one call the API accepted: what it
// asked, when its URLs changed and were submitted, and what became of
// its tasks. The latest record of a ticket (by Updated) is its state.
type Ticket struct {
	Provider   Provider   `json:"provider"`
	Action     Action     `json:"action"`
	ObjectType ObjectType `json:"object_type,omitempty"`
	// TaskIDs are the ids the API answered (a call spanning domains, or
	// over 2,000 URLs of one, gets several).
	TaskIDs []string `json:"task_ids"`
	URLs    []string `json:"urls"`
	// Changed is the earliest change time of the call's jobs: freshness
	// is measured from it.
	Changed   time.Time `json:"changed"`
	Submitted time.Time `json:"submitted"`
	// Attempt is 1, or 2 and on for a re-submission of the URLs of a
	// failed task.
	Attempt int         `json:"attempt"`
	State   TicketState `json:"state"`
	// Done lists the task ids known Complete; Completed is when the last
	// of them completed (the CDN event's completeTime, or when polling
	// first saw it Complete).
	Done      []string  `json:"done,omitempty"`
	Completed time.Time `json:"completed,omitzero"`
	// Failed lists the URLs of failed tasks, Description the API's reason
	// (Internal Error, Origin Timeout, Origin Return StatusCode 5XX).
	Failed      []string `json:"failed,omitempty"`
	Description string   `json:"description,omitempty"`
	// Resubmitted says the failed URLs were sent again, as a new ticket.
	Resubmitted bool `json:"resubmitted,omitempty"`
	// Deleted holds the URLs the call refreshed because their objects were
	// deleted, with the change time: a prefetch of an older change of
	// them, still waiting anywhere, is never sent.
	Deleted map[string]time.Time `json:"deleted,omitempty"`
	Updated time.Time            `json:"updated"`
	// Collapsed says why the planner collapsed file refreshes into the
	// call's directories (Call.Notes): each costs one directory unit.
	Collapsed []string `json:"collapsed,omitempty"`
}

// Key identifies a ticket: its provider and task ids, and — since the API
// gives calls for one domain within one second the same task id
// (RefreshObjectCaches API page, RefreshTaskId) — when it was submitted
// and its first URL.
func (t Ticket) Key() string {
	first := ""
	if len(t.URLs) > 0 {
		first = t.URLs[0]
	}
	return string(t.Provider.OrDefault()) + "|" + strings.Join(t.TaskIDs, ",") + "|" +
		strconv.FormatInt(t.Submitted.UnixNano(), 10) + "|" + first
}

// Has reports whether t holds task id.
func (t Ticket) Has(id string) bool { return slices.Contains(t.TaskIDs, id) }

// Domains lists the hosts of t's URLs, each once, in order.
func (t Ticket) Domains() []string {
	var out []string
	for _, u := range t.URLs {
		if h := Hostname(u); !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// complete records that task id completed at at, and closes t when it was
// the last one.
func (t *Ticket) complete(id string, at time.Time) bool {
	if !t.Has(id) || slices.Contains(t.Done, id) {
		return false
	}
	t.Done = append(t.Done, id)
	if at.After(t.Completed) {
		t.Completed = at
	}
	if len(t.Done) == len(t.TaskIDs) && t.State == TicketOpen {
		t.State = TicketComplete
	}
	return true
}

// Ledger keeps the tickets of accepted calls beside the spill. Appends
// are safe from many writers at once.
type Ledger interface {
	// Append stores tickets: new ones, or newer states of known ones.
	Append(ctx context.Context, t []Ticket) error
	// Tickets returns the latest state of every ticket it holds, of the
	// last TaskRetention.
	Tickets(ctx context.Context) ([]Ticket, error)
}

// Latest folds ticket records into the latest state of each ticket, by
// Updated (a later record wins; on a tie, the one listed later), in the
// order each ticket was first listed.
func Latest(records []Ticket) []Ticket {
	at := map[string]int{}
	var out []Ticket
	for _, r := range records {
		k := r.Key()
		i, ok := at[k]
		switch {
		case !ok:
			at[k] = len(out)
			out = append(out, r)
		case !r.Updated.Before(out[i].Updated):
			out[i] = r
		}
	}
	return out
}

// Completion is what the CDN event trigger says of a task: it completed
// (Function Compute: CDN event triggers, CachedObjectsRefreshed and
// CachedObjectsPushed, event version 1.0.0).
type Completion struct {
	Action     Action    `json:"action"` // refresh (CachedObjectsRefreshed) or prefetch (CachedObjectsPushed)
	TaskID     string    `json:"task_id"`
	Domain     string    `json:"domain"`
	Paths      []string  `json:"paths"` // objectPath: paths without the host
	ObjectType string    `json:"object_type,omitempty"`
	Created    time.Time `json:"created,omitzero"`
	Completed  time.Time `json:"completed"`
}
