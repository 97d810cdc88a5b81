package testrun

import (
	"bytes"
	"sync"
)

// Buffer collects what several goroutines write (a logger, a server, a
// child process), for a test to read. It is safe for concurrent use; the
// zero value is ready.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
