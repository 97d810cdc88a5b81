package spill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// ledgerDir is where a store keeps its task ledger: a sub-directory, or a
// sub-prefix, of the spill's place.
const ledgerDir = "ledger"

// Ledger is the task ledger (refresh.Ledger) in a spill store's place:
// each Append writes one new object of tickets, never overwritten, so that
// concurrent writers never lose each other's; Tickets folds them into the
// latest state of each ticket. Compact, run by one drainer at a time,
// folds the objects it read into one and drops what the task API no
// longer knows (refresh.TaskRetention).
type Ledger struct {
	b     backend
	names namer
	now   func() time.Time
}

// Ledger returns the task ledger beside s, whose retention runs on now
// (default time.Now).
func (s *Store) Ledger(now func() time.Time) (*Ledger, error) {
	b, err := s.b.sub(ledgerDir)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Ledger{b: b, now: now}, nil
}

// ledgerBatch is the JSON form of one ledger object.
type ledgerBatch struct {
	Version int              `json:"version"`
	Tickets []refresh.Ticket `json:"tickets"`
}

// Append stores t as one new object.
func (l *Ledger) Append(ctx context.Context, t []refresh.Ticket) error {
	if len(t) == 0 {
		return nil
	}
	data, err := json.Marshal(ledgerBatch{Version: formatVersion, Tickets: t})
	if err != nil {
		return fmt.Errorf("ledger: encode %d tickets: %w", len(t), err)
	}
	for range 5 {
		err = l.b.create(ctx, l.names.next(), data)
		if !errors.Is(err, errExists) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("ledger: store %d tickets: %w", len(t), err)
	}
	return nil
}

// Tickets returns the latest state of every ticket submitted within
// refresh.TaskRetention. An object that cannot be read or parsed fails it:
// a ledger read in part would call open tasks unknown.
func (l *Ledger) Tickets(ctx context.Context) ([]refresh.Ticket, error) {
	t, _, err := l.load(ctx)
	return t, err
}

// load reads every object and returns the latest tickets and the names
// read.
func (l *Ledger) load(ctx context.Context) ([]refresh.Ticket, []string, error) {
	names, err := l.b.list(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("ledger: list: %w", err)
	}
	batches, errs := readAll(ctx, l.b, names, func(data []byte) ([]refresh.Ticket, error) {
		var b ledgerBatch
		if err := json.Unmarshal(data, &b); err != nil {
			return nil, err
		}
		if b.Version != formatVersion {
			return nil, fmt.Errorf("format version %d, want %d", b.Version, formatVersion)
		}
		return b.Tickets, nil
	})
	var all []refresh.Ticket
	for i, b := range batches {
		switch err := errs[i]; {
		case errors.Is(err, errNotFound):
			// Compacted since the listing: its tickets are in a newer object.
		case err != nil:
			return nil, nil, fmt.Errorf("ledger: read %s: %w", l.b.where(names[i]), err)
		default:
			all = append(all, b...)
		}
	}
	earliest := l.now().Add(-refresh.TaskRetention)
	latest := slices.DeleteFunc(refresh.Latest(all), func(t refresh.Ticket) bool { return t.Submitted.Before(earliest) })
	return latest, names, nil
}

// Compact folds the ledger's objects into one object of the latest
// tickets still within refresh.TaskRetention, and removes the objects it
// folded. Objects written meanwhile are left as they are.
func (l *Ledger) Compact(ctx context.Context) error {
	t, names, err := l.load(ctx)
	if err != nil || len(names) < 2 {
		return err
	}
	if err := l.Append(ctx, t); err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		if err := l.b.remove(ctx, name); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ledger: remove folded objects: %w", err)
	}
	return nil
}
