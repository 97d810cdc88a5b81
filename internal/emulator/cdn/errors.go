package cdn

import (
	"fmt"
	"net/http"
)

// apiError is one error reply: HTTP status, code and message.
type apiError struct {
	status  int
	code    string
	message string
}

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func missing(param string) *apiError {
	return refuse("MissingParameter", "The input parameter %q that is mandatory for processing this request is not supplied.", param)
}

// knownErrors holds the status and message of every code the emulator
// answers, so that a request or an injected fault (Faults.Next) can
// produce any of them. Statuses and messages are those of the API pages'
// error tables, word for word:
//   - seed 001 (RefreshObjectCaches), Error codes: SingleRequest.OverLimit,
//     InvalidObjectType.Malformed, InvalidObjectPath.Malformed,
//     QuotaExceeded.Refresh, InvalidExtensiveDomain.ValueNotSupported,
//     QuotaPerMinuteExceeded.Refresh, TooMany.Refresh, 429 TooManyRequests;
//   - seed 003 (RefreshErObjectCaches), Error codes: InvalidObjectPath.Size.Malformed,
//     InvalidStations.Malformed, InvalidParameters;
//   - the PreloadDcdnObjectCaches API page, Error codes: QuotaExceeded.Preload,
//     PreloadQueueFull (seed 003 lists it too, as "Preload queue is full,
//     please try again later!");
//   - seed 004 (RefreshObjectCaches, zh), 错误码: ObjectPath.Malformed;
//   - the error tables of the older CDN API pages (e.g. DescribeDomainQpsData,
//     PushObjectCache): 503 Throttling, 403 IllegalOperation, 403
//     OperationDenied, 404 InvalidDomain.NotFound, 404 InvalidDomain.Offline,
//     403 ServiceBusy, 500 InvalidDomain.Configure_failed;
//   - the DescribeRefreshTaskById API page, Error codes: InvalidTaskId.Malformed.
//
// The rest (the gateway's signature and parameter errors, and the
// emulator's own Forbidden for the DescribePreloadDetailById allow-list)
// follow the OpenAPI gateway's common errors.
var knownErrors = map[string]apiError{
	"SingleRequest.OverLimit":                  {http.StatusBadRequest, "", "A maximum of 1000 URLs are supported for each request."},
	"InvalidObjectType.Malformed":              {http.StatusBadRequest, "", "The specified ObjectType is invalid."},
	"InvalidObjectPath.Malformed":              {http.StatusBadRequest, "", "The specified ObjectPath is invalid."},
	"QuotaExceeded.Refresh":                    {http.StatusBadRequest, "", "Your refresh attempts have exceeded the daily limit."},
	"InvalidExtensiveDomain.ValueNotSupported": {http.StatusBadRequest, "", "The specified ExtensiveDomain is not supported."},
	"QuotaPerMinuteExceeded.Refresh":           {http.StatusBadRequest, "", "You tried to refresh too frequently, please try again later."},
	"TooMany.Refresh":                          {http.StatusBadRequest, "", "The refresh queue is full, please try again later."},
	"TooManyRequests":                          {http.StatusTooManyRequests, "", "Too many requests, please try again later"},
	"InvalidObjectPath.Size.Malformed":         {http.StatusBadRequest, "", "The size of ObjectPath is bigger than 1000."},
	"PreloadQueueFull":                         {http.StatusBadRequest, "", "The warming queue is full; please try again later."},
	"InvalidStations.Malformed":                {http.StatusBadRequest, "", "The specified Stations is invalid."},
	"InvalidParameters":                        {http.StatusBadRequest, "", "The parameters you provided are invalid."},
	"ObjectPath.Malformed":                     {http.StatusBadRequest, "", "The specified value of parameter ObjectPath is malformed."},
	"QuotaExceeded.Preload":                    {http.StatusBadRequest, "", "Your refresh attempts have exceeded the daily limit."},
	"Throttling":                               {http.StatusServiceUnavailable, "", "Request was denied due to request throttling."},
	"IllegalOperation":                         {http.StatusForbidden, "", "Illegal domain, operation is not permitted."},
	"OperationDenied":                          {http.StatusForbidden, "", "Your CDN service is suspended."},
	"InvalidDomain.NotFound":                   {http.StatusNotFound, "", "The domain provided does not belong to you."},
	"InvalidDomain.Offline":                    {http.StatusNotFound, "", "The domain provided is offline."},
	"ServiceBusy":                              {http.StatusForbidden, "", "The specified Domain is configuring, please retry later."},
	"InvalidDomain.Configure_failed":           {http.StatusInternalServerError, "", "Failed to configure the provided domain."},
	"InvalidTaskId.Malformed":                  {http.StatusBadRequest, "", "The specified TaskId is invalid."},
	"MissingParameter":                         {http.StatusBadRequest, "", "A parameter that is mandatory for processing this request is not supplied."},
	"Forbidden":                                {http.StatusForbidden, "", "This operation is available only to accounts on the allow list."},
	"Forbidden.RAM":                            {http.StatusForbidden, "", "User not authorized to operate on the specified resource."},
	"InternalError":                            {http.StatusInternalServerError, "", "The request processing has failed due to some unknown error."},
	"ServiceUnavailable":                       {http.StatusServiceUnavailable, "", "The request has failed due to a temporary failure of the server."},
	"SignatureDoesNotMatch":                    {http.StatusBadRequest, "", "Specified signature is not matched with our calculation."},
	"IncompleteSignature":                      {http.StatusBadRequest, "", "The request signature does not conform to Aliyun standards."},
	"InvalidAccessKeyId.NotFound":              {http.StatusNotFound, "", "Specified access key is not found."},
	"InvalidTimeStamp.Format":                  {http.StatusBadRequest, "", "Specified time stamp or date value is not well formatted."},
	"InvalidTimeStamp.Expired":                 {http.StatusBadRequest, "", "Specified time stamp or date value is expired."},
	"SignatureNonceUsed":                       {http.StatusBadRequest, "", "Specified signature nonce was used already."},
	"InvalidAction.NotFound":                   {http.StatusNotFound, "", "Specified api is not found, please check your url and method."},
	"InvalidVersion":                           {http.StatusBadRequest, "", "Specified parameter Version is not valid."},
	"InvalidParameter":                         {http.StatusBadRequest, "", "The specified parameter is not valid."},
	"InvalidObjectType.ValueNotSupported":      {http.StatusBadRequest, "", "The specified ObjectType is not supported."},
	"InvalidStatus.ValueNotSupported":          {http.StatusBadRequest, "", "The specified Status is not supported."},
	"InvalidStartTime.Malformed":               {http.StatusBadRequest, "", "Specified start time is malformed."},
	"InvalidEndTime.Malformed":                 {http.StatusBadRequest, "", "Specified end time is malformed."},
	"InvalidEndTime.Mismatch":                  {http.StatusBadRequest, "", "Specified end time does not math the specified start time."},
	"InvalidPageNumber.ValueNotSupported":      {http.StatusBadRequest, "", "The specified PageNumber is not supported."},
	"InvalidPageSize.ValueNotSupported":        {http.StatusBadRequest, "", "The specified PageSize is not supported."},
	"InvalidArea.ValueNotSupported":            {http.StatusBadRequest, "", "The specified Area is not supported."},
	"InvalidWithHeader.Malformed":              {http.StatusBadRequest, "", "The specified WithHeader is not a valid JSON string."},
}

// knownError returns the reply for code, or a 400 with a generic message
// for a code not in the table (an injected made-up code).
func knownError(code string) *apiError {
	e, ok := knownErrors[code]
	if !ok {
		return errorf(http.StatusBadRequest, code, "Injected error %s.", code)
	}
	return &apiError{status: e.status, code: code, message: e.message}
}

// refuse returns the known reply for code, its documented message followed
// by what exactly was wrong.
func refuse(code, detail string, args ...any) *apiError {
	e := knownError(code)
	e.message += " " + fmt.Sprintf(detail, args...)
	return e
}
