package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// progress tells the operator what a run does: how many URLs are
// submitted, still waiting, spilled and rejected, each call, and why
// nothing moves while a domain's minute budget is used. On a terminal it
// is a bar of the URLs submitted (never more: a failed run does not end at
// 100%) with a countdown while waiting; elsewhere, plain lines. Notes
// (the quota unreadable) are shown even when quiet. It is safe for
// concurrent use.
type progress struct {
	w     io.Writer
	quiet bool
	bar   *progressbar.ProgressBar // nil when not a terminal

	mu                                  sync.Mutex
	total, submitted, spilled, rejected int
	waitFor                             string    // what a wait is for, e.g. "cdn.example.com: minute budget used"
	waitEnd                             time.Time // when it ends, by the wall clock
	stop                                chan struct{}
}

// minShownWait is the shortest wait worth a line: the calls-per-second
// spacing (20 ms) is not.
const minShownWait = time.Second

// newProgress shows a run of total URLs (or tasks) on w.
func newProgress(w io.Writer, quiet bool, total int) *progress {
	p := &progress{w: w, quiet: quiet, total: total}
	if f, ok := w.(*os.File); ok && !quiet && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond))
		p.stop = make(chan struct{})
		go p.tick()
	}
	return p
}

// counts says where the URLs are.
func (p *progress) counts() string {
	waiting := max(0, p.total-p.submitted-p.spilled-p.rejected)
	return fmt.Sprintf("submitted %d · waiting %d · spilled %d · rejected %d", p.submitted, waiting, p.spilled, p.rejected)
}

// line shows msg: on the terminal above the bar.
func (p *progress) line(msg string) {
	if p.bar != nil {
		p.bar.Clear()
	}
	fmt.Fprintln(p.w, msg)
	p.render()
}

// render redraws the bar with the counts and any wait.
func (p *progress) render() {
	if p.bar == nil {
		return
	}
	desc := p.counts()
	if p.waitFor != "" {
		desc += " · " + p.waitFor + ", next call in " + seconds(time.Until(p.waitEnd))
	}
	p.bar.Describe(desc)
	p.bar.Set(p.submitted)
}

// tick counts a wait down on the terminal.
func (p *progress) tick() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			if p.waitFor != "" {
				p.render()
			}
			p.mu.Unlock()
		}
	}
}

// note shows msg, even when quiet.
func (p *progress) note(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Clear()
	}
	fmt.Fprintln(p.w, "cdnrefresh: "+msg)
	p.render()
}

// planned shows the plan: calls, and jobs over the quota (spilled).
func (p *progress) planned(calls, over int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.spilled += over
	if p.quiet {
		return
	}
	msg := fmt.Sprintf("planned %s for %s", plural(calls, "call"), plural(p.total-p.rejected, "URL"))
	if over > 0 {
		msg += fmt.Sprintf("; %s over today's quota left over", plural(over, "URL"))
	}
	p.line(msg)
}

// call shows how call n of about of went.
func (p *progress) call(n, of int, c refresh.Call, taskID string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waitFor = ""
	var how string
	if err == nil {
		p.submitted += len(c.Jobs)
		how = "submitted, task " + taskID
	} else {
		v, code := refresh.FailureOf(err)
		switch {
		case v == refresh.Reject, v == refresh.SplitURLs && len(c.URLs) == 1, v == refresh.SplitDomains && len(callDomains(c)) == 1:
			p.rejected += len(c.Jobs)
			how = "rejected: " + code
		case v == refresh.SplitURLs, v == refresh.SplitDomains:
			how = "refused (" + code + "): split to find the bad URLs"
		default:
			p.spilled += len(c.Jobs)
			how = "not accepted: " + code
		}
	}
	if p.quiet {
		return
	}
	p.line(fmt.Sprintf("call %d/%d: %s %s (%s): %s — %s", n, of, c.API, plural(len(c.URLs), "URL"), strings.Join(callDomains(c), ", "), how, p.counts()))
}

// waiting shows a wait of the limiter; it is the function
// refresh.WithLimitWaits takes.
func (p *progress) waiting(w refresh.LimitWait) {
	if w.Wait < minShownWait {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if w.Domain != "" {
		p.waitFor = w.Domain + ": minute budget used"
	} else {
		p.waitFor = w.API + ": calls per second used"
	}
	p.waitEnd = time.Now().Add(w.Wait)
	if p.quiet {
		return
	}
	if p.bar == nil {
		fmt.Fprintln(p.w, p.waitFor+", next call in "+seconds(w.Wait))
		return
	}
	p.render()
}

// advance counts n more done (tasks followed) and shows msg.
func (p *progress) advance(n int, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.submitted += n
	if p.quiet {
		return
	}
	if p.bar == nil {
		fmt.Fprintln(p.w, msg)
		return
	}
	p.bar.Describe(msg)
	p.bar.Set(p.submitted)
}

// finish ends the display, leaving the bar where it is.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar == nil {
		return
	}
	close(p.stop)
	p.bar.Exit()
	fmt.Fprintln(p.w)
}

// seconds writes d in whole seconds, rounded up: "42 s".
func seconds(d time.Duration) string {
	return fmt.Sprintf("%d s", max(0, int((d+time.Second-1)/time.Second)))
}
