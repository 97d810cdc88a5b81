package notify_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var (
	cst = time.FixedZone("CST", 8*3600)
	// clock is the fixed time of every test: 2025-06-01 09:00 CST.
	clock = time.Date(2025, 6, 1, 1, 0, 0, 0, time.UTC)
)

func fixedNow() time.Time { return clock }

// fixture is a report with low quota, 250 failed tasks read over three
// pages of DescribeRefreshTasks (100, 100, 50), and a non-empty spill.
func fixture() report.Report {
	r := report.Report{
		Generated: clock.In(cst),
		Account:   "1234567890123456",
		Quotas: []report.Quota{
			{Provider: refresh.CDN, Kind: report.KindURL, Total: 10000, Remain: 150},
			{Provider: refresh.CDN, Kind: report.KindDir, Total: 100, Remain: 80},
			{Provider: refresh.CDN, Kind: report.KindRegex, Total: 20, Remain: 20},
			{Provider: refresh.CDN, Kind: report.KindPreload, Total: 1000, Remain: 120},
			{Provider: refresh.DCDN, Kind: report.KindURL, Total: 10000, Remain: 9800},
		},
		Notes: []string{"DescribePreloadDetailById not allowed for this account: DCDN prefetch details missing"},
		Spill: report.SpillStats{Count: 12, Oldest: time.Date(2025, 5, 31, 22, 10, 0, 0, cst),
			ByReason: map[string]int{"QuotaExceeded.Refresh": 10, "Throttling": 2}},
		Replay: refresh.Replayed{Submitted: 30, Spilled: 2, Rejected: 1,
			ByReason: map[string]int{"QuotaExceeded.Refresh": 2, "InvalidObjectPath.Malformed": 1}},
	}
	reasons := []string{"OriginTimeout", "InternalError", "OriginReturnStatusCode 5XX"}
	const pageSize = 100
	for page := 1; page <= 3; page++ {
		for i := 0; i < pageSize && len(r.Failed) < 250; i++ {
			n := len(r.Failed)
			t := report.Task{
				Provider:    refresh.CDN,
				ID:          fmt.Sprint(704300000 + n),
				URL:         fmt.Sprintf("https://static.example.com/assets/build/chunk-%03d.4f8a9c1e.js", n),
				ObjectType:  "file",
				Status:      "Failed",
				Description: reasons[n%len(reasons)],
				Created:     clock.Add(-time.Duration(n) * time.Minute),
			}
			switch {
			case n == 1: // text that markup must not swallow
				t.URL = "https://static.example.com/search?q=a&b=<c>&x=*y*_z_`w`"
				t.Description = "Origin said <b>no</b> & [more]"
			case n%10 == 0:
				t.ObjectType = "preload"
				t.Description = ""
				t.Details = []string{"/a.jpg 0%: origin timeout", "/b.jpg 40%: origin 502"}
				if n == 0 {
					for j := range 5 {
						t.Details = append(t.Details, fmt.Sprintf("/c%d.jpg 0%%: origin 404", j))
					}
				}
			case n%7 == 0:
				t.Provider = refresh.DCDN
			case n%5 == 0:
				t.ObjectType = "directory"
				t.URL = fmt.Sprintf("https://static.example.com/assets/build-%03d/", n)
			}
			r.Failed = append(r.Failed, t)
		}
		r.FailedTotal = 250 // every page says TotalCount 250
	}
	r.Problems = report.Policy{When: report.WhenProblems}.Problems(r)
	return r
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/notify -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// received is one request a receiver got.
type received struct {
	URL    string // path and query
	Header http.Header
	Body   []byte
}

// receiver is a local robot: it records every request and answers with
// answer.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []received
}

func newReceiver(t *testing.T, answer http.HandlerFunc) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("receiver: read body: %v", err)
		}
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, received{URL: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
		rc.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		answer(w, r)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

// answers replies with each answer in turn, the last one from then on.
func answers(list ...func(w http.ResponseWriter)) http.HandlerFunc {
	var mu sync.Mutex
	i := 0
	return func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		a := list[min(i, len(list)-1)]
		i++
		mu.Unlock()
		a(w)
	}
}

// reply answers with status, extra headers (key, value, …) and body.
func reply(status int, body string, header ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// sleeps records the waits between attempts instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}
