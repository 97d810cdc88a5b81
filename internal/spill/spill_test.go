package spill_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	ossemu "github.com/cdnrefresh/cdnrefresh/internal/emulator/oss"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/spill"
)

var _ refresh.Spiller = (*spill.Store)(nil)

var base = time.Date(2026, 5, 10, 6, 0, 0, 0, time.UTC)

// pending returns a pending refresh of url first seen sec seconds after base.
func pending(url, reason string, sec int) refresh.Pending {
	return refresh.Pending{
		Job: refresh.Job{
			Action: refresh.ActionRefresh, Provider: refresh.CDN, ObjectType: refresh.File,
			URL: "https://static.example.com/" + url, Key: url,
		},
		Reason:    reason,
		FirstSeen: base.Add(time.Duration(sec) * time.Second),
		Attempts:  sec % 3,
	}
}

func pendings(entries []spill.Entry) []refresh.Pending {
	var out []refresh.Pending
	for _, e := range entries {
		out = append(out, e.Pending)
	}
	return out
}

// world is one place spill objects live, with ways to open stores on it and
// to plant a raw object there.
type world struct {
	open    func(t *testing.T) *spill.Store
	plant   func(t *testing.T, name string, data []byte) // an object named name
	objects func(t *testing.T) int                       // how many spill objects exist
	where   func(name string) string                     // how errors name an object
}

const (
	bucketName = "site-bucket"
	prefix     = ".cdnrefresh/spill/"
)

func filesWorld(t *testing.T) world {
	dir := filepath.Join(t.TempDir(), "spill")
	return world{
		open: func(t *testing.T) *spill.Store {
			s, err := spill.NewFiles(dir)
			if err != nil {
				t.Fatalf("NewFiles(%q) error: %v", dir, err)
			}
			return s
		},
		plant: func(t *testing.T, name string, data []byte) {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		},
		objects: func(t *testing.T) int {
			m, err := filepath.Glob(filepath.Join(dir, "*.json"))
			if err != nil {
				t.Fatal(err)
			}
			return len(m)
		},
		where: func(name string) string { return filepath.Join(dir, name) },
	}
}

// emulator starts the OSS emulator on 127.0.0.1 with bucketName and returns
// it with a function opening stores under a prefix there, signed with the
// emulator's access key.
func emulator(t *testing.T) (*ossemu.Server, func(t *testing.T, under string) *spill.Store) {
	t.Helper()
	emu := ossemu.New(ossemu.Options{Buckets: []string{bucketName}})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	creds := refresh.Credentials{AccessKeyID: ossemu.AccessKeyID, AccessKeySecret: ossemu.AccessKeySecret}
	return emu, func(t *testing.T, under string) *spill.Store {
		t.Helper()
		s, err := spill.NewOSS(srv.URL, bucketName, under, creds)
		if err != nil {
			t.Fatalf("NewOSS(%q) error: %v", srv.URL, err)
		}
		return s
	}
}

func ossWorld(t *testing.T) world {
	emu, open := emulator(t)
	return world{
		open: func(t *testing.T) *spill.Store { return open(t, prefix) },
		plant: func(t *testing.T, name string, data []byte) {
			emu.SetObject(bucketName, prefix+name, data)
		},
		objects: func(t *testing.T) int { return len(emu.Keys(bucketName)) },
		where:   func(name string) string { return "oss://" + bucketName + "/" + prefix + name },
	}
}

// forEachBackend runs test against the files store and the OSS store (the
// real SDK against the emulator).
func forEachBackend(t *testing.T, test func(t *testing.T, w world)) {
	for _, b := range []struct {
		name string
		make func(t *testing.T) world
	}{
		{"files", filesWorld},
		{"oss", ossWorld},
	} {
		t.Run(b.name, func(t *testing.T) { test(t, b.make(t)) })
	}
}

func mustSpill(t *testing.T, s *spill.Store, p ...refresh.Pending) {
	t.Helper()
	if err := s.Spill(t.Context(), p); err != nil {
		t.Fatalf("Spill(%d entries) error: %v", len(p), err)
	}
}

