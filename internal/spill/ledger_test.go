package spill_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/spill"
	"github.com/google/go-cmp/cmp"
)

// TestLedger: tickets appended by concurrent writers are all kept; a later
// state of a ticket wins; Compact folds the objects into one and drops
// what the task API no longer knows; the spill never lists the ledger's
// objects as work — on files and on OSS.
func TestLedger(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, w world) {
		now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		s := w.open(t)
		l, err := s.Ledger(clock)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		ticket := func(i int, at time.Time) refresh.Ticket {
			return refresh.Ticket{Provider: refresh.CDN, Action: refresh.ActionRefresh, TaskIDs: []string{fmt.Sprint(1000 + i)},
				URLs: []string{fmt.Sprintf("https://d/%d", i)}, Submitted: at, Changed: at, Attempt: 1, State: refresh.TicketOpen, Updated: at}
		}
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				if err := l.Append(ctx, []refresh.Ticket{ticket(i, now)}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		old := ticket(99, now.Add(-refresh.TaskRetention-time.Hour))
		done := ticket(3, now)
		done.State, done.Done, done.Completed, done.Updated = refresh.TicketComplete, done.TaskIDs, now.Add(time.Minute), now.Add(time.Minute)
		if err := l.Append(ctx, []refresh.Ticket{old, done}); err != nil {
			t.Fatal(err)
		}

		check := func(when string) {
			t.Helper()
			got, err := l.Tickets(ctx)
			if err != nil {
				t.Fatalf("%s: Tickets: %v", when, err)
			}
			if len(got) != 20 {
				t.Fatalf("%s: %d tickets, want the 20 within retention", when, len(got))
			}
			for _, tk := range got {
				if tk.URLs[0] == "https://d/3" && tk.State != refresh.TicketComplete {
					t.Errorf("%s: ticket 3 is %s, want its later state, complete", when, tk.State)
				}
			}
		}
		check("before Compact")
		if err := l.Compact(ctx); err != nil {
			t.Fatal(err)
		}
		check("after Compact")
		if entries := mustLoad(t, s); len(entries) != 0 {
			t.Errorf("the spill lists %d entries, want none: the ledger is not work", len(entries))
		}
		if diff := cmp.Diff(1, spill.LedgerObjects(t, l)); diff != "" {
			t.Errorf("ledger objects after Compact (-want +got):\n%s", diff)
		}
	})
}
