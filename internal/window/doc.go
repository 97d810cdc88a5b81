// Package window coalesces the jobs of concurrent invocations into one
// flush per short window, drops redelivered events and duplicate URLs, and
// paces API calls within the account's limits — in one process (Local,
// LocalLimiter) or across every instance sharing a Redis (Redis,
// RedisLimiter).
//
// # The window
//
// An invocation's Join places each of its jobs in the open window of its
// process (opening one if none is open) and waits for that window's flush.
// A window closes Options.Duration after it opened, as soon as
// Options.MaxBatch unique jobs wait in it, or at the earliest deadline of its
// joiners less Options.Margin, whichever comes first, so that the window
// never makes an invocation overrun its deadline. It is then flushed once,
// with jobs free of duplicates, and every joiner learns the outcomes of its
// own jobs:
//
//   - The first joiner of a job gets the flush's outcome. A later copy of it
//     (another invocation, or the same one) joins the job in flight and gets
//     Duplicate with the same TaskID; a Rejected outcome stays Rejected for
//     every copy.
//   - If the flush fails (its error means some outcome is not durable), every
//     invocation with a job in it gets that error, so the platform delivers
//     it again; nothing is marked, so the redelivery is not a Duplicate.
//   - If a joiner's context ends while it waits, Join returns the context's
//     error at once, and the window is still flushed for the others. The
//     flush runs on the values of the joiner with the earliest deadline,
//     without its cancellation, bounded by that deadline (none if no joiner
//     had one), so that the pipeline spills, before any joiner gives up,
//     what it could not submit in time: no invocation fails for a flush
//     that then submits its jobs anyway.
//   - An invocation with more new jobs than fit in the open window spills
//     over into the next one and waits for both.
//
// Only Submitted and Spilled outcomes of a successful flush are remembered:
// the same job (refresh.Job.DedupeKey) joining within Options.DedupeTTL is
// Duplicate, and an event whose Join succeeded is, when delivered again
// within Options.EventTTL, Duplicate for every job (Reason
// ReasonRedelivered).
//
// # Across instances (Redis)
//
// Redis holds the dedupe state of all instances under keys starting with
// KeyPrefix; each instance keeps its own window and its own flush.
//
//   - cdnrefresh:url:<dedupe key> is the claim on a job. An instance takes it
//     at Join time with an atomic set-if-absent (a small script), before
//     placing the job in its window; a job already claimed by anyone else is
//     Duplicate at once (with the holder's TaskID once known). So each URL
//     is flushed once across all instances, each instance flushes at most
//     once per window, and no instance waits on another.
//   - While pending, the claim names the claiming event and expires after
//     the claimer's deadline plus the window. After a successful flush it
//     becomes "done" with the task id for DedupeTTL (Submitted, Spilled) or
//     is deleted (Rejected); after a failed flush it is deleted, so the
//     redelivery can claim it again. A redelivery of the very event that
//     holds a pending claim takes the claim over, so a crash between claim
//     and flush costs at most a second submission, never a lost URL.
//   - cdnrefresh:evt:<event id> is set, with EventTTL, only after the event's
//     Join succeeded.
//   - cdnrefresh:{rate}:… hold the account-wide rate budget (RedisLimiter):
//     one script checks and takes, atomically, one slot of the API's QPS
//     (evenly spaced calls) and each domain's share of the URLs per minute
//     (a sliding log), or answers how long to wait. Once the API has
//     answered, the call's entries are stamped anew, removed or widened to
//     the whole budget, as refresh.CountingLimiter says.
//
// Every Redis round trip is bounded by a second. When one fails, the
// instance logs a warning once per outage, goes on with in-process state
// (Local's dedupe, LocalLimiter's pacing) and keeps serving; it tries
// Redis again every few seconds and says so when Redis answers.
//
// Limits: https://help.aliyun.com/zh/cdn/developer-reference/api-cdn-2018-05-10-refreshobjectcaches
package window
