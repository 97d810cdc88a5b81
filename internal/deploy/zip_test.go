package deploy

import (
	"archive/zip"
	"bytes"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWriteZip: entries sorted, dated zipTime, 0755 for bootstrap and 0644
// for the rest, contents intact; the same files in another order give the
// same bytes.
func TestWriteZip(t *testing.T) {
	t.Parallel()
	files := []File{
		{Name: "config.yaml", Data: []byte("rules: []\n")},
		{Name: "bootstrap", Data: bytes.Repeat([]byte("\x7fELF"), 1000), Exec: true},
	}
	var a, b bytes.Buffer
	if err := WriteZip(&a, files); err != nil {
		t.Fatal(err)
	}
	if err := WriteZip(&b, []File{files[1], files[0]}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("WriteZip gives other bytes for the same files in another order")
	}
	zr, err := zip.NewReader(bytes.NewReader(a.Bytes()), int64(a.Len()))
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Name, Mode, Time, Data string
	}
	var got []entry
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		got = append(got, entry{f.Name, f.Mode().String(), f.Modified.UTC().String(), string(data[:4])})
	}
	want := []entry{
		{"bootstrap", "-rwxr-xr-x", zipTime.String(), "\x7fELF"},
		{"config.yaml", "-rw-r--r--", zipTime.String(), "rule"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WriteZip entries mismatch (-want +got):\n%s", diff)
	}
}

func TestWriteZipRefuses(t *testing.T) {
	t.Parallel()
	for _, files := range [][]File{
		{{Name: "../bootstrap"}},
		{{Name: "/bootstrap"}},
		{{Name: "a"}, {Name: "a"}},
	} {
		if err := WriteZip(io.Discard, files); err == nil {
			t.Errorf("WriteZip(%q) = nil, want an error", files[0].Name)
		}
	}
}