func mustLoad(t *testing.T, s *spill.Store) []spill.Entry {
	t.Helper()
	entries, err := s.Load(t.Context())
	if err != nil {
		t.Fatalf("Load error: %v", err)
	}
	return entries
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, w world) {
		s := w.open(t)
		want := []refresh.Pending{pending("a.png", "QuotaExceeded.Refresh", 1), pending("b c+d/中.png", "Throttling", 2)}
		mustSpill(t, s, want[0])
		mustSpill(t, s, want[1])
		entries := mustLoad(t, s)
		if diff := cmp.Diff(want, pendings(entries)); diff != "" {
			t.Errorf("Load mismatch (-want +got):\n%s", diff)
		}
		if err := s.Remove(t.Context(), entries); err != nil {
			t.Fatalf("Remove(all) error: %v", err)
		}
		if got := mustLoad(t, s); len(got) != 0 {
			t.Errorf("Load after Remove(all) = %v, want none", pendings(got))
		}
		if n := w.objects(t); n != 0 {
			t.Errorf("%d objects left after Remove(all), want 0", n)
		}
	})
}

func TestSpillNothing(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, w world) {
		mustSpill(t, w.open(t))
		if n := w.objects(t); n != 0 {
			t.Errorf("Spill(no entries) wrote %d objects, want 0", n)
		}
	})
}

func TestLoadOrder(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, w world) {
		s := w.open(t)
		mustSpill(t, s, pending("a", "r", 3), pending("b", "r", 1))
		mustSpill(t, s, pending("c", "r", 1), pending("d", "r", 2))
		mustSpill(t, s, pending("e", "r", 1))
		mustSpill(t, s, pending("f", "r", 0))
		// Oldest first; equal FirstSeen in the order written.
		want := []refresh.Pending{
			pending("f", "r", 0),
			pending("b", "r", 1), pending("c", "r", 1), pending("e", "r", 1),
			pending("d", "r", 2),
			pending("a", "r", 3),
		}
		if diff := cmp.Diff(want, pendings(mustLoad(t, s))); diff != "" {
			t.Errorf("Load order mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestPartialRemove(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, w world) {
		s := w.open(t)
		mustSpill(t, s, pending("a", "r", 1), pending("b", "r", 2), pending("c", "r", 3))
		mustSpill(t, s, pending("d", "r", 4))
		first := mustLoad(t, s)
		if err := s.Remove(t.Context(), []spill.Entry{first[1], first[3]}); err != nil {
			t.Fatalf("Remove(b, d) error: %v", err)
		}
		want := []refresh.Pending{pending("a", "r", 1), pending("c", "r", 3)}
		if diff := cmp.Diff(want, pendings(mustLoad(t, s))); diff != "" {
			t.Errorf("Load after Remove(b, d) mismatch (-want +got):\n%s", diff)
		}
		if n := w.objects(t); n != 1 {
			t.Errorf("%d objects after a partial remove, want 1 (the remainder)", n)
		}

		// Entries of the replaced object, loaded before it was replaced:
		// b is gone already (no error); a is found where the partial
		// remove moved it, and removed; c stays.
		if err := s.Remove(t.Context(), first[:2]); err != nil {
			t.Errorf("Remove(a, b from the first Load) error: %v", err)
		}
		second := mustLoad(t, s)
		if diff := cmp.Diff(want[1:], pendings(second)); diff != "" {
			t.Errorf("Load after removing entries of the replaced object mismatch (-want +got):\n%s", diff)
		}

		// Another store instance (another drainer) does not know the move:
		// its stale entries are skipped without error and nothing is lost.
		other := w.open(t)
		if err := other.Remove(t.Context(), first[:1]); err != nil {
			t.Errorf("another store's Remove(stale a) error: %v", err)
		}
		if diff := cmp.Diff(want[1:], pendings(mustLoad(t, s))); diff != "" {
			t.Errorf("Load after another store's stale Remove mismatch (-want +got):\n%s", diff)
		}
		if err := s.Remove(t.Context(), second); err != nil {
			t.Fatalf("Remove(rest) error: %v", err)
		}
		if n := w.objects(t); n != 0 {
			t.Errorf("%d objects after removing everything, want 0", n)
		}
	})
}

func TestRemoveRefusesForeignEntries(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, w world) {
		s := w.open(t)
		mustSpill(t, s, pending("a", "r", 1))
		other, err := spill.NewFiles(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		mustSpill(t, other, pending("x", "r", 1))
		tests := []struct {
			name    string
			entries []spill.Entry
		}{
			{"zero entry", []spill.Entry{{Pending: pending("a", "r", 1)}}},
			{"entry of another store", mustLoad(t, other)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := s.Remove(t.Context(), tt.entries)
				if err == nil || !strings.Contains(err.Error(), "not loaded from this store") {
					t.Errorf("Remove(%s) = %v, want an error saying it was not loaded from this store", tt.name, err)
				}
				if got := len(mustLoad(t, s)); got != 1 {
					t.Errorf("Load after a refused Remove has %d entries, want 1", got)
				}
			})
		}
	})
}

