package app

import (
	"context"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/config"
	"github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// closedPort returns a loopback address nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestSelfCheck: a deployment missing a part says which, once, at ERROR,
// with the cause and what to set; a whole one says it passed.
func TestSelfCheck(t *testing.T) {
	t.Parallel()
	emu := httptest.NewServer(cdn.New(cdn.Options{}))
	t.Cleanup(emu.Close)
	down := closedPort(t)
	tests := []struct {
		name     string
		env      map[string]string
		redis    string
		gone     bool     // the spill directory is replaced by a file after the cold start
		wantLogs []string // in order of the log's lines; each must appear
		wantErrs int
	}{
		{name: "whole", wantLogs: []string{`"level":"INFO","msg":"self-check passed: CDN API, spill store"`}},
		{
			name:     "no credentials",
			env:      map[string]string{config.EnvAccessKeyID: "", config.EnvAccessKeySecret: ""},
			wantLogs: []string{`self-check: CDN API is not usable`, `no credentials: give the function a role`},
			wantErrs: 1,
		},
		{
			name:     "endpoint down",
			env:      map[string]string{config.EnvCDNEndpoint: "http://" + down},
			wantLogs: []string{`self-check: CDN API is not usable`, "http://" + down, "connection refused", "check CDNREFRESH_CDN_ENDPOINT"},
			wantErrs: 1,
		},
		{
			name:     "spill store not writable",
			gone:     true,
			wantLogs: []string{`self-check: spill store is not usable`, "is not writable", "check spill.dir"},
			wantErrs: 1,
		},
		{
			name:     "redis down",
			redis:    "redis://" + down,
			wantLogs: []string{`self-check: redis is not usable`, down, "CDNREFRESH_REDIS_URL"},
			wantErrs: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{
				config.EnvCDNEndpoint:     emu.URL,
				config.EnvAccessKeyID:     cdn.AccessKeyID,
				config.EnvAccessKeySecret: cdn.AccessKeySecret,
				config.EnvSpillDir:        t.TempDir(),
				"REDIS":                   tt.redis,
			}
			for k, v := range tt.env {
				env[k] = v
			}
			yaml := "rules:\n  - {bucket: b, domains: [d.example.com]}\n"
			if tt.redis != "" {
				yaml += "window: {redis_url: \"${REDIS}\"}\n"
			}
			cfg, err := config.Parse([]byte(yaml), func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			log := slog.New(slog.NewJSONHandler(&out, nil))
			a, err := New(context.Background(), cfg, Options{Logger: log, Sleep: func(context.Context, time.Duration) error { return nil }})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			if tt.gone {
				dir := env[config.EnvSpillDir]
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(dir, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			newSelfCheck(a, log).check(refresh.WithCredentials(context.Background(), refresh.Credentials{}))
			got := out.String()
			for _, w := range tt.wantLogs {
				if !strings.Contains(got, w) {
					t.Errorf("log lacks %q:\n%s", w, got)
				}
			}
			if n := strings.Count(got, `"level":"ERROR"`); n != tt.wantErrs {
				t.Errorf("%d errors logged, want %d:\n%s", n, tt.wantErrs, got)
			}
			if strings.Contains(got, cdn.AccessKeySecret) {
				t.Errorf("the log holds the access key secret:\n%s", got)
			}
		})
	}
}
