// Package redisconn opens the connection to the Redis server that
// instances share, for the window, the limiter and the replay cache of
// package window.
//
// It is a package of its own for the build's sake: every package that
// names go-redis's Client or Options type compiles some 1,700 functions
// for them again (generic shapes and method wrappers: about a second on two
// cores, twice for a package with internal tests). Only this package names
// them; the rest see redis.Cmdable.
package redisconn

import (
	"errors"
	"io"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timeout bounds each Redis round trip of a connection Dial makes, so that
// an unreachable Redis costs an invocation at most this much before the
// window falls back to working in process.
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

// Close releases the connection pool.
func (c *Conn) Close() error { return c.pool.Close() }

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
	// One dial per attempt: go-redis (v9.23) otherwise dials up to 5 times
	// with 100 ms between, so that a Redis that refuses connections held
	// each window operation for its whole Timeout and an invocation for
	// ~2 s before it fell back to working in process.
	o.DialerRetries = 1
	c := redis.NewClient(o)
	return &Conn{Cmd: c, Addr: o.Addr, pool: c}, nil
}