func TestStats(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, w world) {
		s := w.open(t)
		got, err := s.Stats(t.Context())
		if err != nil {
			t.Fatalf("Stats(empty) error: %v", err)
		}
		if diff := cmp.Diff(spill.Stats{}, got); diff != "" {
			t.Errorf("Stats(empty) mismatch (-want +got):\n%s", diff)
		}
		mustSpill(t, s, pending("a", "QuotaExceeded.Refresh", 5), pending("b", "Throttling", 3))
		mustSpill(t, s, pending("c", "QuotaExceeded.Refresh", 7))
		got, err = s.Stats(t.Context())
		if err != nil {
			t.Fatalf("Stats error: %v", err)
		}
		want := spill.Stats{
			Count:    3,
			Oldest:   base.Add(3 * time.Second),
			ByReason: map[string]int{"QuotaExceeded.Refresh": 2, "Throttling": 1},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Stats mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestCorruptObject(t *testing.T) {
	t.Parallel()
	const (
		badJSON    = "00000000000000000001-0123456789abcdef.json"
		badVersion = "00000000000000000002-0123456789abcdef.json"
	)
	forEachBackend(t, func(t *testing.T, w world) {
		s := w.open(t)
		mustSpill(t, s, pending("good", "r", 1))
		w.plant(t, badJSON, []byte(`{"version":1,"entries":[`))
		w.plant(t, badVersion, []byte(`{"version":9,"entries":[]}`))
		w.plant(t, "notes.txt", []byte("not a spill object, ignored"))

		entries, err := s.Load(t.Context())
		if diff := cmp.Diff([]refresh.Pending{pending("good", "r", 1)}, pendings(entries)); diff != "" {
			t.Errorf("Load with corrupt objects: entries mismatch (-want +got):\n%s", diff)
		}
		for _, name := range []string{badJSON, badVersion} {
			if err == nil || !strings.Contains(err.Error(), w.where(name)) {
				t.Errorf("Load error = %v, want it to name %s", err, w.where(name))
			}
		}
		var re *spill.ReadError
		if !errors.As(err, &re) || re.Object != w.where(badJSON) {
			t.Errorf("errors.As(Load error, *ReadError) = %v, want Object %s", re, w.where(badJSON))
		}
		if err != nil && !strings.Contains(err.Error(), "format version 9") {
			t.Errorf("Load error = %v, want it to say \"format version 9\"", err)
		}

		st, err := s.Stats(t.Context())
		if err == nil || st.Count != 1 {
			t.Errorf("Stats with corrupt objects = %+v, %v; want Count 1 and an error", st, err)
		}
	})
}

// TestConcurrentWriters has two store instances on the same place, each
// used by two goroutines at once: no entry may be lost.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	const perWriter = 100
	forEachBackend(t, func(t *testing.T, w world) {
		stores := []*spill.Store{w.open(t), w.open(t)}
		var wg sync.WaitGroup
		errs := make(chan error, 4*perWriter)
		var want []string
		for si, s := range stores {
			for g := range 2 {
				for i := range perWriter {
					want = append(want, fmt.Sprintf("s%d-g%d-%03d", si, g, i))
				}
				wg.Go(func() {
					for i := range perWriter {
						url := fmt.Sprintf("s%d-g%d-%03d", si, g, i)
						if err := s.Spill(context.Background(), []refresh.Pending{pending(url, "r", i)}); err != nil {
							errs <- err
						}
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("Spill error: %v", err)
		}
		var got []string
		for _, e := range mustLoad(t, stores[1]) {
			got = append(got, e.Pending.Job.Key)
		}
		slices.Sort(got)
		slices.Sort(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("entries after concurrent Spill mismatch (-want +got):\n%s", diff)
		}
	})
}

// TestDrainWhileWriting drains one store while another keeps spilling:
// every entry is either drained or still stored at the end.
func TestDrainWhileWriting(t *testing.T) {
	t.Parallel()
	const n = 60
	forEachBackend(t, func(t *testing.T, w world) {
		writer, drainer := w.open(t), w.open(t)
		ctx := t.Context()
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := range n {
				// Two entries per object, so that drains can split objects.
				p := []refresh.Pending{pending(fmt.Sprintf("%03d-a", i), "r", i), pending(fmt.Sprintf("%03d-b", i), "r", n-i)}
				if err := writer.Spill(ctx, p); err != nil {
					t.Errorf("Spill(%d) error: %v", i, err)
				}
			}
		})
		seen := map[string]int{}
		drain := func() {
			entries, err := drainer.Load(ctx)
			if err != nil {
				t.Errorf("Load while writing error: %v", err)
				return
			}
			// Take every other entry, as if the quota ran out halfway.
			var done []spill.Entry
			for i, e := range entries {
				if i%2 == 0 {
					done = append(done, e)
					seen[e.Pending.Job.Key]++
				}
			}
			if err := drainer.Remove(ctx, done); err != nil {
				t.Errorf("Remove while writing error: %v", err)
			}
		}
		for range 5 {
			drain()
		}
		wg.Wait()
		for _, e := range mustLoad(t, drainer) {
			seen[e.Pending.Job.Key]++
		}
		for i := range n {
			for _, k := range []string{fmt.Sprintf("%03d-a", i), fmt.Sprintf("%03d-b", i)} {
				if seen[k] != 1 {
					t.Errorf("entry %s seen %d times, want exactly 1", k, seen[k])
				}
			}
		}
	})
}

func TestIsSpillKey(t *testing.T) {
	t.Parallel()
	const name = "01778392384000000000-0123456789abcdef.json"
	tests := []struct {
		name                       string
		bucket, key, spill, prefix string
		want                       bool
	}{
		{"spill object", "b", prefix + name, "b", prefix, true},
		{"prefix without slash", "b", prefix + name, "b", ".cdnrefresh/spill", true},
		{"prefix with leading slash", "b", prefix + name, "b", "/" + prefix, true},
		{"anything under a prefix", "b", prefix + "manifest", "b", prefix, true},
		{"other bucket", "site", prefix + name, "b", prefix, false},
		{"outside the prefix", "b", "static/" + name, "b", prefix, false},
		{"sibling prefix", "b", ".cdnrefresh/spillover/" + name, "b", ".cdnrefresh/spill", false},
		{"root store: spill-shaped name", "b", name, "b", "", true},
		{"root store: site object", "b", "index.html", "b", "", false},
		{"root store: nested spill-shaped name", "b", "dir/" + name, "b", "", false},
		{"root store: almost a name", "b", strings.Replace(name, "a", "g", 1), "b", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := spill.IsSpillKey(tt.bucket, tt.key, tt.spill, tt.prefix); got != tt.want {
				t.Errorf("IsSpillKey(%q, %q, %q, %q) = %v, want %v", tt.bucket, tt.key, tt.spill, tt.prefix, got, tt.want)
			}
		})
	}
}

func TestMarks(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, w world) {
		s := w.open(t)
		ctx := t.Context()
		if got, err := s.Mark(ctx, "last-report"); err != nil || !got.IsZero() {
			t.Fatalf("Mark before any SetMark = %v, %v; want the zero time", got, err)
		}
		t1 := time.Date(2026, 11, 22, 1, 0, 0, 123, time.UTC)
		t2 := t1.Add(24 * time.Hour)
		for _, want := range []time.Time{t1, t2} {
			if err := s.SetMark(ctx, "last-report", want); err != nil {
				t.Fatalf("SetMark: %v", err)
			}
			if got, err := s.Mark(ctx, "last-report"); err != nil || !got.Equal(want) {
				t.Errorf("Mark = %v, %v; want %v", got, err, want)
			}
		}
		// A mark is not an entry: Load and Stats do not see it.
		mustSpill(t, s, pending("a.png", "quota", 1))
		if got := mustLoad(t, s); len(got) != 1 {
			t.Errorf("Load with a mark present = %d entries, want 1", len(got))
		}
		if st, err := s.Stats(ctx); err != nil || st.Count != 1 {
			t.Errorf("Stats with a mark present = %+v, %v; want 1 entry", st, err)
		}
		if err := s.SetMark(ctx, "../escape", t1); err == nil {
			t.Error("SetMark(../escape) succeeded; want an error naming the bad name")
		}
	})
}
