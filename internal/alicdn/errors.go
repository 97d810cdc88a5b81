package alicdn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// Class is what cdnrefresh does about an error code.
type Class int

// Classes of error codes.
const (
	// Other errors are neither retried nor taken as a verdict on the URLs:
	// the caller keeps the work (spills it) and reports the error.
	Other Class = iota
	// Rejected errors mean the request can never succeed as sent: invalid
	// paths, domains that are not the account's, a malformed call. Never
	// retried; the URLs are rejected with the code.
	Rejected
	// Refused errors are about the account, not the URLs: a refused
	// signature or key, a missing permission, CDN not opened. Never retried
	// now, but the work is kept (spilled) so that it goes through once the
	// operator fixes the key or the policy — rejecting it would lose every
	// change made while a key was wrong.
	Refused
	// Retryable errors are transient: throttling, a full queue, a server
	// fault. Retried with backoff.
	Retryable
	// QuotaExhausted errors mean the daily quota is used up. Not retried
	// today; the work waits for the daily reset.
	QuotaExhausted
)

func (c Class) String() string {
	switch c {
	case Rejected:
		return "rejected"
	case Refused:
		return "refused"
	case Retryable:
		return "retryable"
	case QuotaExhausted:
		return "quota-exhausted"
	}
	return "other"
}

// codeClasses is the one table of every documented error code the client
// acts on. Sources:
//   - [api] the CDN 2018-05-10 and DCDN 2018-01-15 API pages for
//     RefreshObjectCaches, PushObjectCache, RefreshObjectCacheByCacheTag,
//     RefreshDcdnObjectCaches and PreloadDcdnObjectCaches (error code tables;
//     platform.md §6.1, §6.2, §6.8, §6.9), e.g.
//     https://www.alibabacloud.com/help/en/cdn/developer-reference/api-cdn-2018-05-10-refreshobjectcaches
//   - [pop] the OpenAPI gateway's common errors, shared by every product
//     (platform.md §6.9 last paragraph, §7.1.5), e.g.
//     https://www.alibabacloud.com/help/en/openapi/support/common-error-codes
//
// Codes not listed fall back on classPrefixes, then on the HTTP status:
// 429 and 5xx are Retryable, anything else Other.
var codeClasses = map[string]Class{
	// [api] quotas, per-day: wait for the daily reset (00:00 UTC+8).
	"QuotaExceeded.Refresh": QuotaExhausted, // 400
	"QuotaExceeded.Preload": QuotaExhausted, // 400

	// [api] rates and queues: back off and retry.
	"QuotaPerMinuteExceeded.Refresh": Retryable, // 400, per domain per minute
	"TooMany.Refresh":                Retryable, // 400, the domain's refresh queue is full
	"PreloadQueueFull":               Retryable, // 400, 50,000 URLs waiting
	"Throttling":                     Retryable, // 503, older CDN docs
	"TooManyRequests":                Retryable, // 429, DCDN
	"ServiceBusy":                    Retryable, // 403, the domain is being configured

	// [api] the request itself is wrong: never retry.
	"SingleRequest.OverLimit":                  Rejected, // 400, too many paths in one call
	"InvalidObjectPath.Malformed":              Rejected, // 400
	"ObjectPath.Malformed":                     Rejected, // 400
	"InvalidObjectPath.Size.Malformed":         Rejected, // 400
	"InvalidObjectType.Malformed":              Rejected, // 400
	"InvalidObjectType.ValueNotSupported":      Rejected, // 400
	"InvalidExtensiveDomain.ValueNotSupported": Rejected, // 400, wildcard domain
	"MissingParameter":                         Rejected, // 400
	"IllegalOperation":                         Rejected, // 403, illegal domain
	"OperationDenied":                          Refused,  // 403, CDN not opened or suspended
	"InvalidDomain.NotFound":                   Rejected, // 404, not the account's domain
	"InvalidDomain.Offline":                    Rejected, // 404
	"InvalidDomain.Configure_failed":           Rejected, // 500, but retrying does not help

	// [pop] authentication and permission: never retry now; keep the work.
	"SignatureDoesNotMatch":       Refused, // 400
	"IncompleteSignature":         Refused, // 400
	"InvalidAccessKeyId.NotFound": Refused, // 404
	"InvalidAccessKeyId.Inactive": Refused, // 403
	"Forbidden.RAM":               Refused, // 403
	"Forbidden.NoPermission":      Refused, // 403
	"Forbidden":                   Refused, // 403, e.g. an allow-list API

	// [pop] transient gateway conditions.
	"Throttling.User":    Retryable, // flow control per user
	"Throttling.Api":     Retryable, // flow control per API
	"InternalError":      Retryable, // 500
	"ServiceUnavailable": Retryable, // 503
	"SignatureNonceUsed": Retryable, // 400; a retry signs with a fresh nonce

	// [pop] clock skew: retrying with the same clock does not help, but
	// the URLs are fine.
	"InvalidTimeStamp.Expired": Other,
	"InvalidTimeStamp.Format":  Other,
}

