package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
)

// TestReportCommand runs `cdnrefresh report` against the emulator holding
// failed tasks and checks the printed report.
func TestReportCommand(t *testing.T) {
	emu := cdn.New(cdn.Options{URLQuota: 1000})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go serve(ctx, ln, emu)
	for i := range 3 {
		id := emu.AddTask(cdn.Task{ObjectPath: "https://static.example.com/f/" + string(rune('a'+i)), ObjectType: "file", Created: time.Now().Add(-time.Hour)})
		emu.FailTask(id, "OriginTimeout")
	}
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(cfg, []byte("rules:\n  - {bucket: my-site, domains: [static.example.com]}\nspill: {dir: "+t.TempDir()+"}\n"), 0o600)
	t.Setenv("CDNREFRESH_CDN_ENDPOINT", "http://"+ln.Addr().String())
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", cdn.AccessKeyID)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", cdn.AccessKeySecret)

	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"report", "--config", cfg}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"3 failed", "OriginTimeout", "1000"} {
		if !strings.Contains(out, want) {
			t.Errorf("report output lacks %q:\n%s", want, out)
		}
	}
}
