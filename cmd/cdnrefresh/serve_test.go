package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	emu "github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
)

// readmeBlocks returns the ```sh blocks of the README section that starts
// with heading and ends at the next heading of its level.
func readmeBlocks(t *testing.T, heading string) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README has no section %q", heading)
	}
	s = s[i+len(heading)+2:]
	level := heading[:strings.IndexByte(heading, ' ')+1]
	if j := strings.Index(s, "\n"+level); j >= 0 {
		s = s[:j]
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(s, -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

// TestServeWebhookREADME runs `cdnrefresh serve webhook` against the CDN
// emulator as the README's webhook section sets it up, then runs the
// README's signing recipe — the openssl pipeline and the curl call —
// exactly as printed, and checks the answer is the webhook's 202.
func TestServeWebhookREADME(t *testing.T) {
	for _, prog := range []string{"bash", "openssl", "curl"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Skipf("%s is not installed: the README's recipe needs it", prog)
		}
	}
	var setup, recipe string
	for _, b := range readmeBlocks(t, "### webhook") {
		switch {
		case strings.Contains(b, "serve webhook"):
			setup = b
		case strings.Contains(b, "openssl dgst"):
			recipe = b
		}
	}
	if !strings.Contains(setup, "bin/cdnrefresh serve webhook --config events/config.yaml --addr 127.0.0.1:8080 &") {
		t.Fatalf("README's webhook section does not start serve webhook as this test does:\n%s", setup)
	}
	if recipe == "" {
		t.Fatal("README's webhook section has no openssl signing recipe")
	}

	c := emu.New(emu.Options{TaskDuration: -1})
	api := httptest.NewServer(c)
	t.Cleanup(api.Close)
	const secret = "0123456789abcdef0123456789abcdef" // as openssl rand -hex 16 prints
	t.Setenv("CDNREFRESH_CDN_ENDPOINT", api.URL)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", emu.AccessKeyID)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", emu.AccessKeySecret)
	t.Setenv("CDNREFRESH_WEBHOOK_SECRET", secret)
	t.Setenv("CDNREFRESH_CONFIG_YAML", "")
	// The README's config, with its spill directory out of the checkout.
	example, err := os.ReadFile("../../events/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	spillDir := filepath.Join(t.TempDir(), "spill")
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(example), "dir: var/spill", "dir: "+spillDir, 1)), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "webhook", "--config", cfg, "--addr", "127.0.0.1:0"}, nil, pw, io.Discard)
		pw.Close()
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve webhook exited %d after cancel, want 0", code)
		}
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatal("serve webhook printed nothing")
	}
	addr, ok := strings.CutPrefix(sc.Text(), "listening on http://")
	if !ok {
		t.Fatalf("serve webhook's first line = %q, want \"listening on http://ADDR\"", sc.Text())
	}
	go io.Copy(io.Discard, pr)

	cmd := exec.Command("bash", "-e", "-c", recipe)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "URL=http://" + addr, "CDNREFRESH_WEBHOOK_SECRET=" + secret}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the README's recipe failed: %v\nstdout: %s", err, out)
	}
	var a struct {
		Error     string   `json:"error"`
		Accepted  int      `json:"accepted"`
		Submitted int      `json:"submitted"`
		Tasks     []string `json:"tasks"`
	}
	if err := json.Unmarshal(out, &a); err != nil || a.Error != "" || a.Accepted != 1 || a.Submitted != 1 || len(a.Tasks) != 1 {
		t.Fatalf("the README's recipe got %s (%v); want the 202 answer with the one URL accepted and submitted", out, err)
	}
	calls := c.Calls()
	if len(calls) == 0 || calls[len(calls)-1].Action != "RefreshObjectCaches" || strings.Join(calls[len(calls)-1].URLs, " ") != "https://www.example.com/a.html" {
		t.Errorf("the CDN API received %+v, want one RefreshObjectCaches of https://www.example.com/a.html", calls)
	}
}
