package window

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cdnrefresh/cdnrefresh/internal/window/redisconn"
)

// The tests of redisconn.Dial live here, with the window that uses the
// connection: a test package of its own would cost the build a link.

func TestDialRejects(t *testing.T) {
	t.Parallel()
	bad := []struct{ name, url string }{
		{"bad scheme", "http://127.0.0.1:6379"},
		{"bad db", "redis://127.0.0.1:6379/x"},
		{"password is not echoed", "redis://user:s3cret@127.0.0.1:6379/x"},
		{"escaped password is not echoed", "redis://:s3cr\\et\"PW@10.0.0.1:6379/x"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := redisconn.Dial(tt.url)
			if err == nil || strings.Contains(err.Error(), "s3cr") {
				t.Errorf("Dial(%q) error = %v; want one, without the password", tt.url, err)
			}
		})
	}
}

// dialCounter is a go-redis hook that counts dial attempts.
type dialCounter struct{ n atomic.Int32 }

func (d *dialCounter) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		d.n.Add(1)
		return next(ctx, network, addr)
	}
}
func (d *dialCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (d *dialCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestDialFailsFast: against a port that refuses connections, a command
// fails after one attempt and one retry of one dial each (go-redis's
// default is up to five dials per attempt, 100 ms apart).
func TestDialFailsFast(t *testing.T) {
	t.Parallel()
	const addr = "127.0.0.1:1" // nothing listens on port 1 (tcpmux)
	c, err := redisconn.Dial("redis://:pw@" + addr + "/2")
	if err != nil {
		t.Fatalf("Dial(valid URL) error = %v", err)
	}
	defer c.Close()
	if c.Addr != addr {
		t.Errorf("Addr = %q, want %q", c.Addr, addr)
	}
	var dials dialCounter
	c.Cmd.(interface{ AddHook(redis.Hook) }).AddHook(&dials)
	if err := c.Cmd.Ping(context.Background()).Err(); err == nil {
		t.Fatal("Ping to a closed port succeeded")
	}
	if n := dials.n.Load(); n != 2 {
		t.Errorf("Ping to a closed port dialled %d times, want 2 (one attempt and one retry, one dial each)", n)
	}
}

// deadlines is a go-redis hook that records, for each command, how long
// its context had left.
type deadlines struct {
	mu   sync.Mutex
	left []time.Duration // -1: no deadline
}

func (d *deadlines) DialHook(next redis.DialHook) redis.DialHook { return next }
func (d *deadlines) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		left := time.Duration(-1)
		if dl, ok := ctx.Deadline(); ok {
			left = time.Until(dl)
		}
		d.mu.Lock()
		d.left = append(d.left, left)
		d.mu.Unlock()
		return next(ctx, cmd)
	}
}
func (d *deadlines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestReplayBoundsEachCall: the replay cache's commands carry the window's
// per-operation timeout even when the caller's context has no deadline.
func TestReplayBoundsEachCall(t *testing.T) {
	t.Parallel()
	c, err := redisconn.Dial("redis://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var d deadlines
	c.Cmd.(interface{ AddHook(redis.Hook) }).AddHook(&d)
	r := NewReplay(c.Cmd)
	if _, err := r.SeenBefore(context.Background(), "k", time.Minute); err == nil {
		t.Error("SeenBefore with Redis down: error = nil")
	}
	if err := r.Forget(context.Background(), "k"); err == nil {
		t.Error("Forget with Redis down: error = nil")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.left) != 2 {
		t.Fatalf("%d commands seen, want 2 (SET NX, DEL)", len(d.left))
	}
	for i, left := range d.left {
		if left <= 0 || left > opTimeout {
			t.Errorf("command %d: time left %v, want a deadline within %v", i, left, opTimeout)
		}
	}
}
