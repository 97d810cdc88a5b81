package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/cdn"
	emu "github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
)

// TestEmulatorCommand starts `cdnrefresh emulator`, reads the address from
// its first line, as the README promises, and calls it with the real SDK.
func TestEmulatorCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"emulator", "--addr", "127.0.0.1:0", "--oss-addr", "127.0.0.1:0"}, nil, pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatal("no output")
	}
	first := sc.Text()
	addr, ok := strings.CutPrefix(first, "listening on http://")
	if !ok {
		t.Fatalf("first line %q, want \"listening on http://ADDR\"", first)
	}
	var rest []string
	for sc.Scan() {
		rest = append(rest, sc.Text())
		if len(rest) == 4 {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if !strings.HasPrefix(rest[2], "listening on http://") {
		t.Errorf("OSS emulator line = %q, want \"listening on http://...\"", rest[2])
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	client, err := cdn.NewClientWithAccessKey("cn-hangzhou", emu.AccessKeyID, emu.AccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	client.Domain = addr
	resp, err := client.DescribeRefreshQuota(cdn.CreateDescribeRefreshQuotaRequest())
	if err != nil {
		t.Fatalf("DescribeRefreshQuota against the emulator: %v", err)
	}
	if resp.UrlQuota != "10000" {
		t.Errorf("UrlQuota = %q, want 10000", resp.UrlQuota)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("emulator exited %d after cancel, want 0", code)
	}
}

// TestRefreshCommand refreshes a URL list by hand through the pipeline.
func TestRefreshCommand(t *testing.T) {
	e := emu.New(emu.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Serve(ctx, ln)
	t.Setenv("CDNREFRESH_CDN_ENDPOINT", "http://"+ln.Addr().String())
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", emu.AccessKeyID)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", emu.AccessKeySecret)
	t.Setenv("CDNREFRESH_SPILL_DIR", t.TempDir())

	in := strings.NewReader("# deploy 42\nhttps://static.example.com/a.css\n\nhttps://static.example.com/b.js\nhttps://evil.example.net/x\n")
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"refresh", "--config", "../../events/config.yaml", "--quiet"}, in, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("refresh: exit %d: %s", code, stderr.String())
	}
	var r struct{ Changes, Submitted, Rejected int }
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("output %s: %v", stdout.String(), err)
	}
	if r.Changes != 3 || r.Submitted != 2 || r.Rejected != 1 {
		t.Errorf("refresh answered %+v, want 3 changes, 2 submitted, 1 rejected", r)
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
