package apptest

import (
	"context"
	"sync"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
)

// Clock is a fake clock for an App under test: every wait on it moves it
// forward at once, so that the rate limiter, the retry backoff and the
// window's timer never sleep. Give the CDN emulator the same clock
// (cdn.Options.Now) so that its per-minute budget follows the time the
// limiter keeps. Waits of concurrent goroutines add up: time runs faster
// than it would, never slower. It is safe for concurrent use.
//
// Do not give contexts real deadlines in a test that runs on a Clock: the
// pipeline compares them with Now.
type Clock struct {
	mu     sync.Mutex
	t      time.Time
	waited time.Duration
}

// NewClock returns a Clock that reads start.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.t = c.t.Add(d)
		c.waited += d
	}
	return c.t
}

// Waited returns the total of the waits so far.
func (c *Clock) Waited() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waited
}

// After advances the clock by d and returns a channel that already holds
// the new time.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- c.Advance(d)
	return ch
}

// Sleep advances the clock by d, unless ctx is already done.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

// Options returns app.Options that run the App on c.
func (c *Clock) Options() app.Options {
	return app.Options{Now: c.Now, After: c.After, Sleep: c.Sleep}
}

// NoSleep is an app.Options.Sleep for tests on the real clock: the retry
// backoff returns at once instead of sleeping.
func NoSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// Now is an app.Options.After for tests on the real clock that need no
// coalescing: every wait ends at once, so a window closes as soon as it
// opens.
func Now(time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- time.Now()
	return ch
}
