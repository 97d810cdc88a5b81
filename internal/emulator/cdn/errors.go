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
	return errorf(http.StatusBadRequest, "MissingParameter",
		"The input parameter %q that is mandatory for processing this request is not supplied.", param)
}

// knownErrors holds the status and message of every code the emulator
// answers, so that Faults.Next can force any of them. Messages follow the
// CDN/DCDN API error tables (platform.md §6.9) where they give one.
var knownErrors = map[string]apiError{
	"QuotaExceeded.Refresh":                    {http.StatusBadRequest, "", "Your refresh attempts have exceeded the daily limit."},
	"QuotaPerMinuteExceeded.Refresh":           {http.StatusBadRequest, "", "You tried to refresh too frequently; please try again later."},
	"TooMany.Refresh":                          {http.StatusBadRequest, "", "The refresh queue is full; please try again later."},
	"SingleRequest.OverLimit":                  {http.StatusBadRequest, "", "A maximum of 1000 URLs are supported for each request."},
	"InvalidObjectPath.Malformed":              {http.StatusBadRequest, "", "The specified ObjectPath is invalid."},
	"ObjectPath.Malformed":                     {http.StatusBadRequest, "", "The specified ObjectPath is invalid."},
	"InvalidObjectPath.Size.Malformed":         {http.StatusBadRequest, "", "The size of ObjectPath is bigger than 1000."},
	"InvalidObjectType.Malformed":              {http.StatusBadRequest, "", "The specified ObjectType is invalid."},
	"InvalidObjectType.ValueNotSupported":      {http.StatusBadRequest, "", "The specified ObjectType is not supported."},
	"InvalidExtensiveDomain.ValueNotSupported": {http.StatusBadRequest, "", "The specified ExtensiveDomain is not supported."},
	"QuotaExceeded.Preload":                    {http.StatusBadRequest, "", "Your preload attempts have exceeded the daily limit."},
	"PreloadQueueFull":                         {http.StatusBadRequest, "", "The preload queue is full; please try again later."},
	"MissingParameter":                         {http.StatusBadRequest, "", "A parameter that is mandatory for processing this request is not supplied."},
	"IllegalOperation":                         {http.StatusForbidden, "", "Illegal domain operate is not permitted."},
	"OperationDenied":                          {http.StatusForbidden, "", "Your account does not open CDN service yet."},
	"ServiceBusy":                              {http.StatusForbidden, "", "The specified Domain is configuring, please retry later."},
	"Forbidden":                                {http.StatusForbidden, "", "This operation is available only to accounts on the allow list."},
	"Forbidden.RAM":                            {http.StatusForbidden, "", "User not authorized to operate on the specified resource."},
	"InvalidDomain.NotFound":                   {http.StatusNotFound, "", "The domain provided does not belong to you."},
	"InvalidDomain.Offline":                    {http.StatusNotFound, "", "The domain provided is offline."},
	"InvalidDomain.Configure_failed":           {http.StatusInternalServerError, "", "Failed to configure the provided domain."},
	"Throttling":                               {http.StatusServiceUnavailable, "", "Request was denied due to request throttling."},
	"Throttling.User":                          {http.StatusBadRequest, "", "Request was denied due to user flow control."},
	"TooManyRequests":                          {http.StatusTooManyRequests, "", "Too many requests; please try again later."},
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
	"InvalidStatus.ValueNotSupported":          {http.StatusBadRequest, "", "The specified Status is not supported."},
	"InvalidStartTime.Malformed":               {http.StatusBadRequest, "", "The specified StartTime is malformed."},
	"InvalidEndTime.Malformed":                 {http.StatusBadRequest, "", "The specified EndTime is malformed."},
	"InvalidEndTime.Mismatch":                  {http.StatusBadRequest, "", "The specified EndTime is earlier than the StartTime."},
	"InvalidPageNumber.ValueNotSupported":      {http.StatusBadRequest, "", "The specified PageNumber is not supported."},
	"InvalidPageSize.ValueNotSupported":        {http.StatusBadRequest, "", "The specified PageSize is not supported."},
	"InvalidTaskId.Malformed":                  {http.StatusBadRequest, "", "The specified TaskId is invalid."},
	"InvalidArea.ValueNotSupported":            {http.StatusBadRequest, "", "The specified Area is not supported."},
	"InvalidWithHeader.Malformed":              {http.StatusBadRequest, "", "The specified WithHeader is not a valid JSON string."},
	"InvalidCacheTag.Malformed":                {http.StatusBadRequest, "", "The specified CacheTag is invalid."},
}

// knownError returns the reply for code, or a 400 with a generic message
// for a code not in the table.
func knownError(code string) *apiError {
	e, ok := knownErrors[code]
	if !ok {
		return errorf(http.StatusBadRequest, code, "Injected error %s.", code)
	}
	return &apiError{status: e.status, code: code, message: e.message}
}

// named returns the known reply for code with a more precise message.
func named(code, format string, args ...any) *apiError {
	e := knownError(code)
	e.message = fmt.Sprintf(format, args...)
	return e
}
