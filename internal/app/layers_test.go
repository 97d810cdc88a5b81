package app_test

import (
	"bytes"
	"errors"
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/cdnrefresh/cdnrefresh/"

// adapters are the packages of the flow around refresh, each with the
// packages of ours it may import besides refresh: its partner in one
// concern (rules read from config; notify sends what report renders;
// window dials Redis through redisconn; platform picks one of its two
// runtimes), never another adapter.
var adapters = map[string][]string{
	"internal/alicdn":           nil,
	"internal/config":           nil,
	"internal/notify":           {"internal/report"},
	"internal/plan":             nil,
	"internal/platform":         {"internal/platform/fc", "internal/platform/lambda"},
	"internal/platform/fc":      nil,
	"internal/platform/lambda":  nil,
	"internal/report":           nil,
	"internal/spill":            nil,
	"internal/trigger":          nil,
	"internal/urlmap":           {"internal/config"},
	"internal/webhook":          nil,
	"internal/window":           {"internal/window/redisconn"},
	"internal/window/redisconn": nil,
}

// TestLayers holds the package map to what the design says: refresh, the
// core, imports no package of ours; every adapter imports refresh and its
// partner at most, so that adapters meet only in the assembly (this
// package, and the functions' handlers in internal/functions); and the
// assembly, its tests aside, stays within 450 lines.
func TestLayers(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	ours := func(rel string) []string {
		t.Helper()
		p, err := build.ImportDir(filepath.Join(root, rel), 0)
		if err != nil {
			t.Fatalf("read %s: %v", rel, err)
		}
		var out []string
		for _, imp := range p.Imports {
			if s, ok := strings.CutPrefix(imp, module); ok {
				out = append(out, s)
			}
		}
		return out
	}
	if got := ours("internal/refresh"); len(got) != 0 {
		t.Errorf("internal/refresh imports %q; the core imports no package of ours", got)
	}
	for pkg, partners := range adapters {
		for _, imp := range ours(pkg) {
			if imp != "internal/refresh" && !slices.Contains(partners, imp) {
				t.Errorf("%s imports %s: an adapter imports refresh and %q at most", pkg, imp, partners)
			}
		}
	}
	// Every package under internal/ is an adapter, the core, or one of
	// these, so that a new package is placed on purpose.
	others := []string{"internal/app", "internal/app/apptest", "internal/deploy", "internal/emulator/cdn",
		"internal/emulator/oss", "internal/functions", "internal/refresh", "internal/testrun", "internal/window/redistest"}
	err := filepath.WalkDir(filepath.Join(root, "internal"), func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if d.Name() == "testdata" {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if _, err := build.ImportDir(path, 0); err != nil {
			if _, ok := errors.AsType[*build.NoGoError](err); !ok {
				t.Errorf("read %s: %v", rel, err)
			}
			return nil
		}
		if _, ok := adapters[rel]; !ok && !slices.Contains(others, rel) {
			t.Errorf("%s is neither an adapter nor a known package: add it to TestLayers", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	lines := 0
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines += bytes.Count(src, []byte("\n"))
	}
	if lines == 0 || lines > 450 {
		t.Errorf("internal/app holds %d lines of Go besides its tests; the assembly stays within 450", lines)
	}
}
