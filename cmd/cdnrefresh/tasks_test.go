package main

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	emu "github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// TestQuotaCommand reads every quota kind of CDN and DCDN from the
// emulator, as text and as JSON; a provider whose quota cannot be read
// makes exit 1, none readable exit 3.
func TestQuotaCommand(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		throttled []string // actions answered as throttled
		wantCode  int
		want      []string // in stdout
		wantErr   string
	}{
		{"both providers", []string{"quota"}, nil, 0,
			[]string{"CDN URL refresh             1500 of 2000 left (75%)", "CDN block", "CDN edge prefetch", "DCDN URL refresh            2000 of 2000 left (100%)", "DCDN prefetch"}, ""},
		{"CDN only", []string{"quota", "--provider", "cdn"}, nil, 0, []string{"CDN URL refresh"}, ""},
		{"DCDN unreadable", []string{"quota"}, []string{refresh.APIQuotaDCDN}, 1, []string{"CDN URL refresh"}, "DCDN quota could not be read"},
		{"none readable", []string{"quota"}, []string{refresh.APIQuota, refresh.APIQuotaDCDN}, 3, nil, "CDN quota could not be read"},
		{"bad provider", []string{"quota", "--provider", "cnd"}, nil, 2, nil, `--provider "cnd"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStand(t, emu.Options{URLQuota: 2000})
			if code, _, stderr := s.run(t, strings.Join(urlList("a.example.com", 500), "\n"), "refresh"); code != 0 {
				t.Fatalf("refresh 500 URLs: exit %d %s", code, stderr)
			}
			s.emu.Inject(emu.Faults{Throttle: 1, Actions: tt.throttled})
			if tt.throttled == nil {
				s.emu.Inject(emu.Faults{})
			}
			code, stdout, stderr := s.run(t, "", tt.args...)
			if code != tt.wantCode {
				t.Fatalf("%v: exit %d, want %d\n%s\n%s", tt.args, code, tt.wantCode, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			if tt.wantErr != "" && !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, stderr)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		s := newStand(t, emu.Options{URLQuota: 2000})
		code, stdout, stderr := s.run(t, "", "quota", "--json")
		if code != 0 {
			t.Fatalf("quota --json: exit %d: %s", code, stderr)
		}
		var got struct {
			Quota map[refresh.Provider]refresh.DailyQuota
		}
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("quota --json %s: %v", stdout, err)
		}
		if diff := cmp.Diff(refresh.Allowance{Total: 2000, Remain: 2000}, got.Quota[refresh.DCDN][refresh.QuotaURL]); diff != "" {
			t.Errorf("DCDN URL quota (-want +got):\n%s", diff)
		}
		if n := len(got.Quota[refresh.CDN]); n != 7 {
			t.Errorf("CDN quota kinds = %d, want all 7: %v", n, got.Quota[refresh.CDN])
		}
	})
}

// TestTasksAndWait follows the emulator's task lifecycle (Pending,
// Refreshing, then Complete or Failed after 20 s): tasks lists them,
// tasks --failed only the failed one with its reason, wait follows them
// to the end and exits 1 when one failed.
func TestTasksAndWait(t *testing.T) {
	s := newStand(t, emu.Options{TaskDuration: 20 * time.Second})
	code, stdout, stderr := s.run(t, "", "refresh", "--json", "https://a.example.com/x.css")
	if code != 0 {
		t.Fatalf("refresh: exit %d: %s", code, stderr)
	}
	_, r := countsOf(t, stdout)
	good := r.Tasks[0].ID
	s.clk.Advance(2 * time.Second) // another second: another task id
	s.run(t, "", "refresh", "https://b.example.com/y.css")
	var bad string
	for _, tk := range s.emu.Tasks() {
		if tk.ID != good {
			bad = tk.ID
			s.emu.FailTask(bad, "OriginTimeout")
		}
	}

	code, stdout, _ = s.run(t, "", "tasks")
	if code != 0 || !strings.Contains(stdout, good) || !strings.Contains(stdout, "Failed") || !strings.Contains(stdout, "2 tasks") {
		t.Errorf("tasks: exit %d\n%s\nwant both tasks, one Failed", code, stdout)
	}
	code, stdout, _ = s.run(t, "", "tasks", "--failed", "--provider", "cdn")
	if code != 0 || strings.Contains(stdout, good) || !strings.Contains(stdout, bad) || !strings.Contains(stdout, "OriginTimeout") {
		t.Errorf("tasks --failed: exit %d\n%s\nwant only task %s, with its reason", code, stdout, bad)
	}
	code, stdout, _ = s.run(t, "", "tasks", "--id", good, "--json")
	var listed struct {
		Tasks []struct{ ID, Status, URL string }
	}
	if err := json.Unmarshal([]byte(stdout), &listed); code != 0 || err != nil || len(listed.Tasks) != 1 || listed.Tasks[0].URL != "https://a.example.com/x.css" {
		t.Errorf("tasks --id %s --json: exit %d, %v\n%s\nwant the task of a.example.com/x.css", good, code, err, stdout)
	}

	start := s.clk.Now()
	code, stdout, stderr = s.run(t, "", "wait", good)
	if code != 0 || !strings.Contains(stdout, "1 complete, 0 failed") {
		t.Errorf("wait %s: exit %d\n%s%s\nwant 0 and complete", good, code, stdout, stderr)
	}
	if waited := s.clk.Now().Sub(start); waited < 18*time.Second || waited > 25*time.Second {
		t.Errorf("wait took %v, want about the rest of the task's 20 s", waited)
	}
	code, stdout, _ = s.run(t, "", "wait", good, bad)
	if code != 1 || !strings.Contains(stdout, "1 complete, 1 failed") || !strings.Contains(stdout, "https://b.example.com/y.css: Origin Timeout") {
		t.Errorf("wait %s %s: exit %d\n%s\nwant 1, the failed URL and its reason", good, bad, code, stdout)
	}
	code, stdout, _ = s.run(t, "", "wait", "99999")
	if code != 1 || !strings.Contains(stdout, "no such task") {
		t.Errorf("wait on an unknown task: exit %d\n%s\nwant 1, no such task", code, stdout)
	}
	if code, _, stderr := s.run(t, "", "wait", "abc"); code != 2 || !strings.Contains(stderr, `"abc" is not a number`) {
		t.Errorf("wait abc: exit %d, %q; want 2", code, stderr)
	}
	if code, _, _ := s.run(t, "", "tasks", "--since", "96h"); code != 2 {
		t.Errorf("tasks --since 96h: exit %d, want 2 (the API keeps 72h)", code)
	}
}

// TestWaitTimeout: tasks still running when --timeout passes exit 1, named.
func TestWaitTimeout(t *testing.T) {
	s := newStand(t, emu.Options{TaskDuration: time.Hour})
	_, stdout, _ := s.run(t, "", "refresh", "--json", "https://a.example.com/x.css")
	_, r := countsOf(t, stdout)
	code, stdout, _ := s.run(t, "", "wait", "--timeout", "1m", r.Tasks[0].ID)
	if code != 1 || !strings.Contains(stdout, "still running: task "+r.Tasks[0].ID) {
		t.Errorf("wait --timeout 1m on an hour's task: exit %d\n%s\nwant 1 and the task named", code, stdout)
	}
}

// TestAPIOutOfReach: every command that needs the API exits 3 when it
// cannot reach it at all.
func TestAPIOutOfReach(t *testing.T) {
	for _, args := range [][]string{
		{"refresh", "https://a.example.com/x"},
		{"quota"},
		{"tasks"},
		{"wait", "17000000001"},
	} {
		t.Run(args[0], func(t *testing.T) {
			s := newStand(t, emu.Options{})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Setenv("CDNREFRESH_CDN_ENDPOINT", "http://"+ln.Addr().String())
			ln.Close() // nobody listens there now
			if code, stdout, stderr := s.run(t, "", args...); code != 3 {
				t.Errorf("%v with the API out of reach: exit %d, want 3\n%s\n%s", args, code, stdout, stderr)
			}
		})
	}
}