// classPrefixes classify families of codes ("InvalidDomain.*").
var classPrefixes = []struct {
	prefix string
	class  Class
}{
	{"InvalidObjectPath.", Rejected},
	{"InvalidDomain.", Rejected},
	{"InvalidExtensiveDomain.", Rejected},
	{"InvalidObjectType.", Rejected},
	{"InvalidAccessKeyId.", Refused},
	{"Forbidden", Refused},
	{"Throttling", Retryable},
}

// throttleCodes are the Retryable codes that mean "too fast", as opposed
// to a server fault.
var throttleCodes = map[string]bool{
	"QuotaPerMinuteExceeded.Refresh": true,
	"TooMany.Refresh":                true,
	"PreloadQueueFull":               true,
	"TooManyRequests":                true,
}

// ClassOf classifies an API error code answered with HTTP status.
func ClassOf(code string, status int) Class {
	if c, ok := codeClasses[code]; ok {
		return c
	}
	for _, p := range classPrefixes {
		if strings.HasPrefix(code, p.prefix) {
			return p.class
		}
	}
	if status == http.StatusTooManyRequests || status >= 500 {
		return Retryable
	}
	return Other
}

// APIError is an error reply from the CDN or DCDN API. Quote RequestID in
// support tickets.
type APIError struct {
	API       string // the action called, e.g. RefreshObjectCaches
	Status    int    // HTTP status
	Code      string // e.g. QuotaExceeded.Refresh
	Message   string // the API's message, without any string to sign
	RequestID string
}

func (e *APIError) Error() string {
	msg := ""
	if e.Message != "" {
		msg = ": " + e.Message
	}
	return fmt.Sprintf("alicdn: %s: %s (HTTP %d, request %s)%s", e.API, e.Code, e.Status, e.RequestID, msg)
}

// ErrorCode returns the API's error code.
func (e *APIError) ErrorCode() string { return e.Code }

// Class classifies the error.
func (e *APIError) Class() Class { return ClassOf(e.Code, e.Status) }

// Rejected reports whether the request can never succeed as sent (bad
// paths, foreign domain, malformed call).
func (e *APIError) Rejected() bool { return e.Class() == Rejected }

// Refused reports whether the account was refused (signature, key,
// permission): never retried now, but the work is worth keeping.
func (e *APIError) Refused() bool { return e.Class() == Refused }

// PerURL reports whether the refusal concerns some of the URLs sent (a
// malformed path, a foreign or wildcard domain, too many paths), so that
// sending them in smaller groups can save the valid ones.
func (e *APIError) PerURL() bool {
	return e.Class() == Rejected && (perURLCodes[e.Code] ||
		strings.HasPrefix(e.Code, "InvalidObjectPath.") || strings.HasPrefix(e.Code, "InvalidDomain.") ||
		strings.HasPrefix(e.Code, "InvalidExtensiveDomain."))
}

// PerDomain reports whether the refusal concerns a domain of the call (not
// the account's, offline, a wildcard): every URL of that domain is refused.
func (e *APIError) PerDomain() bool {
	return e.Class() == Rejected && (e.Code == "IllegalOperation" ||
		strings.HasPrefix(e.Code, "InvalidDomain.") || strings.HasPrefix(e.Code, "InvalidExtensiveDomain."))
}

