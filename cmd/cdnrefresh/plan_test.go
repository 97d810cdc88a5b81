package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestPlanGolden runs `cdnrefresh plan` on every OSS and S3 sample in
// events/ and compares its JSON with testdata/plan/<sample>.
func TestPlanGolden(t *testing.T) {
	samples, err := demoSamples("../../events")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		name := filepath.Base(s)
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"plan", "--config", "../../events/config.yaml", "--event", s}, nil, &stdout, &stderr)
			if code != 0 {
				t.Fatalf("plan %s: exit %d: %s", name, code, stderr.String())
			}
			var doc struct {
				Calls []struct {
					API        string   `json:"api"`
					ObjectType string   `json:"object_type"`
					URLs       []string `json:"urls"`
				} `json:"calls"`
				Ignored []struct{ Key, Reason string } `json:"ignored"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil || doc.Calls == nil || doc.Ignored == nil {
				t.Fatalf("plan output is not the documented JSON (calls, ignored): %v\n%s", err, stdout.String())
			}
			checkGolden(t, filepath.Join("testdata/plan", name), stdout.Bytes())
		})
	}
}

// checkGolden compares got with the golden file, which -update rewrites.
func checkGolden(t *testing.T, golden string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/cdnrefresh -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", golden, diff)
	}
}

func TestPlanErrors(t *testing.T) {
	t.Setenv("CDNREFRESH_WEBHOOK_SECRET", "") // serve webhook must find none
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"events":"nope"}`), 0o644)
	badConfig := filepath.Join(dir, "config.yaml")
	os.WriteFile(badConfig, []byte("rules: [{bucket: b, domains: [d.example.com]}]\nlimits: {dir_reserve: 500}\n"), 0o644)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no flags", []string{"plan"}, 2, "--config and --event are required"},
		{"missing event file", []string{"plan", "--config", "../../events/config.yaml", "--event", filepath.Join(dir, "none.json")}, 1, "no such file"},
		{"malformed event", []string{"plan", "--config", "../../events/config.yaml", "--event", bad}, 1, "bad.json: trigger:"},
		{"unknown command", []string{"plna"}, 2, `unknown command "plna"`},
		{"config not valid", []string{"plan", "--config", badConfig, "--event", bad}, 2, "limits.dir_reserve: must be 0 to 100"},
		{"serve webhook without its secret", []string{"serve", "webhook", "--config", "../../events/config.yaml", "--addr", "127.0.0.1:0"}, 2, "secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, nil, &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("run(%q) = %d, stderr %q; want %d and %q", tt.args, code, stderr.String(), tt.wantCode, tt.wantErr)
			}
		})
	}
}
