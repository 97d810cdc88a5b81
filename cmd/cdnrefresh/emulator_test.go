package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/cdn"
	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	emu "github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
)

// startEmulator runs `cdnrefresh emulator args...` until the test ends and
// returns the CDN and OSS addresses from its output, where the first line
// is "listening on http://ADDR", as the README promises.
func startEmulator(t *testing.T, args ...string) (cdnAddr, ossAddr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"emulator", "--addr", "127.0.0.1:0", "--oss-addr", "127.0.0.1:0"}, args...), nil, pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("emulator exited %d after cancel, want 0", code)
		}
	})
	sc := bufio.NewScanner(pr)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if addr, ok := strings.CutPrefix(sc.Text(), "listening on http://"); ok {
			if cdnAddr == "" {
				cdnAddr = addr
			} else {
				ossAddr = addr
				break
			}
		}
	}
	go io.Copy(io.Discard, pr)
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "listening on http://") {
		t.Fatalf("output %q, want a first line \"listening on http://ADDR\"", lines)
	}
	if ossAddr == "" {
		t.Fatalf("output %q names no OSS address", lines)
	}
	return cdnAddr, ossAddr
}

// sdkClient returns the SDK's core client aimed at the emulator at addr.
// It sends the typed requests of services/cdn as cdn.Client's methods do
// (DoAction), without linking cdn.Client's hundreds of methods into the
// test binary.
func sdkClient(t *testing.T, addr string) *sdk.Client {
	t.Helper()
	c, err := sdk.NewClientWithOptions("cn-hangzhou", sdk.NewConfig(), credentials.NewAccessKeyCredential(emu.AccessKeyID, emu.AccessKeySecret))
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = addr
	return c
}

// TestEmulatorCommand starts `cdnrefresh emulator` with limits and faults
// from flags and calls both emulators with the real SDKs.
func TestEmulatorCommand(t *testing.T) {
	addr, ossAddr := startEmulator(t, "--quota-urls", "5", "--throttle-status", "503", "--calls-per-second", "DescribeRefreshQuota=1")
	client := sdkClient(t, addr)
	resp := cdn.CreateDescribeRefreshQuotaResponse()
	if err := client.DoAction(cdn.CreateDescribeRefreshQuotaRequest(), resp); err != nil {
		t.Fatalf("DescribeRefreshQuota against the emulator: %v", err)
	}
	if resp.UrlQuota != "5" {
		t.Errorf("UrlQuota = %q, want 5 (--quota-urls)", resp.UrlQuota)
	}
	err := client.DoAction(cdn.CreateDescribeRefreshQuotaRequest(), cdn.CreateDescribeRefreshQuotaResponse())
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) || se.HttpStatus() != 503 || se.ErrorCode() != "Throttling" {
		t.Errorf("second DescribeRefreshQuota in a second = %v, want 503 Throttling (--calls-per-second, --throttle-status)", err)
	}

	stats := getJSON(t, "http://"+addr+"/_emulator/stats")
	if calls := stats["calls"].(map[string]any)["DescribeRefreshQuota"]; calls != 2.0 {
		t.Errorf("/_emulator/stats calls = %v, want 2 DescribeRefreshQuota", stats["calls"])
	}

	o, err := oss.New("http://"+ossAddr, emu.AccessKeyID, emu.AccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	b, err := o.Bucket("my-site")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.PutObject("a.txt", strings.NewReader("x")); err != nil {
		t.Errorf("PutObject to the OSS emulator: %v", err)
	}
}

func getJSON(t *testing.T, url string) map[string]any {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d, %v", url, resp.StatusCode, err)
	}
	return m
}

