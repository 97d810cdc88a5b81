package deploy

import (
	"archive/zip"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"
)

// File is one entry of a package zip.
type File struct {
	Name string // its path in the zip
	Data []byte
	Exec bool // mode 0755 (bootstrap) rather than 0644
}

// zipTime is the modification time of every entry, so that the same
// inputs give the same bytes whenever and wherever they are packed.
var zipTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// WriteZip writes files to w as a zip that depends on nothing but their
// names, contents and Exec: entries sorted by name, each deflated, dated
// zipTime, with mode 0755 or 0644. Function Compute and Lambda unpack it
// and run bootstrap from its root.
func WriteZip(w io.Writer, files []File) error {
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	zw := zip.NewWriter(w)
	for i, f := range files {
		if f.Name == "" || strings.HasPrefix(f.Name, "/") || strings.Contains(f.Name, "..") {
			return fmt.Errorf("zip entry %q: want a relative path", f.Name)
		}
		if i > 0 && files[i-1].Name == f.Name {
			return fmt.Errorf("zip entry %q twice", f.Name)
		}
		h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: zipTime}
		mode := fs.FileMode(0o644)
		if f.Exec {
			mode = 0o755
		}
		h.SetMode(mode)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("zip entry %s: %w", f.Name, err)
		}
		if _, err := fw.Write(f.Data); err != nil {
			return fmt.Errorf("zip entry %s: %w", f.Name, err)
		}
	}
	return zw.Close()
}
