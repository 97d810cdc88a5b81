package functions_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/app/apptest"
	"github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/functions"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/testrun"
)

// killConfig maps bucket my-site's static/ to one domain whose per-minute
// budget the test does not reach. The test follows each URL, so collapsing
// is off: the function runs on the real clock, and the auto collapse would
// refresh static/app/ instead of its files at some hours of the quota day,
// when the killed instance's spending, at the day's pace, projects past the
// quota.
const killConfig = `
rules:
  - {bucket: my-site, prefix: static/, strip_prefix: static/, domains: [static.example.com]}
window: {duration: 100ms}
limits: {domain_urls_per_minute: 100000, dir_collapse_threshold: 0}
`

// TestKilledMidFlightThenRedelivered runs the oss-refresh binary as FC
// runs a custom runtime, posts it an event of 3,000 changed objects, and
// kills it (SIGKILL: no cleanup, nothing spilled) while it waits for the
// CDN API's answers: the API has accepted one call and holds the others.
// A fresh process then gets the same payload again, as FC's async retry
// delivers it. Every URL must end accepted by the API; the calls the
// killed process had in flight, which the API carried out unheard, are
// the only URLs accepted twice.
func TestKilledMidFlightThenRedelivered(t *testing.T) {
	t.Parallel()
	bin := functionBinary(t)
	const n = 3000 // three windows of 1,000 jobs (max_batch), flushed at once
	event, urls := burst(n)

	// The instances sign with keys of their own, so that the gate knows a
	// late call of the killed one from the calls of its successor.
	second := refresh.Credentials{AccessKeyID: "LTAIsecondInstance", AccessKeySecret: "second-secret-not-real"}
	emu := cdn.New(cdn.Options{DomainURLsPerMinute: -1, TaskDuration: -1,
		Keys: map[string]string{cdn.AccessKeyID: cdn.AccessKeySecret, second.AccessKeyID: second.AccessKeySecret}})
	g := &gate{next: emu, held: make(chan struct{}), firstKey: cdn.AccessKeyID}
	g.holding.Store(true)
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)

	env, spillDir := killEnv(t, srv.URL)
	ctx := t.Context()

	// The first instance: killed while its calls are in flight.
	first := startFunction(t, bin, env, "instance-1")
	answered := make(chan error, 1)
	go func() {
		_, _, err := apptest.PostInvoke(ctx, http.DefaultClient, first.url, apptest.Invocation{RequestID: "req-1"}, event)
		answered <- err
	}()
	select {
	case <-g.held: // a refresh call is in flight
	case err := <-answered:
		t.Fatalf("the first instance answered (%v) before any call was held\n%s", err, first.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("no refresh call reached the API within 30 s\n%s", first.log())
	}
	first.kill(t)
	if err := <-answered; err == nil {
		t.Error("the killed instance answered its invocation")
	}
	g.holding.Store(false)

	// FC's retry, delivered to a fresh instance.
	next := startFunction(t, bin, env, "instance-2")
	status, body, err := apptest.PostInvoke(ctx, http.DefaultClient, next.url, apptest.Invocation{RequestID: "req-1", RetryCount: 1, Credentials: second}, event)
	if err != nil {
		t.Fatalf("redelivery: %v\n%s", err, next.log())
	}
	var r refresh.Report
	if status != 200 || json.Unmarshal(body, &r) != nil {
		t.Fatalf("redelivery: x-fc-status %d, %s; want 200 and a report\n%s", status, body, next.log())
	}
	if r.Changes != n || r.Submitted+r.Spilled != n {
		t.Errorf("redelivery answered %d changes, %d submitted, %d spilled; want %d changes, each submitted or spilled\n%s", r.Changes, r.Submitted, r.Spilled, n, next.log())
	}
	g.wg.Wait() // the calls the killed instance left in flight have been answered

	f := fatesOf(t, emu.Calls(), spillDir, urls)
	twice := 0
	for _, u := range urls {
		if f.accepted[u] > 1 {
			twice++
		}
	}
	if len(f.lost) > 0 {
		t.Errorf("%d of %d URLs were neither accepted nor spilled, e.g. %s", len(f.lost), n, f.lost[0])
	}
	if len(f.accepted) != n {
		t.Errorf("the API accepted %d distinct URLs; want the %d of the event", len(f.accepted), n)
	}
	t.Logf("after the kill and the redelivery: %d URLs accepted, %d of them twice (sent by the killed instance: %d calls, %d held when it died); %d spilled",
		len(f.accepted), twice, g.refreshes(), g.heldCount(), f.entries)
	if twice > g.sentBeforeKill {
		t.Errorf("%d URLs accepted twice; want at most the %d the killed instance had sent", twice, g.sentBeforeKill)
	}
}

