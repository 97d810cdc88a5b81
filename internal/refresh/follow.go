package refresh

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// followAfter is how old a ticket must be before polling asks about it:
// a younger one is rarely done, and its completion event may be on the
// way.
const followAfter = time.Minute

// Followed counts what following the ledger's tickets found.
type Followed struct {
	Asked       int `json:"asked"`                 // task ids asked about
	Completed   int `json:"completed"`             // tickets found complete
	Failed      int `json:"failed"`                // tickets found failed
	Resubmitted int `json:"resubmitted"`           // failed tickets whose URLs were sent again
	Expired     int `json:"expired"`               // tickets whose tasks the API no longer knows
	Open        int `json:"open"`                  // tickets still open
	Completions int `json:"completions,omitempty"` // task completions applied from CDN events
}

// Follow brings the ledger's open tickets up to date: it asks the task
// API (Options.Tasks: DescribeRefreshTaskById) about the tasks of tickets
// open for more than a minute, records what it learns (complete, failed
// with the API's description, expired once the API forgets them), and
// sends the URLs of a newly failed task again, once by default
// (Options.RetryFailed), as a new ticket. It returns the tickets as they
// now stand.
func (p *Pipeline) Follow(ctx context.Context) (Followed, []Ticket, error) {
	var f Followed
	if p.o.Ledger == nil {
		return f, nil, nil
	}
	tickets, err := p.o.Ledger.Tickets(ctx)
	if err != nil {
		return f, nil, fmt.Errorf("read the ledger: %w", err)
	}
	now := p.o.Now()
	var changed []Ticket
	if p.o.Tasks != nil {
		changed, err = p.poll(ctx, tickets, now, &f)
	}
	var resend []Pending
	for i := range changed {
		t := &changed[i]
		if t.State == TicketFailed && !t.Resubmitted && t.Attempt <= p.o.RetryFailed {
			t.Resubmitted = true
			f.Resubmitted++
			for _, u := range t.Failed {
				resend = append(resend, Pending{Job: Job{Action: t.Action, Provider: t.Provider, ObjectType: t.ObjectType,
					URL: u, ChangeTime: t.Changed, Resubmits: t.Attempt}, Reason: "task failed: " + t.Description, FirstSeen: t.Submitted})
			}
		}
	}
	var errs []error
	if len(changed) > 0 {
		if aerr := p.o.Ledger.Append(ctx, changed); aerr != nil {
			errs = append(errs, fmt.Errorf("record what the task API said: %w", aerr))
		}
	}
	if len(resend) > 0 {
		// The failed URLs go again now: the origin error has had the time
		// since the task failed to clear.
		if _, rerr := p.carryOut(ctx, resend); rerr != nil {
			errs = append(errs, fmt.Errorf("send the URLs of failed tasks again: %w", rerr))
		}
	}
	tickets = Latest(append(tickets, changed...))
	for _, t := range tickets {
		if t.State == TicketOpen {
			f.Open++
		}
	}
	return f, tickets, errors.Join(append(errs, err)...)
}

// poll asks the task API about the open tickets older than followAfter
// and returns the tickets it changed.
func (p *Pipeline) poll(ctx context.Context, tickets []Ticket, now time.Time, f *Followed) ([]Ticket, error) {
	ids := map[Provider][]string{}
	for _, t := range tickets {
		if t.State != TicketOpen || now.Sub(t.Submitted) < followAfter {
			continue
		}
		for _, id := range t.TaskIDs {
			if !slices.Contains(t.Done, id) {
				ids[t.Provider.OrDefault()] = append(ids[t.Provider.OrDefault()], id)
			}
		}
	}
	records := map[string][]Task{} // task id -> its records (one per object path)
	var errs []error
	for _, pr := range []Provider{CDN, DCDN} {
		if len(ids[pr]) == 0 {
			continue
		}
		f.Asked += len(ids[pr])
		got, err := p.o.Tasks(ctx, pr, ids[pr])
		if err != nil {
			errs = append(errs, fmt.Errorf("ask the %s task API: %w", pr, err))
			continue
		}
		for _, task := range got {
			records[task.ID] = append(records[task.ID], task)
		}
	}
	var changed []Ticket
	for _, t := range tickets {
		if t.State != TicketOpen || now.Sub(t.Submitted) < followAfter {
			continue
		}
		c := t
		c.Done, c.Failed = slices.Clone(t.Done), slices.Clone(t.Failed)
		known := false
		for _, id := range t.TaskIDs {
			recs := records[id]
			known = known || len(recs) > 0
			done, failed := TaskProgress(recs)
			for _, r := range failed {
				if !slices.Contains(c.Failed, r.ObjectPath) {
					c.Failed = append(c.Failed, r.ObjectPath)
				}
				c.Description = r.Description
			}
			if done && len(failed) == 0 {
				c.complete(id, now)
			}
		}
		switch {
		case len(c.Failed) > 0:
			c.State = TicketFailed
			f.Failed++
		case c.State == TicketComplete:
			f.Completed++
		case !known && now.Sub(t.Submitted) > TaskRetention:
			c.State = TicketExpired
			f.Expired++
		}
		if c.State != t.State || len(c.Done) != len(t.Done) {
			c.Updated = now
			changed = append(changed, c)
		}
	}
	return changed, errors.Join(errs...)
}

