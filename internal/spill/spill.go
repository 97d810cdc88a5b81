// Package spill is the durable store of work cdnrefresh could not do yet: jobs
// over quota, throttled, or cut off by a deadline. The pipeline spills them
// (refresh.Spiller); the report function loads them, submits what it can,
// and removes what was submitted or spilled again.
//
// One Store works over two backends: a local directory (NewFiles, the
// default) or a prefix in a bucket (NewOSS, through aliyun-oss-go-sdk). Every Spill call
// writes one new object named <unix-nanos>-<random hex>.json holding the
// batch as JSON, and never overwrites one (files are linked into place from a
// temporary name; OSS puts carry x-oss-forbid-overwrite). Writers therefore
// need no lock, across goroutines, instances or processes, and never lose
// each other's entries. Objects are immutable: Remove deletes an object once
// all of its entries are removed, and for a partly handled object writes the
// remainder as a new object before deleting the old one. A crash between
// those two steps leaves both, so some entries come back twice — never
// lost. Duplicates are harmless: submitting a refresh twice is idempotent,
// and the dedupe window drops the second within its TTL.
//
// Spill objects written into a bucket that triggers the function must not
// trigger it again: see IsSpillKey.
package spill

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// Store is a durable store of pending work in one place: a local directory
// (NewFiles) or a prefix in an OSS bucket (NewOSS). Its methods are safe
// for concurrent use, and several stores, in one process or many, may
// share one place.
type Store struct {
	b     backend
	id    string // names the place, to refuse entries loaded from another
	names namer
	moves moves
}

func newStore(b backend) *Store { return &Store{b: b, id: b.where("")} }

// Entry is one stored pending job; its Ref locates it in the object that
// holds it, for Remove. The store is the drain's refresh.Backlog.
type Entry = refresh.Stored

// ref locates an entry: which store, which object, which position, and how
// many entries the object held.
type ref struct {
	store  string
	object string
	index  int
	count  int
}

// Stats summarizes a store's backlog.
type Stats struct {
	Count    int            `json:"count"`
	Oldest   time.Time      `json:"oldest,omitzero"` // earliest FirstSeen; zero when empty
	ByReason map[string]int `json:"by_reason,omitempty"`
}

// ReadError reports one stored object that could not be read or parsed.
type ReadError struct {
	Object string // file path or oss://bucket/key
	Err    error
}

func (e *ReadError) Error() string { return "spill: read " + e.Object + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ReadError) Unwrap() error { return e.Err }

// Is makes a ReadError refresh.ErrUnreadable: the drain goes on with the
// rest.
func (e *ReadError) Is(target error) bool { return target == refresh.ErrUnreadable }

// formatVersion is written in every object; readers refuse other versions.
const formatVersion = 1

// batch is the JSON form of one object.
type batch struct {
	Version int               `json:"version"`
	Entries []refresh.Pending `json:"entries"`
}

func encodeBatch(p []refresh.Pending) ([]byte, error) {
	data, err := json.Marshal(batch{Version: formatVersion, Entries: p})
	if err != nil {
		return nil, fmt.Errorf("encode %d entries: %w", len(p), err)
	}
	return data, nil
}

func decodeBatch(data []byte) ([]refresh.Pending, error) {
	var b batch
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("parse JSON: %w", err)
	}
	if b.Version != formatVersion {
		return nil, fmt.Errorf("format version %d, want %d", b.Version, formatVersion)
	}
	return b.Entries, nil
}

// Object names: 20 decimal digits of Unix nanoseconds, '-', 16 hex digits,
// ".json". They sort in the order written (within one process strictly so).
const (
	nanoDigits = 20
	randDigits = 16
	nameSuffix = ".json"
	nameLen    = nanoDigits + 1 + randDigits + len(nameSuffix)
)

// namer makes fresh object names whose time part never repeats or goes
// back within one store, even when the clock does.
type namer struct {
	mu   sync.Mutex
	last int64
}

