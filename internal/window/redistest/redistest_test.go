package redistest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func TestStartStop(t *testing.T) {
	addr, stop := Start(t)
	if err := ping(addr); err != nil {
		t.Fatalf("ping(%s) after Start: %v", addr, err)
	}
	stop()
	if err := ping(addr); err == nil {
		t.Errorf("ping(%s) after stop succeeded, want the server gone", addr)
	}
	stop() // twice is fine
}

// recordTB records how a test helper ended the test.
type recordTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordTB) Helper() {}

func (r *recordTB) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recordTB) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestMissingServer(t *testing.T) {
	tests := []struct {
		name, require string
		wantSkip      bool
	}{
		{"skipped by default", "", true},
		{"fails when required", "1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PATH", t.TempDir())
			t.Setenv(RequireEnv, tt.require)
			r := &recordTB{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				Start(r)
			}()
			<-done
			if tt.wantSkip && !strings.Contains(r.skipped, "redis-server not installed") {
				t.Errorf("Start without redis-server: skipped %q, failed %q; want a skip naming the cause", r.skipped, r.failed)
			}
			if !tt.wantSkip && !strings.Contains(r.failed, RequireEnv) {
				t.Errorf("Start without redis-server, %s=1: skipped %q, failed %q; want a failure", RequireEnv, r.skipped, r.failed)
			}
		})
	}
}