// Complete records what CDN events said — tasks that completed — in the
// ledger, and returns what it did with each: "" when recorded, else why
// it was ignored (a task the ledger does not hold, one already known
// complete). The tickets as they now stand come back too.
func (p *Pipeline) Complete(ctx context.Context, cs []Completion) ([]string, []Ticket, error) {
	why := make([]string, len(cs))
	if p.o.Ledger == nil {
		for i := range why {
			why[i] = "no task ledger"
		}
		return why, nil, nil
	}
	tickets, err := p.o.Ledger.Tickets(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("read the ledger: %w", err)
	}
	byID := map[string][]int{} // the API may give several calls one task id
	for i, t := range tickets {
		for _, id := range t.TaskIDs {
			byID[id] = append(byID[id], i)
		}
	}
	touched := map[int]bool{}
	for n, c := range cs {
		if len(byID[c.TaskID]) == 0 {
			why[n] = "unknown task " + c.TaskID + ": not in the ledger (submitted by someone else, or over three days ago)"
			continue
		}
		ofDomain, done := false, false
		for _, i := range byID[c.TaskID] {
			if !slices.Contains(tickets[i].Domains(), c.Domain) {
				continue
			}
			ofDomain = true
			if tickets[i].complete(c.TaskID, c.Completed) {
				tickets[i].Updated = p.o.Now()
				touched[i], done = true, true
			}
		}
		switch {
		case !ofDomain:
			why[n] = "task " + c.TaskID + " is not of domain " + c.Domain
		case !done:
			why[n] = "task " + c.TaskID + " already known complete"
		}
	}
	var changed []Ticket
	for i, t := range tickets {
		if touched[i] {
			changed = append(changed, t)
		}
	}
	if len(changed) > 0 {
		if err := p.o.Ledger.Append(ctx, changed); err != nil {
			return why, tickets, fmt.Errorf("record %d completions: %w", len(changed), err)
		}
	}
	return why, tickets, nil
}

// Completed is what a CDN completion event did.
type Completed struct {
	Completions int       `json:"completions"` // recorded in the ledger
	Ignored     []Ignored `json:"ignored,omitempty"`
	// Released is what sending the prefetches that waited for these
	// purges did.
	Released Drained `json:"released"`
}

// OnCompletions acts on what CDN events said (Function Compute's CDN
// event trigger: CachedObjectsRefreshed, CachedObjectsPushed): it records
// the completions in the ledger, then sends the prefetches of b that
// waited for those purges (Release). A completion for a domain allowed
// says false to, or for a task the ledger does not hold, is ignored with
// its reason. The error is the ledger's or the spill store's: the
// invocation fails, to be delivered again.
func (p *Pipeline) OnCompletions(ctx context.Context, b Backlog, cs []Completion, allowed func(domain string) bool) (Completed, error) {
	var c Completed
	var mine []Completion
	for _, x := range cs {
		if allowed != nil && !allowed(x.Domain) {
			c.Ignored = append(c.Ignored, Ignored{Key: "task " + x.TaskID, Reason: "domain " + x.Domain + " is not in the rules"})
			continue
		}
		mine = append(mine, x)
	}
	why, tickets, err := p.Complete(ctx, mine)
	if err != nil {
		return c, err
	}
	for i, w := range why {
		if w == "" {
			c.Completions++
		} else {
			c.Ignored = append(c.Ignored, Ignored{Key: "task " + mine[i].TaskID, Reason: w})
		}
	}
	c.Released, err = p.Release(ctx, b, tickets)
	return c, err
}