func (n *namer) next() string {
	n.mu.Lock()
	t := max(time.Now().UnixNano(), n.last+1)
	n.last = t
	n.mu.Unlock()
	var r [randDigits / 2]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails
	return fmt.Sprintf("%0*d-%s%s", nanoDigits, t, hex.EncodeToString(r[:]), nameSuffix)
}

// isObjectName reports whether name has the shape namer makes.
func isObjectName(name string) bool {
	if len(name) != nameLen || name[nanoDigits] != '-' || name[nameLen-len(nameSuffix):] != nameSuffix {
		return false
	}
	if _, err := strconv.ParseUint(name[:nanoDigits], 10, 64); err != nil {
		return false
	}
	for _, c := range name[nanoDigits+1 : nanoDigits+1+randDigits] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// errNotFound marks an object that is gone (removed by another drainer).
var errNotFound = errors.New("object not found")

// errExists marks a name another writer took first.
var errExists = errors.New("object exists")

// backend is what a store needs from where its objects live.
type backend interface {
	// where names an object in messages: a path or oss:// URL; where("")
	// names the place itself.
	where(name string) string
	// list returns the names of all objects (isObjectName), sorted.
	list(ctx context.Context) ([]string, error)
	// read returns an object's content, or an error wrapping errNotFound.
	read(ctx context.Context, name string) ([]byte, error)
	// create stores data durably as a new object named name, or returns an
	// error wrapping errExists if there is one already.
	create(ctx context.Context, name string, data []byte) error
	// remove deletes an object; a missing object is not an error.
	remove(ctx context.Context, name string) error
	// put stores data under name, replacing it: for marks, not entries.
	put(ctx context.Context, name string, data []byte) error
	// sub returns the backend of the place dir/ inside this one (a
	// sub-directory, or a longer prefix), which this one never lists.
	sub(dir string) (backend, error)
}

// orphanRecoverer is a backend where a writer killed midway can leave a
// partial write behind (files; an OSS put is whole or nothing).
type orphanRecoverer interface {
	// recoverOrphans stores through adopt the whole batches killed
	// writers left, and drops the rest of what they left.
	recoverOrphans(ctx context.Context, adopt func(data []byte) error) (adopted, dropped int, err error)
}

// readers is how many objects Load reads at once.
const readers = 8

// readAll reads and decodes the objects names of b, readers at a time:
// out[i] and errs[i] are those of names[i] (errNotFound for an object
// removed since the listing).
func readAll[T any](ctx context.Context, b backend, names []string, decode func([]byte) (T, error)) (out []T, errs []error) {
	out, errs = make([]T, len(names)), make([]error, len(names))
	sem := make(chan struct{}, readers)
	var wg sync.WaitGroup
	for i, name := range names {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			data, err := b.read(ctx, name)
			if err == nil {
				out[i], err = decode(data)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	return out, errs
}

// Spill stores p as one new object. It returns only after p is durable;
// concurrent callers never lose each other's entries.
func (s *Store) Spill(ctx context.Context, p []refresh.Pending) (err error) {
	defer typed(&err)
	if len(p) == 0 {
		return nil
	}
	data, err := encodeBatch(p)
	if err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	if _, err := s.create(ctx, data); err != nil {
		return fmt.Errorf("spill: store %d entries: %w", len(p), err)
	}
	return nil
}

// create stores data as a new object under a fresh name and returns it.
func (s *Store) create(ctx context.Context, data []byte) (string, error) {
	const attempts = 5
	var err error
	for range attempts {
		name := s.names.next()
		err = s.b.create(ctx, name, data)
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, errExists) {
			return "", err
		}
		// Another writer took this name: pick a new one.
	}
	return "", fmt.Errorf("no free object name after %d attempts: %w", attempts, err)
}

// Load returns every stored entry, oldest first (by FirstSeen, then in the
// order written). If some objects could not be read or parsed, it returns
// the entries of all the others together with an error that names each
// unreadable object (errors.As finds a *ReadError per object): callers
// should work on the entries they got and report the error.
func (s *Store) Load(ctx context.Context) (_ []Entry, err error) {
	defer typed(&err)
	if r, ok := s.b.(orphanRecoverer); ok {
		adopt := func(data []byte) error { _, err := s.create(ctx, data); return err }
		if _, _, err := r.recoverOrphans(ctx, adopt); err != nil {
			return nil, fmt.Errorf("spill: recover writes cut off midway: %w", err)
		}
	}
	names, err := s.b.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("spill: list: %w", err)
	}
	batches, readErrs := readAll(ctx, s.b, names, decodeBatch)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("spill: load: %w", err)
	}

	var entries []Entry
	var errs []error
	for i, batch := range batches {
		switch err := readErrs[i]; {
		case errors.Is(err, errNotFound):
			// Removed since the listing by another drainer.
		case err != nil:
			errs = append(errs, &ReadError{Object: s.b.where(names[i]), Err: err})
		default:
			for j, p := range batch {
				entries = append(entries, Entry{Pending: p, Ref: ref{store: s.id, object: names[i], index: j, count: len(batch)}})
			}
		}
	}
	// Names sort in write order, so a stable sort keeps it among equals.
	slices.SortStableFunc(entries, func(a, b Entry) int {
		return a.Pending.FirstSeen.Compare(b.Pending.FirstSeen)
	})
	return entries, errors.Join(errs...)
}

