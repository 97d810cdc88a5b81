package spill

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// Files is a Store in a local directory, one file per Spill call. Several
// Files values, in one process or many, may share a directory.
//
// A file is written under a temporary name (".tmp-*", never loaded), synced,
// then hard-linked to its final name, which fails rather than replace an
// existing file; on a file system without hard links it is renamed instead
// (the random part of the name makes a clash practically impossible). A
// temporary file left by a crash is garbage, not data: its Spill call did
// not return success.
type Files struct {
	dir   string
	names namer
	moves moves
}

// NewFiles returns a store in dir, creating it (mode 0o700) if needed.
func NewFiles(dir string) (*Files, error) {
	if dir == "" {
		return nil, errors.New("spill: directory is empty")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spill: create directory: %w", err)
	}
	return &Files{dir: dir}, nil
}

// Dir returns the store's directory.
func (f *Files) Dir() string { return f.dir }

// Spill writes p to one new file and syncs it and the directory.
func (f *Files) Spill(ctx context.Context, p []refresh.Pending) error {
	return spill(ctx, f, p)
}

// Load returns every stored entry, oldest first. If some files cannot be
// read or parsed, it returns the entries of all the others together with an
// error naming each bad file (errors.As finds a *ReadError per file).
func (f *Files) Load(ctx context.Context) ([]Entry, error) { return load(ctx, f) }

// Remove deletes entries returned by f.Load: a file whose entries are all
// removed is deleted; a file partly removed is replaced by a new file
// holding the rest.
func (f *Files) Remove(ctx context.Context, entries []Entry) error {
	return remove(ctx, f, &f.moves, entries)
}

// Stats summarizes the stored entries.
func (f *Files) Stats(ctx context.Context) (Stats, error) { return stats(ctx, f) }

// Mark returns the time stored under name by SetMark; zero if none.
func (f *Files) Mark(ctx context.Context, name string) (time.Time, error) { return mark(ctx, f, name) }

// SetMark stores t under name.
func (f *Files) SetMark(ctx context.Context, name string, t time.Time) error {
	return setMark(ctx, f, name, t)
}

func (f *Files) put(ctx context.Context, name string, data []byte) error {
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
func (f *Files) writeTemp(data []byte) (string, error) {
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

func (f *Files) id() string { return "file:" + f.dir }

func (f *Files) where(name string) string { return filepath.Join(f.dir, name) }

func (f *Files) list(ctx context.Context) ([]string, error) {
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

func (f *Files) read(ctx context.Context, name string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(f.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %w", errNotFound, err)
	}
	return data, err
}

func (f *Files) create(ctx context.Context, data []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	tmpName, err := f.writeTemp(data)
	// Once linked, the final name holds the data; on failure nothing was
	// stored. Either way the temporary name goes (a no-op after a rename).
	defer os.Remove(tmpName)
	if err != nil {
		return "", err
	}
	const attempts = 5
	for range attempts {
		name := f.names.next()
		final := filepath.Join(f.dir, name)
		err = os.Link(tmpName, final)
		if errors.Is(err, fs.ErrExist) {
			continue // another writer took this name: pick a new one
		}
		if err != nil {
			// No hard links here: rename instead.
			if rerr := os.Rename(tmpName, final); rerr != nil {
				return "", fmt.Errorf("link %s: %w; rename: %w", final, err, rerr)
			}
		}
		if err := syncDir(f.dir); err != nil {
			return "", err
		}
		return name, nil
	}
	return "", fmt.Errorf("no free file name after %d attempts: %w", attempts, err)
}

func (f *Files) remove(ctx context.Context, name string) error {
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
