// Package redistest starts a throwaway redis-server on a free loopback port
// for tests.
//
// Without redis-server on PATH the tests that need it are skipped with a
// visible message, unless CDNREFRESH_REQUIRE_REDIS=1, which makes its
// absence a failure (CI sets it).
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/testrun"
)

// RequireEnv names the environment variable that, set to 1, turns a
// missing redis-server into a test failure.
const RequireEnv = "CDNREFRESH_REQUIRE_REDIS"

const startTimeout = 10 * time.Second

// Start runs redis-server on a free 127.0.0.1 port, without persistence,
// and waits until it answers PING. It returns the server's address and a
// function that stops it (also called when the test ends; calling it twice
// is fine).
func Start(t testing.TB) (addr string, stop func()) {
	t.Helper()
	bin := lookup(t)
	var lastErr error
	for range 3 { // a free port can be taken again before the server binds it
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: find a free port: %v", err)
		}
		addr, stop, err := start(t, bin, port)
		if err == nil {
			return addr, stop
		}
		lastErr = err
	}
	t.Fatalf("redistest: %v", lastErr)
	return "", nil
}

// StartOn runs redis-server on addr (127.0.0.1:port), as Start does: for
// tests that bring a stopped server back on the same address.
func StartOn(t testing.TB, addr string) (stop func()) {
	t.Helper()
	bin := lookup(t)
	host, p, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("redistest: StartOn(%q): want 127.0.0.1:port", addr)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("redistest: StartOn(%q): bad port: %v", addr, err)
	}
	_, stop, err = start(t, bin, port)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	return stop
}

func lookup(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err == nil {
		return bin
	}
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("redistest: redis-server not installed, and %s=1 requires it", RequireEnv)
	}
	t.Skipf("redistest: redis-server not installed; skipping (apt-get install redis-server to run; %s=1 makes this a failure)", RequireEnv)
	return ""
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func start(t testing.TB, bin string, port int) (string, func(), error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--dir", t.TempDir(),
	)
	var out testrun.Buffer // the server's output, for error messages
	cmd.Stdout, cmd.Stderr = &out, &out
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
	}
	deadline := time.Now().Add(startTimeout)
	for {
		if err := ping(addr); err == nil {
			t.Cleanup(stop)
			return addr, stop, nil
		}
		select {
		case <-exited:
			return "", nil, fmt.Errorf("redis-server on %s exited at start: %s", addr, lastLines(out.String()))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("redis-server on %s did not answer PING within %v: %s", addr, startTimeout, lastLines(out.String()))
		}
	}
}

// ping sends PING in the Redis protocol and expects PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

func lastLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}
