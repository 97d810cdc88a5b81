package report_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func sample() report.Report {
	r := report.Report{
		Generated: time.Date(2025, 6, 1, 9, 0, 0, 0, cst),
		Account:   "1234567890",
		Quotas: []report.Quota{
			{Provider: refresh.CDN, Kind: report.KindURL, Total: 10000, Remain: 150},
			{Provider: refresh.CDN, Kind: report.KindDir, Total: 100, Remain: 80},
			{Provider: refresh.CDN, Kind: report.KindPreload, Total: 1000, Remain: 1000},
		},
		Failed: []report.Task{
			{Provider: refresh.CDN, ID: "704225668", URL: "https://static.example.com/d/", ObjectType: "directory",
				Status: "Failed", Description: "OriginTimeout", Created: time.Date(2025, 6, 1, 0, 12, 0, 0, time.UTC)},
			{Provider: refresh.DCDN, ID: "95248880", URL: "https://static.example.com/a.jpg", ObjectType: "preload",
				Status: "Failed", Created: time.Date(2025, 6, 1, 0, 30, 0, 0, time.UTC),
				Details: []string{"/a.jpg 0%: origin timeout", "/b.jpg 10%: origin 502"}},
		},
		FailedTotal: 3,
		Notes:       []string{"DescribePreloadDetailById not allowed for this account"},
		Spill: report.SpillStats{Count: 12, Oldest: time.Date(2025, 5, 31, 22, 10, 0, 0, cst),
			ByReason: map[string]int{"Throttling": 2, "QuotaExceeded.Refresh": 10}},
		Replay: refresh.Replayed{Submitted: 30, Spilled: 2, Rejected: 1, ByReason: map[string]int{"InvalidObjectPath.Malformed": 1}},
	}
	r.Problems = report.Policy{}.Problems(r)
	return r
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func TestText(t *testing.T) {
	golden(t, "text.golden", report.Text(sample()))
}

func TestTextEmpty(t *testing.T) {
	got := report.Text(report.Report{})
	if want := "CDN refresh report\n"; got != want {
		t.Errorf("Text(Report{}) = %q, want %q", got, want)
	}
}

func TestStyleCuts(t *testing.T) {
	r := sample()
	r.Failed[1].Details = []string{"one", "two", "three"}
	s := report.Style{
		Code:       func(s string) string { return "`" + s + "`" },
		Clip:       12,
		MaxDetails: 2,
		Item:       "* ",
		SubItem:    "  + ",
	}
	secs := s.Sections(r, 1)
	last := secs[len(secs)-1]
	want := report.Section{
		Title: "Failed tasks: 3",
		Lines: []string{
			"* `https://sta…` — OriginTimeo… (CDN directory, task `704225668`, 06-01 08:12)",
			"* … and 2 more not shown",
		},
	}
	if diff := cmp.Diff(want, last); diff != "" {
		t.Errorf("Sections(r, 1) failed-task section mismatch (-want +got):\n%s", diff)
	}

	secs = s.Sections(r, 99)
	last = secs[len(secs)-1]
	wantTask := "* `https://sta…` — Failed (DCDN preload, task `95248880`, 06-01 08:30)\n  + `one`\n  + `two`\n  + … and 1 more"
	if got := last.Lines[1]; got != wantTask {
		t.Errorf("Sections(r, 99) second task = %q, want %q", got, wantTask)
	}
	if got := last.Lines[len(last.Lines)-1]; !strings.Contains(got, "… and 1 more not shown") {
		t.Errorf("Sections(r, 99) last line = %q, want the 1 task never read counted", got)
	}
}

func TestCounts(t *testing.T) {
	got := report.Counts(map[string]int{"b": 2, "a": 2, "c": 5})
	want := []report.Count{{"c", 5}, {"a", 2}, {"b", 2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Counts() mismatch (-want +got):\n%s", diff)
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"one too long", 11, "one too lo…"},
		{"全角文字の列です", 4, "全角文…"},
		{"ab", 1, "…"},
	}
	for _, tt := range tests {
		if got := report.Clip(tt.in, tt.n); got != tt.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
