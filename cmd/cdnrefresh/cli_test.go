package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/app/apptest"
	emu "github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// stand is the CDN API emulator and the CLI sharing one fake clock, so
// that the limiter's minutes, the retry backoff and the task polling pass
// at once and the test measures the simulated time they take.
type stand struct {
	emu *emu.Server
	clk *apptest.Clock
	url string

	mu       sync.Mutex
	before   func(action string, n int, r *http.Request) // called before the API serves request n of action
	count    map[string]int
	attempts [][]string // ObjectPath of each refresh request, accepted or not
}

// newStand starts the emulator with o on a fake clock and points the
// CLI's environment at it: its endpoint and credentials, an empty home
// (no Alibaba Cloud CLI profile), no Redis, and a new working directory.
func newStand(t *testing.T, o emu.Options) *stand {
	t.Helper()
	s := &stand{clk: apptest.NewClock(time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)), count: map[string]int{}}
	o.Now = s.clk.Now
	s.emu = emu.New(o)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		action := r.URL.Query().Get("Action")
		s.mu.Lock()
		s.count[action]++
		n, before := s.count[action], s.before
		if action == refresh.APIRefresh || action == refresh.APIPush {
			s.attempts = append(s.attempts, strings.Split(r.URL.Query().Get("ObjectPath"), "\n"))
		}
		s.mu.Unlock()
		if before != nil {
			before(action, n, r)
		}
		s.emu.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	t.Setenv("CDNREFRESH_CDN_ENDPOINT", srv.URL)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", emu.AccessKeyID)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", emu.AccessKeySecret)
	t.Setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "")
	t.Setenv("ALIBABA_CLOUD_PROFILE", "")
	t.Setenv("CDNREFRESH_REDIS_URL", "")
	t.Setenv("CDNREFRESH_CONFIG", "")
	t.Setenv("CDNREFRESH_CONFIG_YAML", "")
	t.Setenv("HOME", t.TempDir())
	t.Chdir(t.TempDir()) // where leftovers land by default
	return s
}

// run runs `cdnrefresh args...` on the stand's clock with stdin, and
// returns the exit code, stdout and stderr.
func (s *stand) run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	c := clock{now: s.clk.Now, after: s.clk.After, sleep: s.clk.Sleep}
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	var err error
	switch args[0] {
	case "refresh":
		err = refreshURLs(ctx, c, refresh.ActionRefresh, args[1:], strings.NewReader(stdin), &stdout, &stderr)
	case "prefetch":
		err = refreshURLs(ctx, c, refresh.ActionPrefetch, args[1:], strings.NewReader(stdin), &stdout, &stderr)
	case "quota":
		err = quota(ctx, c, args[1:], &stdout, &stderr)
	case "tasks":
		err = tasks(ctx, c, args[1:], &stdout, &stderr)
	case "wait":
		err = waitTasks(ctx, c, args[1:], &stdout, &stderr)
	case "report":
		err = printReport(ctx, c, args[1:], &stdout, &stderr)
	default:
		return run(ctx, args, strings.NewReader(stdin), &stdout, &stderr), stdout.String(), stderr.String()
	}
	return exitCode(args[0], err, &stderr), stdout.String(), stderr.String()
}

// refreshed returns the URLs the API accepted for refresh, in order.
func (s *stand) refreshed() []string {
	var out []string
	for _, c := range s.emu.Calls() {
		if c.Action == refresh.APIRefresh {
			out = append(out, c.URLs...)
		}
	}
	return out
}

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// urlList returns n URLs on domain, one a line.
func urlList(domain string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("https://%s/assets/%05d.js", domain, i)
	}
	return out
}

// readLeftovers returns the URLs of a leftovers file, as --file reads
// them.
func readLeftovers(t *testing.T, name string) []string {
	t.Helper()
	entries, err := readEntries(&refreshOptions{file: name}, nil)
	if err != nil {
		t.Fatalf("read leftovers %s: %v", name, err)
	}
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.text
	}
	return out
}
