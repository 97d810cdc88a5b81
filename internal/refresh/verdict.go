package refresh

import (
	"context"
	"errors"
	"strconv"
)

// Verdict is what becomes of the jobs of a call the CDN API did not
// accept. The client decides it from one table of the documented error
// codes; the pipeline acts on it.
type Verdict uint8

// Verdicts.
const (
	// Keep: no verdict on the URLs — a refused key or permission, a
	// suspended account, a skewed clock, an error that is no API answer.
	// Not retried now; the jobs are spilled with the code and replayed
	// later, when the cause may be fixed.
	Keep Verdict = iota
	// Retry: transient — throttling, a full queue, a server fault, the
	// network. The client retries with backoff within the deadline; what
	// still fails is spilled with the code.
	Retry
	// Reject: the call can never succeed as sent (a malformed request):
	// its jobs are rejected with the code.
	Reject
	// SplitURLs: some of the call's URLs caused the refusal (a malformed
	// path, too many paths). The pipeline splits the call — by domain,
	// then in halves — so that the valid URLs go through; a call of one
	// URL is rejected.
	SplitURLs
	// SplitDomains: a domain of the call is refused (not the account's,
	// offline, a wildcard). The pipeline splits the call by domain; a call
	// of one domain is rejected whole.
	SplitDomains
	// QuotaSpent: the daily quota of the call's kind is used up. Its jobs
	// are spilled until the quota resets, and no further call of that
	// kind is sent in the same flush.
	QuotaSpent
	// InDoubt: the call was sent and no answer came before the deadline
	// (or the last attempt timed out): the API may have accepted it. Its
	// jobs are spilled with ReasonInDoubt, and the drain asks the task
	// API which of them were accepted before it sends the rest again.
	InDoubt
)

var verdictNames = [...]string{"keep", "retry", "reject", "split-urls", "split-domains", "quota-spent", "in-doubt"}

func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// Failure is the one error type of a call the API did not accept: the
// verdict, the code it came from, and the cause (the client's own error,
// which tells the HTTP status and request id). Read it with errors.As.
type Failure struct {
	Verdict Verdict
	// Code is the API's error code (QuotaExceeded.Refresh), or the
	// client's name for what happened without an answer (NetworkError,
	// Timeout, NoCredentials). It is the reason recorded with spilled and
	// rejected jobs.
	Code string
	// Detail, when set, says what happened in words the operator can act
	// on (the network error, what to set): it is recorded with the code as
	// the jobs' reason.
	Detail string
	Err    error
}

// Reason is what is recorded with the jobs: the code, and the detail when
// there is one ("NetworkError: dial tcp 10.0.0.1:443: connect: connection
// refused").
func (f *Failure) Reason() string {
	if f.Detail == "" {
		return f.Code
	}
	return f.Code + ": " + f.Detail
}

func (f *Failure) Error() string {
	if f.Err == nil {
		return f.Code
	}
	return f.Err.Error()
}

// Unwrap returns the cause.
func (f *Failure) Unwrap() error { return f.Err }

// FailureOf returns the verdict of err and the reason to record with its
// jobs: those of the *Failure it wraps (Failure.Reason), else Keep with
// ReasonDeadline for a context's end and "error" for anything else.
func FailureOf(err error) (Verdict, string) {
	var f *Failure
	if errors.As(err, &f) {
		return f.Verdict, f.Reason()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return Keep, ReasonDeadline
	}
	return Keep, "error"
}