// Remove deletes entries returned by Load of the same store, after they
// were submitted or spilled again: an object whose entries are all removed
// is deleted; an object partly removed is replaced by a new object holding
// the rest. An entry whose object is already gone is skipped without
// error: it was removed before, or a partial Remove by another store moved
// it to a new object and the next Load returns it again.
func (s *Store) Remove(ctx context.Context, entries []Entry) (err error) {
	defer typed(&err)
	byObject := make(map[string]map[int]bool)
	counts := make(map[string]int)
	for i, e := range entries {
		r, ok := e.Ref.(ref)
		if !ok || r.store != s.id || r.object == "" {
			return fmt.Errorf("spill: remove: entry %d (%s) was not loaded from this store", i, e.Pending.Job.URL)
		}
		if r, ok = s.moves.resolve(r); !ok {
			continue // removed already, by an earlier Remove of this store
		}
		if byObject[r.object] == nil {
			byObject[r.object] = make(map[int]bool)
		}
		byObject[r.object][r.index] = true
		counts[r.object] = r.count
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(byObject)) {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("spill: remove: %w", err))
			break
		}
		if err := s.removeFrom(ctx, name, byObject[name], counts[name]); err != nil {
			errs = append(errs, fmt.Errorf("spill: remove from %s: %w", s.b.where(name), err))
		}
	}
	return errors.Join(errs...)
}

// removeFrom removes the entries at the given indices of one object.
func (s *Store) removeFrom(ctx context.Context, name string, gone map[int]bool, count int) error {
	if len(gone) >= count {
		return s.b.remove(ctx, name)
	}
	// Objects never change, so reading it again gives what Load saw.
	data, err := s.b.read(ctx, name)
	if errors.Is(err, errNotFound) {
		return nil // another drainer handled it, and stored any remainder
	}
	if err != nil {
		return err
	}
	all, err := decodeBatch(data)
	if err != nil {
		return err
	}
	var rest []refresh.Pending
	at := make(map[int]int) // index in name -> index in the new object
	for i, p := range all {
		if !gone[i] {
			at[i] = len(rest)
			rest = append(rest, p)
		}
	}
	if len(rest) > 0 {
		data, err := encodeBatch(rest)
		if err != nil {
			return err
		}
		to, err := s.create(ctx, data)
		if err != nil {
			return fmt.Errorf("store the %d remaining entries: %w", len(rest), err)
		}
		// Entries of name still held by the caller now live in to: a later
		// Remove of them must find them there.
		s.moves.record(name, to, at, len(rest))
	}
	return s.b.remove(ctx, name)
}

