package report_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/report"
)

var cst = time.FixedZone("CST", 8*3600)

func TestPolicyProblems(t *testing.T) {
	healthy := []report.Quota{
		{Provider: refresh.CDN, Kind: report.KindURL, Total: 10000, Remain: 9000},
		{Provider: refresh.CDN, Kind: report.KindDir, Total: 100, Remain: 90},
		{Provider: refresh.CDN, Kind: report.KindPreload, Total: 1000, Remain: 1000},
	}
	tests := []struct {
		name   string
		policy report.Policy
		r      report.Report
		want   []string
	}{
		{
			name: "all well",
			r:    report.Report{Quotas: healthy},
		},
		{
			name: "default percent threshold",
			r:    report.Report{Quotas: []report.Quota{{Kind: report.KindURL, Total: 10000, Remain: 150}}},
			want: []string{"URL refresh quota: 150 of 10000 left (1.5%) is under 20%"},
		},
		{
			name: "provider named",
			r:    report.Report{Quotas: []report.Quota{{Provider: refresh.DCDN, Kind: report.KindDir, Total: 100, Remain: 0}}},
			want: []string{"DCDN directory refresh quota: 0 of 100 left (0%) is under 20%"},
		},
		{
			name: "exactly at the threshold is not under",
			r:    report.Report{Quotas: []report.Quota{{Kind: report.KindURL, Total: 10000, Remain: 2000}}},
		},
		{
			name: "just under shows rounded down",
			r:    report.Report{Quotas: []report.Quota{{Kind: report.KindURL, Total: 10000, Remain: 1999}}},
			want: []string{"URL refresh quota: 1999 of 10000 left (19.9%) is under 20%"},
		},
		{
			name: "no default for regex",
			r:    report.Report{Quotas: []report.Quota{{Kind: report.KindRegex, Total: 20, Remain: 0}}},
		},
		{
			name:   "absolute threshold",
			policy: report.Policy{Thresholds: map[string]report.Threshold{report.KindURL: {Absolute: 500}}},
			r: report.Report{Quotas: []report.Quota{
				{Kind: report.KindURL, Total: 10000, Remain: 499},
				{Kind: report.KindDir, Total: 100, Remain: 10}, // default still applies
			}},
			want: []string{
				"URL refresh quota: 499 of 10000 left (4.9%) is under 500",
				"directory refresh quota: 10 of 100 left (10%) is under 20%",
			},
		},
		{
			name:   "absolute threshold not reached",
			policy: report.Policy{Thresholds: map[string]report.Threshold{report.KindURL: {Absolute: 500}}},
			r:      report.Report{Quotas: []report.Quota{{Kind: report.KindURL, Total: 10000, Remain: 500}}},
		},
		{
			name:   "percent and absolute: either fires",
			policy: report.Policy{Thresholds: map[string]report.Threshold{report.KindRegex: {Percent: 10, Absolute: 5}}},
			r:      report.Report{Quotas: []report.Quota{{Kind: report.KindRegex, Total: 20, Remain: 4}}},
			want:   []string{"regex refresh quota: 4 of 20 left (20%) is under 5"},
		},
		{
			name:   "zero threshold turns a default off",
			policy: report.Policy{Thresholds: map[string]report.Threshold{report.KindURL: {}}},
			r:      report.Report{Quotas: []report.Quota{{Kind: report.KindURL, Total: 10000, Remain: 0}}},
		},
		{
			name:   "unknown total: only the absolute check",
			policy: report.Policy{Thresholds: map[string]report.Threshold{report.KindBlock: {Percent: 50, Absolute: 10}}},
			r:      report.Report{Quotas: []report.Quota{{Kind: report.KindBlock, Remain: 3}}},
			want:   []string{"block quota: 3 left is under 10"},
		},
		{
			name: "failed tasks beyond those read",
			r:    report.Report{Quotas: healthy, Failed: make([]report.Task, 100), FailedTotal: 250},
			want: []string{"250 failed tasks"},
		},
		{
			name: "one failed task",
			r:    report.Report{Failed: make([]report.Task, 1)},
			want: []string{"1 failed task"},
		},
		{
			name: "spill not empty",
			r:    report.Report{Spill: report.SpillStats{Count: 12, Oldest: time.Date(2025, 6, 1, 8, 0, 0, 0, cst)}},
			want: []string{"12 changes waiting in spill since 2025-06-01 08:00 CST"},
		},
		{
			name: "replay rejected",
			r:    report.Report{Replay: refresh.Replayed{Submitted: 3, Rejected: 1}},
			want: []string{"1 spilled change rejected on replay"},
		},
		{
			name: "replay submitted only is no problem",
			r:    report.Report{Replay: refresh.Replayed{Submitted: 3}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.policy.Problems(tt.r)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Problems() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPolicyShouldSend(t *testing.T) {
	quiet := report.Report{Quotas: []report.Quota{{Kind: report.KindURL, Total: 10000, Remain: 9999}}}
	troubled := report.Report{Failed: []report.Task{{ID: "1", Status: "Failed"}}}
	low := report.Report{Quotas: []report.Quota{{Kind: report.KindURL, Total: 10000, Remain: 10}}}
	tests := []struct {
		name string
		when string
		r    report.Report
		want bool
	}{
		{"always sends a quiet report", report.WhenAlways, quiet, true},
		{"problems skips a quiet report", report.WhenProblems, quiet, false},
		{"default is problems", "", quiet, false},
		{"problems sends failed tasks", report.WhenProblems, troubled, true},
		{"problems sends low quota", "", low, true},
		{"always sends problems", report.WhenAlways, troubled, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (report.Policy{When: tt.when}).ShouldSend(tt.r); got != tt.want {
				t.Errorf("Policy{When: %q}.ShouldSend() = %v, want %v", tt.when, got, tt.want)
			}
		})
	}
}

func TestParseThreshold(t *testing.T) {
	tests := []struct {
		in      string
		want    report.Threshold
		wantErr string
	}{
		{in: "20%", want: report.Threshold{Percent: 20}},
		{in: " 2.5 % ", want: report.Threshold{Percent: 2.5}},
		{in: "500", want: report.Threshold{Absolute: 500}},
		{in: "0", want: report.Threshold{}},
		{in: "0%", want: report.Threshold{}},
		{in: "100%", want: report.Threshold{Percent: 100}},
		{in: "101%", wantErr: `threshold "101%": want a percentage from 0% to 100%`},
		{in: "-5", wantErr: `threshold "-5": want a percentage like "20%" or a count like "500"`},
		{in: "lots", wantErr: `threshold "lots": want a percentage like "20%" or a count like "500"`},
		{in: "", wantErr: `threshold "": want a percentage`},
		{in: "NaN%", wantErr: `threshold "NaN%": want a percentage from 0% to 100%`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := report.ParseThreshold(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseThreshold(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseThreshold(%q) error = %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseThreshold(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if back, err := report.ParseThreshold(got.String()); err != nil || back != got {
				t.Errorf("ParseThreshold(%q) = %+v, %v; want the round trip of %+v", got.String(), back, err, got)
			}
		})
	}
}

func TestParseThresholds(t *testing.T) {
	got, err := report.ParseThresholds(map[string]string{"url": "5%", "preload": "100"})
	if err != nil {
		t.Fatalf("ParseThresholds() error = %v", err)
	}
	want := map[string]report.Threshold{"url": {Percent: 5}, "preload": {Absolute: 100}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseThresholds() mismatch (-want +got):\n%s", diff)
	}

	_, err = report.ParseThresholds(map[string]string{"urls": "5%", "dir": "half"})
	for _, want := range []string{`dir: threshold "half"`, `unknown quota kind "urls"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseThresholds(bad) error = %v, want one containing %q", err, want)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name    string
		p       report.Policy
		wantErr string
	}{
		{name: "zero", p: report.Policy{}},
		{name: "full", p: report.Policy{When: "always", Thresholds: map[string]report.Threshold{"block": {Absolute: 3}}}},
		{name: "bad when", p: report.Policy{When: "sometimes"}, wantErr: `report.when "sometimes"`},
		{name: "bad kind", p: report.Policy{Thresholds: map[string]report.Threshold{"URL": {Percent: 1}}}, wantErr: `unknown quota kind "URL"`},
		{name: "bad percent", p: report.Policy{Thresholds: map[string]report.Threshold{"url": {Percent: 120}}}, wantErr: "percent 120 is outside 0 to 100"},
		{name: "bad count", p: report.Policy{Thresholds: map[string]report.Threshold{"dir": {Absolute: -1}}}, wantErr: "count -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
