package spill

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// spillWriter, set in a process's environment to "<dir>,<writer>", makes
// this test binary a writer that spills batches of https://d/<writer>/<n>/*
// to dir until it is killed, printing "stored N" once batch N is durable
// (see TestMain).
const spillWriter = "CDNREFRESH_TEST_SPILL_WRITER"

// writerBatch is how many entries a writer's batch holds: big enough that
// a kill often lands in the middle of a write.
const writerBatch = 2000

func TestMain(m *testing.M) {
	if v := os.Getenv(spillWriter); v != "" {
		dir, w, _ := strings.Cut(v, ",")
		os.Exit(writeUntilKilled(dir, w))
	}
	os.Exit(m.Run())
}

func writeUntilKilled(dir, w string) int {
	s, err := NewFiles(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for n := 0; ; n++ {
		batch := make([]refresh.Pending, writerBatch)
		for i := range batch {
			batch[i] = refresh.Pending{Job: refresh.Job{Action: refresh.ActionRefresh, URL: fmt.Sprintf("https://d/%s/%d/%d", w, n, i)}, Reason: "quota"}
		}
		if err := s.Spill(context.Background(), batch); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("stored %d\n", n)
	}
}

// TestKilledMidWrite kills writer processes while they spill, again and
// again, as a platform kills an invocation at its timeout: every batch a
// writer said was stored is loaded, whole; the partial writes left behind
// are dropped, the whole ones adopted, and no temporary file survives a
// Load.
func TestKilledMidWrite(t *testing.T) { // not parallel: it sets orphanAge
	old := orphanAge
	orphanAge = 0 // the writers are dead: their files are orphans at once
	t.Cleanup(func() { orphanAge = old })
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	stored := map[string]bool{} // "<writer>/<batch>" a writer reported durable
	for w := range 5 {
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprint(spillWriter, "=", dir, ",", w))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		for n := 0; n < 2+w && sc.Scan(); n++ {
			stored[fmt.Sprint(w, "/", strings.TrimPrefix(sc.Text(), "stored "))] = true
		}
		// Kill it while it writes its next batch (or between batches).
		time.Sleep(time.Duration(w) * 3 * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		for sc.Scan() { // batches finished before the kill landed
			stored[fmt.Sprint(w, "/", strings.TrimPrefix(sc.Text(), "stored "))] = true
		}
		_ = cmd.Wait()
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, tmpPrefix+"*"))
	t.Logf("after 5 kills: %d batches reported stored, %d temporary files left", len(stored), len(tmps))

	s, err := NewFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := s.Load(context.Background())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	perBatch := map[string]int{}
	for _, e := range entries {
		perBatch[batchOf(e.Pending.Job.URL)]++
	}
	for b := range stored {
		if perBatch[b] != writerBatch {
			t.Errorf("batch %s: %d entries loaded, want all %d", b, perBatch[b], writerBatch)
		}
	}
	for b, n := range perBatch {
		if n != writerBatch {
			t.Errorf("batch %s: %d entries loaded, a partial write", b, n)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, tmpPrefix+"*")); len(left) > 0 {
		t.Errorf("%d temporary files left after Load: %v", len(left), left)
	}
}

// batchOf returns "<writer>/<batch>" of a writer's URL.
func batchOf(u string) string {
	parts := strings.Split(strings.TrimPrefix(u, "https://d/"), "/")
	return parts[0] + "/" + parts[1]
}
