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

// codeVerdicts is the one table of every documented error code the client
// acts on, with what becomes of a call answered with it (refresh.Verdict).
// Sources:
//   - [api] the CDN 2018-05-10 and DCDN 2018-01-15 API pages for
//     RefreshObjectCaches, PushObjectCache, RefreshObjectCacheByCacheTag,
//     RefreshDcdnObjectCaches, RefreshErObjectCaches and
//     PreloadDcdnObjectCaches (their "Error codes" tables), e.g.
//     https://www.alibabacloud.com/help/en/cdn/developer-reference/api-cdn-2018-05-10-refreshobjectcaches
//   - [pop] the OpenAPI gateway's common errors, shared by every product,
//     https://www.alibabacloud.com/help/en/openapi/support/common-error-codes
//
// Codes not listed fall back on verdictPrefixes, then on the HTTP status:
// 429 and 5xx are Retry, anything else Keep.
var codeVerdicts = map[string]refresh.Verdict{
	// [api] quotas, per day: wait for the daily reset (00:00 UTC+8).
	"QuotaExceeded.Refresh": refresh.QuotaSpent, // 400
	"QuotaExceeded.Preload": refresh.QuotaSpent, // 400

	// [api] rates and queues: back off and retry.
	"QuotaPerMinuteExceeded.Refresh": refresh.Retry, // 400, per domain per minute (codeMinuteSpent)
	"TooMany.Refresh":                refresh.Retry, // 400, the domain's refresh queue is full
	"PreloadQueueFull":               refresh.Retry, // 400, 50,000 URLs waiting
	"Throttling":                     refresh.Retry, // 503, older CDN pages
	"TooManyRequests":                refresh.Retry, // 429
	"ServiceBusy":                    refresh.Retry, // 403, the domain is being configured

	// [api] some paths or domains of the call are wrong: split to save
	// the others.
	"SingleRequest.OverLimit":                  refresh.SplitURLs,    // 400, too many paths in one call
	"InvalidObjectPath.Malformed":              refresh.SplitURLs,    // 400
	"ObjectPath.Malformed":                     refresh.SplitURLs,    // 400
	"InvalidObjectPath.Size.Malformed":         refresh.SplitURLs,    // 400
	"InvalidExtensiveDomain.ValueNotSupported": refresh.SplitDomains, // 400, wildcard domain
	"IllegalOperation":                         refresh.SplitDomains, // 403, illegal domain
	"InvalidDomain.NotFound":                   refresh.SplitDomains, // 404, not the account's domain
	"InvalidDomain.Offline":                    refresh.SplitDomains, // 404
	"InvalidDomain.Configure_failed":           refresh.SplitDomains, // 500, but retrying does not help

	// [api] the request itself is wrong: never retry.
	"InvalidObjectType.Malformed":         refresh.Reject, // 400
	"InvalidObjectType.ValueNotSupported": refresh.Reject, // 400
	"MissingParameter":                    refresh.Reject, // 400

	// [api] CDN not opened or suspended; [pop] authentication and
	// permission: never retry now, keep the work for when it is fixed.
	"OperationDenied":             refresh.Keep, // 403
	"SignatureDoesNotMatch":       refresh.Keep, // 400
	"IncompleteSignature":         refresh.Keep, // 400
	"InvalidAccessKeyId.NotFound": refresh.Keep, // 404
	"InvalidAccessKeyId.Inactive": refresh.Keep, // 403
	"Forbidden.RAM":               refresh.Keep, // 403
	"Forbidden.NoPermission":      refresh.Keep, // 403
	"Forbidden":                   refresh.Keep, // 403, e.g. an allow-listed API

	// [pop] transient gateway conditions.
	"Throttling.User":    refresh.Retry, // flow control per user
	"Throttling.Api":     refresh.Retry, // flow control per API
	"InternalError":      refresh.Retry, // 500
	"ServiceUnavailable": refresh.Retry, // 503
	"SignatureNonceUsed": refresh.Retry, // 400; a retry signs with a fresh nonce

	// [pop] clock skew: retrying with the same clock does not help, but
	// the URLs are fine.
	"InvalidTimeStamp.Expired": refresh.Keep,
	"InvalidTimeStamp.Format":  refresh.Keep,
}

// verdictPrefixes classify families of codes ("InvalidDomain.*").
var verdictPrefixes = []struct {
	prefix  string
	verdict refresh.Verdict
}{
	{"InvalidObjectPath.", refresh.SplitURLs},
	{"InvalidDomain.", refresh.SplitDomains},
	{"InvalidExtensiveDomain.", refresh.SplitDomains},
	{"InvalidObjectType.", refresh.Reject},
	{"InvalidAccessKeyId.", refresh.Keep},
	{"Forbidden", refresh.Keep},
	{"Throttling", refresh.Retry},
}

// codeMinuteSpent refuses a refresh that would pass a domain's URLs per
// minute (RefreshObjectCaches API page, Error codes); the limiter then
// counts the domain's minute as spent (refresh.BudgetSpent).
const codeMinuteSpent = "QuotaPerMinuteExceeded.Refresh"

// VerdictOf returns what becomes of a call answered with an error code and
// HTTP status.
func VerdictOf(code string, status int) refresh.Verdict {
	if v, ok := codeVerdicts[code]; ok {
		return v
	}
	for _, p := range verdictPrefixes {
		if strings.HasPrefix(code, p.prefix) {
			return p.verdict
		}
	}
	if status == http.StatusTooManyRequests || status >= 500 {
		return refresh.Retry
	}
	return refresh.Keep
}

// APIError is an error reply from the CDN or DCDN API. Quote RequestID in
// support tickets. The client returns it inside a *refresh.Failure.
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

// Verdict says what becomes of a call answered with e.
func (e *APIError) Verdict() refresh.Verdict { return VerdictOf(e.Code, e.Status) }

// TransportError is a failure to get an answer from the API at all: a
// connection refused or reset, a timeout, an answer the SDK could not
// decode. Its verdict is always refresh.Retry.
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

// classify turns an error from the SDK into a *refresh.Failure wrapping an
// *APIError or a *TransportError, or a plain wrapped error, none of which
// carries the signed URL or a secret.
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
		e := &APIError{API: api, Status: se.HttpStatus(), Code: code, Message: r.clean(msg), RequestID: se.RequestId()}
		return &refresh.Failure{Verdict: e.Verdict(), Code: code, Err: e}
	}
	var ce *sdkerrors.ClientError
	if errors.As(err, &ce) {
		cause := ce.OriginError()
		if cause == nil {
			cause = errors.New(ce.Message())
		}
		return transportFailure(&TransportError{API: api, Code: ce.ErrorCode(), Err: scrub(cause, r)})
	}
	var ue *url.Error
	var ne net.Error
	switch {
	case errors.As(err, &ue), errors.As(err, &ne):
		code := "NetworkError"
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			code = "Timeout"
		}
		return transportFailure(&TransportError{API: api, Code: code, Err: scrub(err, r)})
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

func transportFailure(e *TransportError) error {
	return &refresh.Failure{Verdict: refresh.Retry, Code: e.Code, Err: e}
}
