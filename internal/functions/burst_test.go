package functions_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cdnrefresh/cdnrefresh/internal/app/apptest"
	"github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/spill"
)

// burst returns the OSS event of n changed objects under static/app/ of
// bucket my-site, and the URL killConfig maps each to.
func burst(n int) (event []byte, urls []string) {
	keys := make([]string, n)
	urls = make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("static/app/%04d.js", i)
		urls[i] = "https://static.example.com/" + strings.TrimPrefix(keys[i], "static/")
	}
	return apptest.OSSEvent("my-site", "663DA2EF9C0E4B3837A1C2F1", keys...), urls
}

// killEnv writes killConfig into a temporary directory and returns the
// environment that runs the function on it against the API at endpoint,
// spilling into the returned directory.
func killEnv(t *testing.T, endpoint string) (env []string, spillDir string) {
	t.Helper()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, []byte(killConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	spillDir = filepath.Join(dir, "spill")
	return []string{
		"CDNREFRESH_CONFIG=" + cfgFile,
		"CDNREFRESH_CDN_ENDPOINT=" + endpoint,
		"CDNREFRESH_SPILL_DIR=" + spillDir,
	}, spillDir
}

// fates tells, for each URL, how often the API accepted it and whether it
// is in the spill at spillDir; lost are the URLs of urls that are neither.
type fates struct {
	accepted map[string]int
	spilled  map[string]bool
	entries  int
	lost     []string
}

func fatesOf(t *testing.T, calls []cdn.Call, spillDir string, urls []string) fates {
	t.Helper()
	f := fates{accepted: map[string]int{}, spilled: map[string]bool{}}
	for _, c := range calls {
		if c.Action == "RefreshObjectCaches" {
			for _, u := range c.URLs {
				f.accepted[u]++
			}
		}
	}
	store, err := spill.NewFiles(spillDir)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := store.Load(t.Context())
	if err != nil {
		t.Fatalf("load the spill: %v", err)
	}
	f.entries = len(entries)
	for _, e := range entries {
		f.spilled[e.Pending.Job.URL] = true
	}
	for _, u := range urls {
		if f.accepted[u] == 0 && !f.spilled[u] {
			f.lost = append(f.lost, u)
		}
	}
	return f
}
