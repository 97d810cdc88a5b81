package window

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"

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
// fails after one retry of one dial each (go-redis's default is up to five
// dials per attempt, 100 ms apart, which held each window operation for
// its whole timeout).
func TestDialFailsFast(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now

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
