package refresh

import (
	"context"
	"time"
)

// The window's defaults, for its implementations and the config alike.
const (
	DefaultWindowDuration = 2 * time.Second        // how long a window stays open at most
	DefaultWindowQuiet    = 200 * time.Millisecond // a window closes after this long without a new job
	DefaultEventTTL       = 10 * time.Minute       // how long a carried-out event id counts as seen
	DefaultMaxBatch       = 1000                   // a window closes early at this many jobs: one RefreshObjectCaches call's worth
)

// Mapper turns a change into jobs by the user's rules.
type Mapper interface {
	// Map returns the jobs a change asks for. A change that needs none
	// returns no jobs and a non-empty reason it is ignored (no rule matches,
	// on_delete: none, …). A job that can never be sent (URL over 1,024
	// characters, domain not allowed) is returned in rejected, Status
	// Rejected, with its reason.
	Map(c Change) (jobs []Job, rejected []Outcome, ignored string)
}

// Planner forms API-sized calls. It is a pure function of its inputs.
type Planner interface {
	// Plan returns calls that carry out jobs within every per-call limit
	// and within the remaining quota q. Each Call.Jobs lists the jobs that
	// call carries out (a directory call also carries the file jobs beneath
	// it). Jobs that do not fit the quota come back in over, untouched.
	Plan(jobs []Job, q Quota) (calls []Call, over []Job)
}

// BoundedPlanner is a Planner that can plan for a flush that must have
// sent its calls within d, e.g. not counting on rate budgets that free up
// only later.
type BoundedPlanner interface {
	Planner
	Within(d time.Duration) Planner
}

// Submitter sends one call to the CDN API.
type Submitter interface {
	// Submit sends c and returns the task id the API assigned (the API may
	// answer a comma-separated list). It retries what is worth retrying
	// within ctx. A failure wraps a *Failure whose Verdict says what
	// becomes of the call's jobs and whose Code is recorded as their
	// reason; any other error keeps (spills) them.
	Submit(ctx context.Context, c Call) (taskID string, err error)
}

// Spiller stores work that cannot be done now, durably.
type Spiller interface {
	// Spill stores p. It returns only after p is durable; concurrent
	// callers never lose each other's entries.
	Spill(ctx context.Context, p []Pending) error
}

// FlushFunc carries out one closed window's jobs, already free of
// duplicates, and returns one outcome per job, in order. A non-nil error
// means some outcome could not be made durable (the spill store failed):
// the invocation must fail so that the platform delivers it again.
type FlushFunc func(ctx context.Context, jobs []Job) ([]Outcome, error)

// Window coalesces the jobs of concurrent invocations into one flush.
type Window interface {
	// Join adds the jobs of the invocation of event eventID to the current
	// window, waits until the window has been flushed, and returns one
	// outcome per job, in order: the flush's outcome, or Duplicate for a
	// job already submitted or spilled within the dedupe TTL, or for every
	// job of an event already carried out. The error is the flush's.
	Join(ctx context.Context, eventID string, jobs []Job) ([]Outcome, error)
}

// Limiter paces API calls within the account's limits.
type Limiter interface {
	// Wait blocks until one call of api carrying urlsPerDomain URLs for
	// each domain may be sent, or returns ctx's error (or an error saying
	// the wait would pass ctx's deadline) without waiting in vain.
	Wait(ctx context.Context, api string, urlsPerDomain map[string]int) error
}

// CountingLimiter is a Limiter that keeps each domain's per-minute URL
// budget as the API counts it.
type CountingLimiter interface {
	Limiter
	// Reserve waits as Wait does and takes the call's share of the
	// budget. The caller calls settle once, when the attempt has ended,
	// with how it ended.
	Reserve(ctx context.Context, api string, urlsPerDomain map[string]int) (settle func(Settlement), err error)
}

// Settlement is how an attempt a CountingLimiter let through ended.
type Settlement uint8

// Settlements.
const (
	// Counted: the API accepted the call, or no answer came. Its URLs
	// count from now, the latest moment the API can have counted them.
	Counted Settlement = iota
	// Refused: the API refused the call, which counts none of its URLs:
	// they are given back.
	Refused
	// BudgetSpent: the API refused the call because a domain's minute
	// budget is spent (QuotaPerMinuteExceeded.Refresh), by calls the
	// limiter did not see (another process). Each domain of the call
	// counts as full from now, so that the next call waits for the
	// minute instead of being refused again.
	BudgetSpent
)
