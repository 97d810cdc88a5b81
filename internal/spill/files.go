package spill

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// NewFiles returns a store in the local directory dir, creating it (mode
// 0o700) if needed; each Spill call writes one file.
//
// A file is written under a temporary name (".tmp-*", never loaded), synced,
// then hard-linked to its final name, which fails rather than replace an
// existing file; on a file system without hard links it is renamed instead
// (the random part of the name makes a clash practically impossible). A
// temporary file left by a crash is garbage, not data: its Spill call did
// not return success.
func NewFiles(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("spill: directory is empty")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spill: create directory: %w", err)
	}
	return newStore(files{dir: dir}), nil
}

// files is the backend in a local directory.
type files struct{ dir string }

func (f files) put(ctx context.Context, name string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tmpName, err := f.writeTemp(data)
	defer os.Remove(tmpName)
	if err == nil {
		err = os.Rename(tmpName, filepath.Join(f.dir, name))
	}
	if err != nil {
		return err
	}
	return syncDir(f.dir)
}

// writeTemp writes data durably to a new temporary file in the directory
// and returns its name ("" if none was made); the caller links or renames
// it into place and removes the name.
func (f files) writeTemp(data []byte) (string, error) {
	tmp, err := os.CreateTemp(f.dir, ".tmp-*")
	if err != nil {
		return "", err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return tmp.Name(), fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	return tmp.Name(), nil
}

func (f files) where(name string) string { return filepath.Join(f.dir, name) }

func (f files) list(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	des, err := os.ReadDir(f.dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, de := range des { // sorted by name
		if de.Type().IsRegular() && isObjectName(de.Name()) {
			names = append(names, de.Name())
		}
	}
	return names, nil
}

func (f files) read(ctx context.Context, name string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(f.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %w", errNotFound, err)
	}
	return data, err
}

func (f files) create(ctx context.Context, name string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tmpName, err := f.writeTemp(data)
	// Once linked, the final name holds the data; on failure nothing was
	// stored. Either way the temporary name goes (a no-op after a rename).
	defer os.Remove(tmpName)
	if err != nil {
		return err
	}
	final := filepath.Join(f.dir, name)
	err = os.Link(tmpName, final)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %w", errExists, err)
	}
	if err != nil {
		// No hard links here: rename instead.
		if rerr := os.Rename(tmpName, final); rerr != nil {
			return fmt.Errorf("link %s: %w; rename: %w", final, err, rerr)
		}
	}
	return syncDir(f.dir)
}

func (f files) remove(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := os.Remove(filepath.Join(f.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return syncDir(f.dir)
}

// syncDir makes the directory's entries (a new link, a removal) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
