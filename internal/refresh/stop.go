package refresh

import (
	"context"
	"sync"
	"time"
)

// flushWait bounds how long Stop waits for the flushes in flight, which
// it has cut short and which then only spill (a spill write gets
// spillTimeout).
const flushWait = spillTimeout + 5*time.Second

// stopper lets the platform cut the window's flushes short when the
// instance must stop (Pipeline.Abort): their contexts end, so the
// pipeline submits no more, spills what is left and answers the
// invocations waiting on them; Stop waits for them, so that the process
// does not exit in the middle of a spill.
type stopper struct {
	once    sync.Once
	ctx     context.Context // done once aborted
	cancel  context.CancelFunc
	mu      sync.Mutex
	running int // flushes in flight
}

func (s *stopper) init() {
	s.once.Do(func() { s.ctx, s.cancel = context.WithCancel(context.Background()) })
}

// wrap returns flush with its context also ended by Abort.
func (s *stopper) wrap(flush FlushFunc) FlushFunc {
	s.init()
	return func(ctx context.Context, jobs []Job) ([]Outcome, error) {
		s.mu.Lock()
		s.running++
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.running--
			s.mu.Unlock()
		}()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(s.ctx, cancel)()
		return flush(ctx, jobs)
	}
}

// abort ends the context of every flush in flight and to come.
func (s *stopper) abort() {
	s.init()
	s.cancel()
}

// wait waits until no flush is in flight, at most d.
func (s *stopper) wait(d time.Duration) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	until := time.Now().Add(d)
	for time.Now().Before(until) {
		s.mu.Lock()
		n := s.running
		s.mu.Unlock()
		if n == 0 {
			return
		}
		<-tick.C
	}
}

// Abort cuts short the work in flight, for an instance that must stop
// (platform.Handlers.Abort): the window's flushes submit no more and
// spill what they have not submitted, so that the invocations waiting on
// them answer with every job submitted or spilled.
func (p *Pipeline) Abort() { p.stop.abort() }

// Stop aborts the work in flight and waits, a bounded time, until it has
// spilled what it did not submit.
func (p *Pipeline) Stop() {
	p.stop.abort()
	p.stop.wait(flushWait)
}