// gate passes requests to the emulator but, while holding, keeps every
// RefreshObjectCaches request after the first one until its client goes
// away, and then lets the emulator carry it out: the API did the work,
// nobody heard the answer.
type gate struct {
	next     http.Handler
	held     chan struct{} // closed when the first request is held
	firstKey string        // the access key the first instance signs with

	holding        atomic.Bool
	mu             sync.Mutex
	calls, nHeld   int
	sentBeforeKill int // URLs in the first instance's refresh calls
	wg             sync.WaitGroup
	once           sync.Once
}

func (g *gate) refreshes() int { g.mu.Lock(); defer g.mu.Unlock(); return g.calls }
func (g *gate) heldCount() int { g.mu.Lock(); defer g.mu.Unlock(); return g.nHeld }

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	params := r.URL.Query()
	action := params.Get("Action") + form.Get("Action")
	if action != "RefreshObjectCaches" || params.Get("AccessKeyId")+form.Get("AccessKeyId") != g.firstKey {
		g.next.ServeHTTP(w, r)
		return
	}
	// One of the first instance's calls: counted even when it arrives
	// after the kill (it was on its way).
	paths := params.Get("ObjectPath") + form.Get("ObjectPath")
	g.mu.Lock()
	g.calls++
	g.sentBeforeKill += len(strings.Fields(paths))
	hold := g.calls > 1 && g.holding.Load()
	if hold {
		g.nHeld++
		g.wg.Add(1)
	}
	g.mu.Unlock()
	if !hold {
		g.next.ServeHTTP(w, r)
		return
	}
	defer g.wg.Done()
	g.once.Do(func() { close(g.held) })
	<-r.Context().Done() // the client is gone
	g.next.ServeHTTP(w, r)
}

// asFunction, set in a process's environment, makes this test binary run
// as the oss-refresh function, as functions/oss-refresh's main does (see
// TestMain): the kill test starts and kills real function processes
// without building one.
const asFunction = "CDNREFRESH_TEST_RUN_AS_FUNCTION"

func TestMain(m *testing.M) {
	if os.Getenv(asFunction) == "oss-refresh" {
		os.Exit(app.Main("oss-refresh", functions.OSSRefresh)) // serves until killed or interrupted
	}
	// The parallel tests wait on function processes and signals far more
	// than they compute.
	testrun.Main(m, 4)
}

// functionBinary returns the program that runs the oss-refresh function:
// the test binary itself, which TestMain turns into the function.
func functionBinary(t *testing.T) string {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatalf("find the test binary: %v", err)
	}
	return bin
}

// function is the function binary running as FC runs a custom runtime.
type function struct {
	cmd *exec.Cmd
	url string
	out testrun.Buffer // the process's output, line by line
}

func (f *function) log() string { return f.out.String() }

// startFunction starts bin with env (and nothing else of this process's
// environment), listening on a free port, and waits until it serves.
func startFunction(t *testing.T, bin string, env []string, instance string) *function {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	f := &function{url: "http://127.0.0.1:" + strconv.Itoa(port)}
	f.cmd = exec.Command(bin)
	f.cmd.Env = append(env, asFunction+"=oss-refresh", "FC_CUSTOM_LISTEN_PORT="+strconv.Itoa(port), "FC_INSTANCE_ID="+instance)
	stdout, err := f.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	f.cmd.Stderr = f.cmd.Stdout
	if err := f.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		if f.cmd.ProcessState == nil {
			_ = f.cmd.Process.Signal(os.Interrupt)
			_ = f.cmd.Wait()
		}
	})
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var once sync.Once
		for sc.Scan() {
			f.out.Write([]byte(sc.Text() + "\n")) // one write a line: log() never sees half of one
			if strings.Contains(sc.Text(), "fc runtime listening") {
				once.Do(func() { close(listening) })
			}
		}
		once.Do(func() { close(listening) }) // exited: the dial below fails
	}()
	select {
	case <-listening:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start within 30 s\n%s", instance, f.log())
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		t.Fatalf("%s is not serving: %v\n%s", instance, err, f.log())
	}
	c.Close()
	return f
}

// kill ends the process with SIGKILL, as a crashed or reclaimed instance
// ends: no shutdown, no spill.
func (f *function) kill(t *testing.T) {
	t.Helper()
	if err := f.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	_ = f.cmd.Wait() // "signal: killed"
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
