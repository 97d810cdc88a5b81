package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/app/apptest"
	emu "github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/trigger"
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
			checkGolden(t, strings.TrimSuffix(ev, ".json")+".golden", stdout.Bytes())
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

// TestAPIsEndToEnd sends the OSS event of testdata/apis through the
// pipeline, as oss-refresh runs it, to the CDN API emulator: every call of
// the plan reaches its API through the real SDK, cache tags included.
// Against an API that accepts only ExQuery, the IgnoreParams call is
// refused once and sent again as ExQuery; against one that accepts only
// IgnoreParams, nothing is refused.
func TestAPIsEndToEnd(t *testing.T) {
	cfg, err := os.ReadFile("testdata/apis/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/apis/oss-put-objects.json")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := trigger.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, spelling := range []string{emu.SpellExQuery, emu.SpellIgnoreParams} {
		t.Run(spelling, func(t *testing.T) {
			e, endpoint := apptest.Emulator(t, emu.Options{IgnoreParamsSpelling: spelling})
			a := apptest.NewApp(t, string(cfg)+"window: {duration: 10ms}\n", endpoint, nil, app.Options{})
			r, err := a.Pipeline.Run(context.Background(), ev)
			// 12 jobs: 5 URL refreshes, an Edge Routine refresh, a
			// prefetch, 5 tags of which 2 repeat another key's.
			if err != nil || r.Submitted != 10 || r.Duplicate != 2 || r.Spilled != 0 || r.Rejected != 0 {
				t.Fatalf("Run = %+v, %v; want 10 jobs submitted, 2 duplicate, none spilled or rejected", r, err)
			}
			var got []string
			for _, c := range e.Calls() {
				if !strings.HasPrefix(c.Action, "Describe") {
					got = append(got, fmt.Sprint(c.Action, " ", c.ObjectType, " ", c.Domain, c.CacheTags, " ", c.RoutineID, c.MergeDomains, " ", c.QueryHashkey, " ", c.URLs))
				}
			}
			want := []string{
				"RefreshObjectCacheByCacheTag  www.example.com[img/products site] [] false []",
				"RefreshObjectCaches File [] [] false [https://static.example.com/assets/app.js https://www.example.com/img/products/42.png https://www.example.com/img/products/43.png]",
				"RefreshObjectCaches " + spelling + " [] [] false [https://www.example.com/search/results.json]",
				"RefreshDcdnObjectCacheByCacheTag  edge.example.com[page-about.html] [] false []",
				"RefreshDcdnObjectCaches IgnoreParams [] [] false [https://edge.example.com/pages/about.html]",
				"RefreshErObjectCaches IgnoreParams [] render.edge[m.example.com] false [https://edge.example.com/pages/about.html]",
				"PushObjectCache  [] [] true [https://static.example.com/assets/app.js]",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("calls the API accepted (-want +got):\n%s", diff)
			}
			wantRefused := map[string]int{}
			if spelling == emu.SpellExQuery {
				wantRefused["InvalidObjectType.Malformed"] = 1
			}
			if diff := cmp.Diff(wantRefused, e.Stats().Refused); diff != "" {
				t.Errorf("refused calls (-want +got):\n%s", diff)
			}
		})
	}
}