// moves remembers, for one store, where Remove rewrote the rest of a
// partly removed object, so that a later Remove of entries loaded before
// (a drain removes chunk by chunk) finds them in their new object instead
// of taking the old object's absence for "already removed".
type moves struct {
	mu sync.Mutex
	m  map[string]move
}

type move struct {
	to    string
	at    map[int]int
	count int
}

func (mv *moves) record(from, to string, at map[int]int, count int) {
	mv.mu.Lock()
	defer mv.mu.Unlock()
	if mv.m == nil {
		mv.m = make(map[string]move)
	}
	mv.m[from] = move{to: to, at: at, count: count}
}

// resolve follows r through the recorded moves; ok is false when the entry
// was removed by an earlier Remove.
func (mv *moves) resolve(r ref) (ref, bool) {
	mv.mu.Lock()
	defer mv.mu.Unlock()
	for {
		m, moved := mv.m[r.object]
		if !moved {
			return r, true
		}
		i, kept := m.at[r.index]
		if !kept {
			return r, false
		}
		r.object, r.index, r.count = m.to, i, m.count
	}
}

// Stats summarizes the stored entries; like Load it reports unreadable
// objects in its error while counting all the others.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	entries, err := s.Load(ctx)
	var st Stats
	for _, e := range entries {
		st.Count++
		if st.ByReason == nil {
			st.ByReason = make(map[string]int)
		}
		st.ByReason[e.Pending.Reason]++
		if st.Oldest.IsZero() || e.Pending.FirstSeen.Before(st.Oldest) {
			st.Oldest = e.Pending.FirstSeen
		}
	}
	return st, err
}

// markPrefix starts the names of marks; they never look like entries.
const markPrefix = "mark-"

func markName(name string) (string, error) {
	for _, c := range name {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return "", fmt.Errorf("spill: mark name %q: use a-z, 0-9 and -", name)
		}
	}
	if name == "" {
		return "", errors.New("spill: empty mark name")
	}
	return markPrefix + name, nil
}

// Mark returns the time last stored under name by SetMark (the zero time
// when there is none). Marks keep the functions' small state, such as when
// the last report ran, beside the work they concern.
func (s *Store) Mark(ctx context.Context, name string) (time.Time, error) {
	n, err := markName(name)
	if err != nil {
		return time.Time{}, err
	}
	data, err := s.b.read(ctx, n)
	if errors.Is(err, errNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("spill: read mark %s: %w", s.b.where(n), err)
	}
	var t time.Time
	if err := t.UnmarshalText(bytes.TrimSpace(data)); err != nil {
		return time.Time{}, fmt.Errorf("spill: mark %s: %w", s.b.where(n), err)
	}
	return t, nil
}

// SetMark stores t under name, replacing what was there.
func (s *Store) SetMark(ctx context.Context, name string, t time.Time) error {
	n, err := markName(name)
	if err != nil {
		return err
	}
	data, err := t.UTC().MarshalText()
	if err != nil {
		return err
	}
	if err := s.b.put(ctx, n, data); err != nil {
		return fmt.Errorf("spill: write mark %s: %w", s.b.where(n), err)
	}
	return nil
}

// Check writes a mark, to prove the store writable before the first spill
// needs it. The error says what to set.
func (s *Store) Check(ctx context.Context) error {
	if err := s.SetMark(ctx, "self-check", time.Now()); err != nil {
		return fmt.Errorf("the spill store %s is not writable: %w (check spill.dir, or spill.oss and that the function's role allows oss:PutObject on its prefix)", s.b.where(""), err)
	}
	return nil
}

// typed gives the failures of the store the error type SpillError, which
// an invocation failed by them answers.
func typed(err *error) { *err = refresh.Typed(refresh.ErrorSpill, *err) }
