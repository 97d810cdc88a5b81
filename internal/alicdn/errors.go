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

// Code is one documented error code: the HTTP status the documents give
// it, what becomes of a call answered with it, and where it is written.
type Code struct {
	Status  int
	Verdict refresh.Verdict
	Source  string
}

// Sources of the codes, named once. The seeds are the API pages the
// project is built from (seed 001: RefreshObjectCaches in full; 002 and
// 004: its older en and zh pages; 003: RefreshErObjectCaches).
const (
	srcRefresh = "RefreshObjectCaches API page (seed 001), Error codes"
	srcER      = "RefreshErObjectCaches API page (seed 003), Error codes"
	srcOldZH   = "RefreshObjectCaches API page, older zh (seed 004), 错误码"
	srcOlder   = "error tables of the older CDN API pages (RefreshObjectCaches seeds 002 and 004: example; PushObjectCache; DescribeDomainQpsData)"
	srcPreload = "PreloadDcdnObjectCaches API page, Error codes"
	srcDCDN    = "RefreshDcdnObjectCaches API page, Error codes"
	srcByID    = "DescribeRefreshTaskById API page, Error codes"
	srcBadType = "no page lists it (the emulator's answer to a bad ObjectType); taken as seed 001's InvalidObjectType.Malformed"
	srcPage    = "seed 000 (describeRefreshTasks, pageSize: at most 100); the code follows the gateway's Invalid<Parameter>.ValueNotSupported"
	srcPOP     = "OpenAPI gateway common error codes, https://www.alibabacloud.com/help/en/openapi/support/common-error-codes"
)

// Codes is the one table of every error code the client acts on, from the
// documents: its status, its verdict (refresh.Verdict) and its source.
//
// A code not listed falls back on codeFamilies, then on the HTTP status:
// 429 and 5xx are Retry (retried with backoff, then spilled); any other
// 4xx is Reject, after one retry (Client.do), so that an unknown refusal
// is neither replayed forever nor lost to one glitch; anything else Keep.
var Codes = map[string]Code{
	// Quotas, per day: spill until the daily reset (00:00 UTC+8).
	"QuotaExceeded.Refresh": {400, refresh.QuotaSpent, srcRefresh + "; " + srcER},
	"QuotaExceeded.Preload": {400, refresh.QuotaSpent, srcPreload},

	// Rates and queues: back off and retry.
	"QuotaPerMinuteExceeded.Refresh": {400, refresh.Retry, srcRefresh + "; " + srcER}, // per domain per minute
	"TooMany.Refresh":                {400, refresh.Retry, srcRefresh + "; " + srcER}, // the domain's refresh queue is full
	"PreloadQueueFull":               {400, refresh.Retry, srcPreload + "; " + srcER}, // 100,000 URLs waiting
	"TooManyRequests":                {429, refresh.Retry, srcRefresh + "; " + srcDCDN},
	"Throttling":                     {503, refresh.Retry, srcOlder},
	"ServiceBusy":                    {403, refresh.Retry, srcOlder}, // the domain is being configured

	// Some paths or domains of the call are wrong: split, to save the
	// others.
	"SingleRequest.OverLimit":                  {400, refresh.SplitURLs, srcRefresh + "; " + srcER}, // too many paths in one call
	"InvalidObjectPath.Malformed":              {400, refresh.SplitURLs, srcRefresh + "; " + srcER},
	"ObjectPath.Malformed":                     {400, refresh.SplitURLs, srcOldZH},
	"InvalidObjectPath.Size.Malformed":         {400, refresh.SplitURLs, srcER},
	"InvalidExtensiveDomain.ValueNotSupported": {400, refresh.SplitDomains, srcRefresh + "; " + srcER}, // a wildcard domain
	"IllegalOperation":                         {403, refresh.SplitDomains, srcOlder},                  // an illegal domain
	"InvalidDomain.NotFound":                   {404, refresh.SplitDomains, srcOlder},                  // not the account's domain
	"InvalidDomain.Offline":                    {404, refresh.SplitDomains, srcOlder},
	"InvalidDomain.Configure_failed":           {500, refresh.SplitDomains, srcOlder}, // a 5xx, but retrying does not help

	// The request itself is wrong: never retried as sent. An
	// InvalidObjectType.* answer to IgnoreParams first makes Submit try
	// the type's other spelling (refresh.ObjectTypeSpellings).
	"InvalidObjectType.Malformed":         {400, refresh.Reject, srcRefresh + "; " + srcER},
	"InvalidObjectType.ValueNotSupported": {400, refresh.Reject, srcBadType},
	"InvalidParameters":                   {400, refresh.Reject, srcER},
	"InvalidStations.Malformed":           {400, refresh.Reject, srcER},
	"InvalidTaskId.Malformed":             {400, refresh.Reject, srcByID},
	"InvalidPageSize.ValueNotSupported":   {400, refresh.Reject, srcPage},
	"InvalidParameter":                    {400, refresh.Reject, srcPOP},
	"MissingParameter":                    {400, refresh.Reject, srcPOP},

	// CDN not opened or suspended; authentication and permission; an
	// endpoint without the API: never retried now, the work is kept for
	// when the account or the setup is fixed.
	"OperationDenied":             {403, refresh.Keep, srcOlder},
	"SignatureDoesNotMatch":       {400, refresh.Keep, srcPOP},
	"IncompleteSignature":         {400, refresh.Keep, srcPOP},
	"InvalidAccessKeyId.NotFound": {404, refresh.Keep, srcPOP},
	"InvalidAccessKeyId.Inactive": {403, refresh.Keep, srcPOP},
	"Forbidden.RAM":               {403, refresh.Keep, srcPOP},
	"Forbidden.NoPermission":      {403, refresh.Keep, srcPOP},
	"Forbidden":                   {403, refresh.Keep, srcPOP}, // e.g. an allow-listed API
	"InvalidAction.NotFound":      {404, refresh.Keep, srcPOP},
	"InvalidVersion":              {400, refresh.Keep, srcPOP},
	// Clock skew: retrying with the same clock does not help, but the
	// URLs are fine.
	"InvalidTimeStamp.Expired": {400, refresh.Keep, srcPOP},
	"InvalidTimeStamp.Format":  {400, refresh.Keep, srcPOP},

	// Transient gateway conditions.
	"Throttling.User":    {400, refresh.Retry, srcPOP}, // flow control per user
	"Throttling.Api":     {400, refresh.Retry, srcPOP}, // flow control per API
	"InternalError":      {500, refresh.Retry, srcPOP},
	"ServiceUnavailable": {503, refresh.Retry, srcPOP},
	"SignatureNonceUsed": {400, refresh.Retry, srcPOP}, // a retry signs with a fresh nonce
}