// perURLCodes are the Rejected codes, besides the InvalidObjectPath.*,
// InvalidDomain.* and InvalidExtensiveDomain.* families, that some URLs of a
// call cause.
var perURLCodes = map[string]bool{
	"ObjectPath.Malformed":    true,
	"SingleRequest.OverLimit": true,
	"IllegalOperation":        true,
}

// Retryable reports whether a later retry may succeed (throttling, full
// queue, server fault).
func (e *APIError) Retryable() bool { return e.Class() == Retryable }

// QuotaExhausted reports whether the daily refresh or prefetch quota is
// used up.
func (e *APIError) QuotaExhausted() bool { return e.Class() == QuotaExhausted }

// Throttled reports whether the API refused the call for rate or quota
// reasons: a per-second or per-minute limit, a full queue, or the daily
// quota.
func (e *APIError) Throttled() bool {
	return e.Status == http.StatusTooManyRequests || throttleCodes[e.Code] ||
		strings.HasPrefix(e.Code, "Throttling") || e.QuotaExhausted()
}

// TransportError is a failure to get an answer from the API at all: a
// connection refused or reset, a timeout, an answer the SDK could not
// decode. It is always Retryable.
type TransportError struct {
	API  string
	Code string // "Timeout", "NetworkError", or the SDK's code, e.g. SDK.JsonUnmarshalError
	Err  error  // the cause, never carrying the signed request URL
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("alicdn: %s: %s: %v", e.API, e.Code, e.Err)
}

// Unwrap returns the cause.
func (e *TransportError) Unwrap() error { return e.Err }

// ErrorCode returns "Timeout", "NetworkError" or the SDK's error code.
func (e *TransportError) ErrorCode() string { return e.Code }

// Rejected is false: the request never reached a verdict.
func (e *TransportError) Rejected() bool { return false }

// Retryable is true.
func (e *TransportError) Retryable() bool { return true }

// QuotaExhausted is false.
func (e *TransportError) QuotaExhausted() bool { return false }

// redactor removes secrets from text the SDK or the server produced.
type redactor refresh.Credentials

func (r redactor) clean(s string) string {
	// The gateway quotes its string to sign, which names the access key
	// and any STS token; keep only what comes before it.
	if i := strings.Index(s, "server string to sign is:"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	for _, secret := range []string{r.AccessKeySecret, r.SecurityToken, url.QueryEscape(r.SecurityToken)} {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "***")
		}
	}
	return s
}

// scrubbedError carries an error's text, cleaned, while keeping the
// original reachable for errors.Is (context errors, net errors).
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// classify turns an error from the SDK into an *APIError, a
// *TransportError, or a plain wrapped error, none of which carries the
// signed URL or a secret.
func classify(api string, err error, r redactor) error {
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		msg := se.Message()
		if code == "" { // not a JSON error body: a proxy or load balancer answered
			code = "HTTP" + strconv.Itoa(se.HttpStatus())
			if len(msg) > 200 {
				msg = msg[:200] + "…"
			}
		}
		return &APIError{API: api, Status: se.HttpStatus(), Code: code, Message: r.clean(msg), RequestID: se.RequestId()}
	}
	var ce *sdkerrors.ClientError
	if errors.As(err, &ce) {
		cause := ce.OriginError()
		if cause == nil {
			cause = errors.New(ce.Message())
		}
		return &TransportError{API: api, Code: ce.ErrorCode(), Err: scrub(cause, r)}
	}
	var ue *url.Error
	var ne net.Error
	switch {
	case errors.As(err, &ue), errors.As(err, &ne):
		code := "NetworkError"
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			code = "Timeout"
		}
		return &TransportError{API: api, Code: code, Err: scrub(err, r)}
	}
	return fmt.Errorf("alicdn: %s: %w", api, scrub(err, r))
}

// scrub returns err with the text of any *url.Error (which quotes the
// whole signed URL) replaced by its operation and cause, and secrets
// removed.
func scrub(err error, r redactor) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &scrubbedError{msg: r.clean(ue.Op + ": " + ue.Err.Error()), err: ue.Err}
	}
	return &scrubbedError{msg: r.clean(err.Error()), err: err}
}
