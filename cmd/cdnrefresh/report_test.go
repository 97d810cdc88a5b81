package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
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

// TestReportExitCodes: cron and CI can tell a report that could not read
// the quota, or reach a channel, from a good one: both exit 1.
func TestReportExitCodes(t *testing.T) {
	robot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/refuse" {
			http.Error(w, "forbidden", http.StatusForbidden)
		}
	}))
	defer robot.Close()
	tests := []struct {
		name     string
		args     []string
		faults   cdn.Faults
		hook     string // path of the channel's URL on robot
		wantCode int
		wantErr  string
	}{
		{"clean", nil, cdn.Faults{}, "/ok", 0, ""},
		{"quota unreadable", nil, cdn.Faults{Throttle: 1, Actions: []string{refresh.APIQuota}}, "/ok", 1, "the CDN quota could not be read"},
		{"sent", []string{"--send"}, cdn.Faults{}, "/ok", 0, ""},
		{"a channel failed", []string{"--send"}, cdn.Faults{}, "/refuse", 1, "1 of 1 channels failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStand(t, cdn.Options{})
			s.emu.Inject(tt.faults)
			t.Setenv("HOOK_URL", robot.URL+tt.hook)
			cfg := writeFile(t, t.TempDir(), "config.yaml", "rules:\n  - {bucket: my-site, domains: [static.example.com]}\n"+
				"spill: {dir: "+t.TempDir()+"}\nreport: {when: always}\nnotify:\n  channels:\n    - {type: webhook, url: \"${HOOK_URL}\"}\n")
			code, stdout, stderr := s.run(t, "", append([]string{"report", "--config", cfg}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("report %v: exit %d, stderr %q; want exit %d and %q\n%s", tt.args, code, stderr, tt.wantCode, tt.wantErr, stdout)
			}
		})
	}
}