// codeFamilies classify families of codes ("InvalidDomain.*") not listed
// one by one in Codes.
var codeFamilies = []struct {
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

// lookup returns the verdict of a documented code or family.
func lookup(code string) (refresh.Verdict, bool) {
	if c, ok := Codes[code]; ok {
		return c.Verdict, true
	}
	for _, f := range codeFamilies {
		if strings.HasPrefix(code, f.prefix) {
			return f.verdict, true
		}
	}
	return 0, false
}

// VerdictOf returns what becomes of a call answered with an error code and
// HTTP status: the documented verdict of the code, else Retry for 429 and
// 5xx, Reject for another 4xx (which Client.do retries once first), and
// Keep for anything else.
func VerdictOf(code string, status int) refresh.Verdict {
	if v, ok := lookup(code); ok {
		return v
	}
	switch {
	case status == http.StatusTooManyRequests || status >= 500:
		return refresh.Retry
	case status >= 400:
		return refresh.Reject
	}
	return refresh.Keep
}

// undocumented4xx reports whether err is an API answer of a 4xx status
// with a code no document gives: rejected, but only after one retry.
func undocumented4xx(err error) bool {
	var e *APIError
	if !errors.As(err, &e) || e.Status < 400 || e.Status >= 500 || e.Status == http.StatusTooManyRequests {
		return false
	}
	_, known := lookup(e.Code)
	return !known
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
	return &refresh.Failure{Verdict: refresh.Retry, Code: e.Code, Detail: cause(e.Err), Err: e}
}

// cause returns the innermost words of err, the ones an operator acts on
// ("dial tcp 10.0.0.1:443: connect: connection refused"), without the
// request's method and URL.
func cause(err error) string {
	var ne net.Error
	if errors.As(err, &ne) {
		return ne.Error()
	}
	msg := err.Error()
	for _, op := range []string{"Post: ", "Get: "} {
		msg = strings.TrimPrefix(msg, op)
	}
	return msg
}
