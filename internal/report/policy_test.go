package report_test

import (
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
