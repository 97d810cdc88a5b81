package refresh_test

import (
	"testing"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

func TestAPIFor(t *testing.T) {
	tests := []struct {
		p    refresh.Provider
		a    refresh.Action
		want string
	}{
		{refresh.CDN, refresh.ActionRefresh, "RefreshObjectCaches"},
		{refresh.CDN, refresh.ActionPrefetch, "PushObjectCache"},
		{refresh.DCDN, refresh.ActionRefresh, "RefreshDcdnObjectCaches"},
		{refresh.DCDN, refresh.ActionPrefetch, "PreloadDcdnObjectCaches"},
		{"", refresh.ActionRefresh, "RefreshObjectCaches"}, // the default provider
		{"akamai", refresh.ActionRefresh, ""},
		{refresh.CDN, "purge", ""},
	}
	for _, tt := range tests {
		if got := refresh.APIFor(tt.p, tt.a); got != tt.want {
			t.Errorf("APIFor(%q, %q) = %q, want %q", tt.p, tt.a, got, tt.want)
		}
	}
}

func TestQuotaKind(t *testing.T) {
	tests := []struct {
		j    refresh.Job
		want refresh.QuotaKind
	}{
		{refresh.Job{Action: refresh.ActionRefresh, ObjectType: refresh.File}, refresh.QuotaURL},
		{refresh.Job{Action: refresh.ActionRefresh}, refresh.QuotaURL},
		{refresh.Job{Action: refresh.ActionRefresh, ObjectType: refresh.Directory}, refresh.QuotaDir},
		{refresh.Job{Action: refresh.ActionRefresh, ObjectType: refresh.Regex}, refresh.QuotaRegex},
		{refresh.Job{Action: refresh.ActionRefresh, ObjectType: refresh.IgnoreParams}, refresh.QuotaIgnoreParams},
		{refresh.Job{Action: refresh.ActionPrefetch, ObjectType: refresh.Directory}, refresh.QuotaPreload},
	}
	for _, tt := range tests {
		if got := tt.j.QuotaKind(); got != tt.want {
			t.Errorf("Job{%s %s}.QuotaKind() = %q, want %q", tt.j.Action, tt.j.ObjectType, got, tt.want)
		}
		c := refresh.Call{Action: tt.j.Action, ObjectType: tt.j.ObjectType}
		if got := c.QuotaKind(); got != tt.want {
			t.Errorf("Call{%s %s}.QuotaKind() = %q, want %q", c.Action, c.ObjectType, got, tt.want)
		}
	}
}

func TestQuotaSpend(t *testing.T) {
	q := refresh.Quota{URL: 10, Dir: 5, Regex: 1, IgnoreParams: 3, Preload: refresh.Unlimited}
	q.Spend(refresh.QuotaURL, 4)
	q.Spend(refresh.QuotaDir, 9)
	q.Spend(refresh.QuotaRegex, -1)
	q.Spend(refresh.QuotaPreload, 100)
	want := refresh.Quota{URL: 6, Dir: 0, Regex: 0, IgnoreParams: 3, Preload: refresh.Unlimited}
	if q != want {
		t.Errorf("after spending: %+v, want %+v", q, want)
	}
	for _, k := range refresh.SpendKinds {
		if got, w := q.Of(k), map[refresh.QuotaKind]int{refresh.QuotaURL: 6, refresh.QuotaDir: 0, refresh.QuotaRegex: 0, refresh.QuotaIgnoreParams: 3, refresh.QuotaPreload: refresh.Unlimited}[k]; got != w {
			t.Errorf("Of(%s) = %d, want %d", k, got, w)
		}
	}
	d := refresh.DailyQuota{refresh.QuotaURL: {Total: 10000, Remain: 9}, refresh.QuotaPreload: {Total: 1000, Remain: 7}}
	if got, want := d.Remaining(), (refresh.Quota{URL: 9, Preload: 7}); got != want {
		t.Errorf("Remaining() = %+v, want %+v (a kind not answered counts as none left)", got, want)
	}
}
