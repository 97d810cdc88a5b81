package redisconn_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/cdnrefresh/cdnrefresh/internal/window/redisconn"
)

func TestDial(t *testing.T) {
	bad := []struct{ name, url string }{
		{"bad scheme", "http://127.0.0.1:6379"},
		{"bad db", "redis://127.0.0.1:6379/x"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := redisconn.Dial(tt.url); err == nil {
				t.Errorf("Dial(%q) error = nil, want one", tt.url)
			}
		})
	}
	t.Run("password is not echoed", func(t *testing.T) {
		for _, u := range []string{"redis://user:s3cret@127.0.0.1:6379/x", "redis://:s3cr\\et\"PW@10.0.0.1:6379/x"} {
			_, err := redisconn.Dial(u)
			if err == nil || strings.Contains(err.Error(), "s3cr") {
				t.Errorf("Dial error = %v; want an error without the password", err)
			}
		}
	})
	t.Run("valid", func(t *testing.T) {
		c, err := redisconn.Dial("redis://:pw@127.0.0.1:6379/2")
		if err != nil {
			t.Fatalf("Dial(valid URL) error = %v", err)
		}
		if c.Addr != "127.0.0.1:6379" || c.Cmd == nil {
			t.Fatalf("Dial = {Addr: %q, Cmd: %v}; want Addr 127.0.0.1:6379 and a client", c.Addr, c.Cmd)
		}
		o := c.Cmd.(interface{ Options() *redis.Options }).Options()
		got := []any{o.DB, o.Password, o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout, o.MaxRetries, o.DialerRetries}
		want := []any{2, "pw", redisconn.Timeout, redisconn.Timeout, redisconn.Timeout, redisconn.Timeout, 1, 1}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("options (db, password, dial/read/write/pool timeouts, retries, dial attempts) mismatch (-want +got):\n%s", diff)
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}
