package refresh

import (
	"context"
	"errors"
)

// Error types: the names a failed invocation's answer gives its error
// (errorType in Function Compute's and Lambda's answers), so that an
// operator or a failure destination can tell kinds of failure apart
// without reading Go's internal type names.
const (
	// ErrorDecode: the payload could not be decoded; a retry of the same
	// payload cannot help.
	ErrorDecode = "DecodeError"
	// ErrorSpill: the spill store failed, so some outcome is not durable;
	// the platform should deliver the invocation again.
	ErrorSpill = "SpillError"
	// ErrorTimeout: the invocation ran out of time.
	ErrorTimeout = "TimeoutError"
	// ErrorInvocation: any other failure.
	ErrorInvocation = "InvocationError"
)

// TypedError gives an error one of the error types above. Read it with
// ErrorType.
type TypedError struct {
	Type string
	Err  error
}

// Typed returns err with the error type typ, or nil when err is nil.
func Typed(typ string, err error) error {
	if err == nil {
		return nil
	}
	return &TypedError{Type: typ, Err: err}
}

func (e *TypedError) Error() string { return e.Err.Error() }

// Unwrap returns the error given a type.
func (e *TypedError) Unwrap() error { return e.Err }

// ErrorType returns the type of err: that of the outermost *TypedError it
// wraps, else ErrorTimeout for a context's deadline, else ErrorInvocation.
func ErrorType(err error) string {
	var t *TypedError
	switch {
	case errors.As(err, &t):
		return t.Type
	case errors.Is(err, context.DeadlineExceeded):
		return ErrorTimeout
	}
	return ErrorInvocation
}
