package refresh

import (
	"context"
	"time"
)

// LimitWait is a wait a Limiter imposes on a call before it may be sent:
// Wait long for Domain's per-minute URL budget, or, when Domain is empty,
// for API's calls per second.
type LimitWait struct {
	API    string
	Domain string
	Wait   time.Duration
}

type limitWaitsKey struct{}

// WithLimitWaits returns a context under which a Limiter tells f about
// each wait before it begins, so that a caller can say why nothing moves
// (the CLI's progress). f must return at once.
func WithLimitWaits(ctx context.Context, f func(LimitWait)) context.Context {
	return context.WithValue(ctx, limitWaitsKey{}, f)
}

// NotifyLimitWait tells the function WithLimitWaits put in ctx, if any,
// about w. Limiters call it.
func NotifyLimitWait(ctx context.Context, w LimitWait) {
	if f, ok := ctx.Value(limitWaitsKey{}).(func(LimitWait)); ok {
		f(w)
	}
}
