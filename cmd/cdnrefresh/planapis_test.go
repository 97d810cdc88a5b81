package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPlanAPIs runs `cdnrefresh plan` on the events of testdata/apis with
// its config, whose rules reach every refresh API (cache tags, Edge
// Routine caches, IgnoreParams with both CDN spellings, QueryHashkey), and
// compares the JSON with testdata/apis/<event>.golden.
func TestPlanAPIs(t *testing.T) {
	events, err := filepath.Glob("testdata/apis/oss-*.json")
	if err != nil || len(events) == 0 {
		t.Fatalf("no events in testdata/apis: %v", err)
	}
	seen := map[string]bool{}
	for _, ev := range events {
		name := filepath.Base(ev)
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"plan", "--config", "testdata/apis/config.yaml", "--event", ev}, nil, &stdout, &stderr)
			if code != 0 {
				t.Fatalf("plan %s: exit %d: %s", name, code, stderr.String())
			}
			golden := strings.TrimSuffix(ev, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, stdout.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/cdnrefresh -update)", err)
			}
			if diff := cmp.Diff(string(want), stdout.String()); diff != "" {
				t.Errorf("plan %s (-want +got):\n%s", name, diff)
			}
			for _, api := range []string{"RefreshObjectCacheByCacheTag", "RefreshDcdnObjectCacheByCacheTag", "RefreshErObjectCaches", `"ExQuery"`, `"IgnoreParams"`} {
				if strings.Contains(stdout.String(), api) {
					seen[api] = true
				}
			}
		})
	}
	for _, api := range []string{"RefreshObjectCacheByCacheTag", "RefreshDcdnObjectCacheByCacheTag", "RefreshErObjectCaches", `"ExQuery"`, `"IgnoreParams"`} {
		if !seen[api] {
			t.Errorf("no plan of testdata/apis shows %s", api)
		}
	}
}
