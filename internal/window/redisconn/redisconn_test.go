package redisconn_test

import (
	"strings"
	"testing"

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
			t.Errorf("Dial = {Addr: %q, Cmd: %v}; want Addr 127.0.0.1:6379 and a client", c.Addr, c.Cmd)
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}