// TestEmulatorEvents runs the emulator with --cdn-events-url and checks
// that a finished refresh reaches the function as FC's CDN event trigger
// would post it.
func TestEmulatorEvents(t *testing.T) {
	got := make(chan *http.Request, 1)
	bodies := make(chan emu.CDNEvents, 1)
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev emu.CDNEvents
		json.NewDecoder(r.Body).Decode(&ev)
		got <- r
		bodies <- ev
		w.Header().Set("x-fc-status", "200")
	}))
	defer fn.Close()
	addr, _ := startEmulator(t, "--cdn-events-url", fn.URL, "--task-seconds", "0.2")
	req := cdn.CreateRefreshObjectCachesRequest()
	req.ObjectPath = "https://static.example.com/a.css"
	if err := sdkClient(t, addr).DoAction(req, cdn.CreateRefreshObjectCachesResponse()); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		ev := <-bodies
		if r.URL.Path != "/invoke" || r.Header.Get("x-fc-control-path") != "/invoke" {
			t.Errorf("event posted to %s with control path %q, want /invoke", r.URL.Path, r.Header.Get("x-fc-control-path"))
		}
		if len(ev.Events) != 1 || ev.Events[0].EventName != "CachedObjectsRefreshed" || strings.Join(ev.Events[0].EventParameter.ObjectPath, " ") != "/a.css" {
			t.Errorf("event = %+v, want CachedObjectsRefreshed of /a.css", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s of a 0.2 s task")
	}
}

// TestEmulatorFlags checks that bad flag values are refused with a usage
// error naming the flag's value.
func TestEmulatorFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--throttle-status", "500"}, "throttle status 500"},
		{[]string{"--ignore-params-spelling", "Query"}, `spelling "Query"`},
		{[]string{"--throttle-rate", "1.5"}, "throttle rate 1.5"},
		{[]string{"--task-fail-rate", "-1"}, "task fail rate -1"},
		{[]string{"--cdn-events-url", "ftp://x"}, `event target "ftp://x"`},
		{[]string{"--calls-per-second", "RefreshObjectCaches"}, `"RefreshObjectCaches" is not ACTION=N`},
		{[]string{"--calls-per-second", "Refresh=1"}, `action "Refresh"`},
		{[]string{"--delay", "soon"}, "invalid value"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(context.Background(), append([]string{"emulator", "--addr", "127.0.0.1:0", "--oss-addr", ""}, tt.args...), nil, io.Discard, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("emulator %v: exit %d, stderr %q; want exit 2 and %q", tt.args, code, stderr.String(), tt.want)
			}
		})
	}
}

// TestRefreshCommand refreshes a URL list by hand through the pipeline
// with the example config, from another directory, where the leftovers
// file lands by default: nothing is written into the source tree.
func TestRefreshCommand(t *testing.T) {
	cfg, err := filepath.Abs("../../events/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e := emu.New(emu.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go serve(ctx, ln, e)
	t.Setenv("CDNREFRESH_CDN_ENDPOINT", "http://"+ln.Addr().String())
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", emu.AccessKeyID)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", emu.AccessKeySecret)
	work := t.TempDir()
	t.Chdir(work)

	in := strings.NewReader("# deploy 42\nhttps://static.example.com/a.css\n\nhttps://static.example.com/b.js\nhttps://evil.example.net/x\n")
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"refresh", "--config", cfg, "--quiet", "--json"}, in, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("refresh: exit %d, want 1 (one URL rejected): %s", code, stderr.String())
	}
	var r struct {
		URLs, Submitted, Rejected int
		LeftoversFile             string `json:"leftovers_file"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("output %s: %v", stdout.String(), err)
	}
	if r.URLs != 3 || r.Submitted != 2 || r.Rejected != 1 {
		t.Errorf("refresh answered %+v, want 3 URLs, 2 submitted, 1 rejected", r)
	}
	if filepath.Dir(r.LeftoversFile) != work || !strings.HasPrefix(filepath.Base(r.LeftoversFile), "cdnrefresh-leftovers-") {
		t.Errorf("leftovers file %q, want a cdnrefresh-leftovers-TIME.txt in the working directory %s", r.LeftoversFile, work)
	}
	if _, err := os.Stat(filepath.Join(work, "var")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the config's spill directory var/ was made (%v): the CLI keeps its leftovers in the leftovers file only", err)
	}
	if !strings.Contains(stderr.String(), "line 5: https://evil.example.net/x (domain not allowed)") {
		t.Errorf("stderr does not name the rejected URL by its line:\n%s", stderr.String())
	}
	var urls []string
	for _, c := range e.Calls() {
		if c.Action == "RefreshObjectCaches" {
			urls = append(urls, c.URLs...)
		}
	}
	if strings.Join(urls, " ") != "https://static.example.com/a.css https://static.example.com/b.js" {
		t.Errorf("the API got %v", urls)
	}
}
