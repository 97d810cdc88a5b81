package spill_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/spill"
)

func TestNewFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dir     string
		wantErr string
	}{
		{"creates nested directories", filepath.Join(root, "var", "spill"), ""},
		{"existing directory", root, ""},
		{"empty", "", "directory is empty"},
		{"under a file", filepath.Join(file, "spill"), "create directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := spill.NewFiles(tt.dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("NewFiles(%q) = %v, want an error containing %q", tt.dir, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewFiles(%q) error: %v", tt.dir, err)
			}
			fi, err := os.Stat(tt.dir)
			if err != nil || !fi.IsDir() {
				t.Fatalf("Stat(%q) = %v, %v; want a directory", tt.dir, fi, err)
			}
		})
	}
}

func TestFilesLayout(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "spill")
	s, err := spill.NewFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("Stat(%q) mode = %v, %v; want 0700", dir, fi.Mode().Perm(), err)
	}
	// A temporary file left by a crashed writer is not data.
	if err := os.WriteFile(filepath.Join(dir, ".tmp-123"), []byte("half a batch"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustSpill(t, s, pending("a", "r", 1))

	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var spilled []os.DirEntry
	for _, de := range des {
		if !strings.HasPrefix(de.Name(), ".tmp-") {
			spilled = append(spilled, de)
		}
	}
	if len(spilled) != 1 {
		t.Fatalf("directory holds %v, want one spill file beside the stale temporary", des)
	}
	name := spilled[0].Name()
	if len(name) != len("00000000000000000000-0123456789abcdef.json") || !strings.HasSuffix(name, ".json") {
		t.Errorf("spill file name = %q, want <20 digits>-<16 hex>.json", name)
	}
	fi, err := spilled[0].Info()
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("spill file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if diff := cmp.Diff([]refresh.Pending{pending("a", "r", 1)}, pendings(mustLoad(t, s))); diff != "" {
		t.Errorf("Load mismatch (-want +got):\n%s", diff)
	}
}

func TestFilesMissingDirectory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "spill")
	s, err := spill.NewFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := s.Spill(t.Context(), []refresh.Pending{pending("a", "r", 1)}); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Spill into a removed directory = %v, want an error naming %s", err, dir)
	}
	if _, err := s.Load(t.Context()); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Load of a removed directory = %v, want an error naming %s", err, dir)
	}
}
