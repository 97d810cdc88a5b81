package spill

import (
	"context"
	"testing"
)

// LedgerObjects counts the objects of l, for tests.
func LedgerObjects(t *testing.T, l *Ledger) int {
	t.Helper()
	names, err := l.b.list(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(names)
}
