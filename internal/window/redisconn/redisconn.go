// Package redisconn opens the connection to the Redis server that
// instances share, for the window, the limiter and the replay cache of
// package window.
//
// It is a package of its own for the build's sake: every package that
// names go-redis's Client or Options type compiles some 1,700 functions
// for them again (generic shapes and method wrappers: about a second on two
// cores, twice for a package with internal tests). Only this package names
// them; the rest see redis.Cmdable. (Its tests are package window's, in
// dial_test.go: a test binary of its own would cost a link.)
package redisconn

import (
	"errors"
	"io"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timeout is the dial, read, write and pool timeout of a connection Dial
// makes; package window also bounds each of its operations (window, rate
// budget, replay cache) by it, so that an unreachable Redis costs an
// invocation at most this much before it falls back to working in process.
const Timeout = time.Second

// Conn is a connection pool to one Redis server. It is safe for concurrent
// use.
type Conn struct {
	// Cmd runs go-redis's commands on the pool.
	Cmd redis.Cmdable
	// Addr is the server's host:port, for messages: never the password.
	Addr string
	// pool is go-redis's *Client, held as an io.Closer: a field of its
	// own type would make every package that uses Conn compile the
	// wrappers again.
	pool io.Closer
}

// Close releases the connection pool. A Conn not made by Dial has none.
func (c *Conn) Close() error {
	if c.pool == nil {
		return nil
	}
	return c.pool.Close()
}

// Dial returns a connection for a redis:// or rediss:// URL, with short
// timeouts suited to a window that must fall back quickly. It does not
// connect.
func Dial(rawURL string) (*Conn, error) {
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		// The parser's message may quote the URL, password and all, in any
		// escaping: say only what kind of problem it is.
		return nil, errors.New("window: the redis URL is not valid (redis://[user:password@]host:port[/db]; the value is not shown: it may hold a password)")
	}
	o.DialTimeout = Timeout
	o.ReadTimeout = Timeout
	o.WriteTimeout = Timeout
	o.PoolTimeout = Timeout
	o.MaxRetries = 1
	// One dial per attempt. Despite its name, DialerRetries counts dials,
	// not retries (go-redis v9.23 internal/pool: the loop in dialConn runs
	// while attempt < DialerRetries; 0 means 5): by default a Redis that
	// refuses connections cost each attempt 5 dials 100 ms apart, about
	// 0.8 s of an operation's 1 s for its two attempts, and an invocation
	// ~2 s before it fell back to working in process. The price: a Redis
	// that refuses connections for a moment (a failover) now sends the
	// instance in process for window's 5 s pause at once.
	o.DialerRetries = 1
	c := redis.NewClient(o)
	return &Conn{Cmd: c, Addr: o.Addr, pool: c}, nil
}
