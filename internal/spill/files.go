package spill

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// NewFiles returns a store in the local directory dir, creating it (mode
// 0o700) if needed; each Spill call writes one file.
//
// A file is written under a temporary name (".tmp-*", never loaded), synced,
// then hard-linked to its final name, which fails rather than replace an
// existing file; on a file system without hard links it is renamed instead
// (the random part of the name makes a clash practically impossible). A
// temporary file left by a writer killed midway (a platform timeout) is
// recovered by the next Load: stored under a proper name when it holds a
// whole batch, removed when it is partial (its Spill call never returned,
// so its invocation failed and is delivered again) or was already linked.
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
	tmp, err := os.CreateTemp(f.dir, tmpPrefix+"*")
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

// tmpPrefix starts the name of a temporary file a write links into place.
const tmpPrefix = ".tmp-"

// orphanAge is how old a temporary file must be before it counts as
// orphaned: its writer was killed between writing and linking it (a
// platform's timeout, an instance reclaimed). No live write takes as long.
var orphanAge = time.Minute

// recoverOrphans deals with the temporary files killed writers left: one
// already linked into place (a second name of a stored object) is
// removed; one that holds a whole batch is handed to adopt, which stores
// it under a proper name, and then removed; a partial one — whose writer
// never returned, so whose invocation failed and is delivered again — is
// removed. It returns how many batches were adopted and how many partial
// writes dropped.
func (f files) recoverOrphans(ctx context.Context, adopt func(data []byte) error) (adopted, dropped int, err error) {
	des, err := os.ReadDir(f.dir)
	if err != nil {
		return 0, 0, err
	}
	for _, de := range des {
		if !de.Type().IsRegular() || !strings.HasPrefix(de.Name(), tmpPrefix) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return adopted, dropped, err
		}
		path := filepath.Join(f.dir, de.Name())
		fi, err := os.Stat(path)
		if err != nil || time.Since(fi.ModTime()) < orphanAge {
			continue // gone, or a live writer's
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			// Linked into place before its writer died: the data is stored.
			if err := os.Remove(path); err != nil {
				return adopted, dropped, err
			}
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return adopted, dropped, err
		}
		if _, derr := decodeBatch(data); derr != nil {
			dropped++
		} else if err := adopt(data); err != nil {
			return adopted, dropped, fmt.Errorf("adopt %s: %w", path, err)
		} else {
			adopted++
		}
		if err := os.Remove(path); err != nil {
			return adopted, dropped, err
		}
	}
	return adopted, dropped, nil
}
