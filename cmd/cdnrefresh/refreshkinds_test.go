package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	emu "github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
)

// emulatorEnv serves a CDN API emulator on loopback and points the CLI at
// it with its credentials.
func emulatorEnv(t *testing.T) *emu.Server {
	t.Helper()
	e := emu.New(emu.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go serve(ctx, ln, e)
	t.Setenv("CDNREFRESH_CDN_ENDPOINT", "http://"+ln.Addr().String())
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", emu.AccessKeyID)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", emu.AccessKeySecret)
	t.Setenv("CDNREFRESH_SPILL_DIR", t.TempDir())
	return e
}

// TestRefreshKindsCommand: `cdnrefresh refresh --tag T --domain D`
// refreshes cache tags with no URL list, and --query-hashkey reaches
// PushObjectCache; both through the real SDK.
func TestRefreshKindsCommand(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  []string // the calls the API accepted
	}{
		{"tags", []string{"--tag", "product-42", "--tag", "site", "--domain", "WWW.example.com", "--force"}, "",
			[]string{"RefreshObjectCacheByCacheTag www.example.com [product-42 site] true []"}},
		{"prefetch in hash key query mode", []string{"--prefetch", "--query-hashkey"}, "https://static.example.com/a.css\n",
			[]string{"PushObjectCache  [] true [https://static.example.com/a.css]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := emulatorEnv(t)
			var stdout, stderr bytes.Buffer
			args := append([]string{"refresh", "--config", "../../events/config.yaml", "--quiet", "--json", "--leftovers", filepath.Join(t.TempDir(), "left.txt")}, tt.args...)
			if code := run(context.Background(), args, strings.NewReader(tt.stdin), &stdout, &stderr); code != 0 {
				t.Fatalf("refresh %q: exit %d: %s", tt.args, code, stderr.String())
			}
			var r struct{ Submitted, Rejected int }
			if err := json.Unmarshal(stdout.Bytes(), &r); err != nil || r.Submitted == 0 || r.Rejected != 0 {
				t.Errorf("refresh answered %s (%v), want all submitted", stdout.String(), err)
			}
			var got []string
			for _, c := range e.Calls() {
				if c.Action != "DescribeRefreshQuota" {
					got = append(got, fmt.Sprint(c.Action, " ", c.Domain, " ", c.CacheTags, " ", c.Force || c.QueryHashkey, " ", c.URLs))
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("calls the API accepted (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRefreshKindsCommandErrors(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--tag", "t"}, "--tag needs --domain"},
		{[]string{"--domain", "www.example.com"}, "--domain is the domain of --tag"},
		{[]string{"--tag", "t", "--domain", "www.example.com", "--prefetch"}, "a cache tag cannot be prefetched"},
		{[]string{"--tag", "t", "--domain", "https://www.example.com"}, `--domain: "https://www.example.com" has a scheme`},
		{[]string{"--edge-routine", "nodot"}, `--edge-routine: edge routine "nodot" is not Name.Subdomain`},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		args := append([]string{"refresh", "--config", "../../events/config.yaml", "--quiet"}, tt.args...)
		code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), tt.wantErr) {
			t.Errorf("refresh %q = exit %d, stderr %q; want an error saying %q", tt.args, code, stderr.String(), tt.wantErr)
		}
	}
}
