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
// Options.MaxBatch unique jobs wait in it (but see below while another
// window flushes), or at the earliest deadline of its joiners less
// Options.Margin, whichever comes first, so that the window never makes
// an invocation overrun its deadline. It is then flushed once,
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
// While an earlier window of the process is still flushing, the open
// window does not close for Options.MaxBatch or Options.Quiet: it keeps
// taking jobs, and closes as soon as that flush ends if it is full or
// quiet by then (Duration and the deadlines close it as always). A
// burst's remainder is thus
// planned as a whole, once the first window's covers are known, instead
// of in many windows that each plan a refresh of the same directory. For
// the same reason a closed window's flush waits for the flush of the window
// closed before it, but no longer than leaves it Options.Margin before its
// deadline: flushes that cannot wait for each other run side by side.
//
// Only Submitted and Spilled outcomes of a successful flush are remembered:
// the same job (refresh.Job.DedupeKey) joining within Options.DedupeTTL is
// Duplicate, and an event whose Join succeeded is, when delivered again
// within Options.EventTTL, Duplicate for every job (Reason
// ReasonRedelivered).
//
// # Covers
//
// A directory refresh submitted by a flush (a Submitted outcome whose Via
// names the directory) covers, for Options.DedupeTTL, every later refresh
// it would have carried in the same call: of a file (File, IgnoreParams)
// at or beneath the directory, or of a directory strictly beneath it, with
// the same provider, area, L2 preload and Edge Routine (and merged
// domains), when the cover forces or the job does not. Directories are
// compared with scheme and host in lower case, without query or fragment.
// A cover carries out only changes made before the flush that sent it
// began (refresh.Job.ChangeTime): a later change may have been fetched
// again by an edge after the refresh. Prefetch, Regex, cache-tag jobs and
// the refreshes of deletes (work apart, refresh.Job.DedupeKey) are never
// covered.
//
//   - A covered job that is not already waiting in a window is Duplicate
//     at Join, with the cover's TaskID and its directory in Via, and does
//     not enter a window.
//   - Just before a window is flushed, its jobs are checked again against
//     the covers recorded since they joined (by the window flushed just
//     before, say, or by another instance): the covered ones are Duplicate
//     as above, and the flush gets only the rest (it is not called when
//     none is left).
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
//   - cdnrefresh:dir:<cover key> is a cover: the directory, and the fields
//     a job must share with it, are in the key; when its flush began, the
//     task id and the directory URL in the value. A flush's settle writes
//     it, with DedupeTTL, in the pipeline that marks the claims. Before a
//     job a cover may carry is claimed, and again before its window is
//     flushed, the cover keys of its ancestor directories are read (plain
//     GETs, one key each, so that no command spans two hash slots, in one
//     round trip with the other joiners'): a live one makes the job
//     Duplicate with its task id and directory. So one instance's
//     directory refresh answers the jobs of every other. The claim of a
//     job covered at flush time is released, as that of any Duplicate:
//     the cover key answers later copies.
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
// (Local's dedupe and covers, LocalLimiter's pacing) and keeps serving; it
// tries Redis again every few seconds and says so when Redis answers.
//
// Limits: https://help.aliyun.com/zh/cdn/developer-reference/api-cdn-2018-05-10-refreshobjectcaches
package window
