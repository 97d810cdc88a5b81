package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDeployCheck runs `cdnrefresh deploy-check` on this checkout: it
// passes, and prints what a deploy creates and what the deployer supplies.
// The checks themselves (each function its own role and only its own
// secrets, no grant the code does not use, the spill outside every watched
// prefix, ...) and their failures are tested in internal/deploy.
func TestDeployCheck(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"deploy-check", "--root", "../..", "--config", "deploy/config.yaml"}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("deploy-check = exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{
		"Function Compute: s deploy would create",
		"ROS stack cdnrefresh (deploy/ros.yaml, region cn-hangzhou):",
		"function cdnrefresh-webhook (custom.debian12, dist/fc/webhook.zip), role cdnrefresh-webhook",
		"sam deploy (template.yml):",
		"You supply:",
		"no problems",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("deploy-check output lacks %q:\n%s", want, stdout.String())
		}
	}
}

// TestDeployCheckFails: a gap makes the command fail, naming it: here the
// descriptors without the functions/ they deploy.
func TestDeployCheckFails(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"s.yaml", "template.yml", "deploy/ros.yaml", "deploy/lambda.s.yaml", "deploy/config.yaml"} {
		data, err := os.ReadFile(filepath.Join("../..", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"deploy-check", "--root", root}, nil, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("deploy-check with gaps = exit %d, want 1\n%s", code, stdout.String())
	}
	for _, want := range []string{
		"there is no functions/oss-refresh for make package to build",
		"problem(s) in the deployment descriptors",
	} {
		if !strings.Contains(stdout.String()+stderr.String(), want) {
			t.Errorf("deploy-check output lacks %q:\n%s%s", want, stdout.String(), stderr.String())
		}
	}
}

// TestPackageReproducible: the same inputs give the same zip, whatever the
// inputs' times and permissions, and its size is printed.
func TestPackageReproducible(t *testing.T) {
	dir := t.TempDir()
	bootstrap, cfg := filepath.Join(dir, "bootstrap"), filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(bootstrap, bytes.Repeat([]byte("binary"), 1<<16), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("rules: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pack := func(out string) []byte {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"package", "-o", out, "bootstrap=" + bootstrap, "config.yaml=" + cfg}, nil, &stdout, &stderr)
		if code != 0 {
			t.Fatalf("package = exit %d: %s", code, stderr.String())
		}
		if !strings.Contains(stdout.String(), out) || !strings.Contains(stdout.String(), "MiB  (2 files)") {
			t.Errorf("package printed %q, want the zip, its size and file count", stdout.String())
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	first := pack(filepath.Join(dir, "fc", "a.zip"))
	later := time.Now().Add(-48 * time.Hour)
	for _, f := range []string{bootstrap, cfg} {
		if err := os.Chtimes(f, later, later); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(f, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if second := pack(filepath.Join(dir, "lambda", "b.zip")); !bytes.Equal(first, second) {
		t.Error("package gave other bytes for the same inputs")
	}
}
