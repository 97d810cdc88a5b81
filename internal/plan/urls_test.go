package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

func TestCanonicalDirs(t *testing.T) {
	tests := []struct {
		in        string
		self      bool
		wantCanon string
		wantDirs  []string
	}{
		{"https://d/a/b/c.png?v=1#top", true, "https://d/a/b/c.png", []string{"https://d/", "https://d/a/", "https://d/a/b/"}},
		{"HTTPS://D/A/", true, "https://d/A/", []string{"https://d/", "https://d/A/"}},
		{"HTTPS://D/A/", false, "https://d/A/", []string{"https://d/"}},
		{"d/x%2Fy/z", true, "d/x%2Fy/z", []string{"d/", "d/x%2Fy/"}},
		{"https://d", true, "https://d", nil},
		{"https://d?q=/a/", true, "https://d", nil},
	}
	for _, tt := range tests {
		c, n := canonical(tt.in)
		if c != tt.wantCanon {
			t.Errorf("canonical(%q) = %q, want %q", tt.in, c, tt.wantCanon)
		}
		var got []string
		eachDir(c, n, tt.self, func(d string) bool { got = append(got, d); return true })
		if diff := cmp.Diff(tt.wantDirs, got); diff != "" {
			t.Errorf("eachDir(%q, self=%v) mismatch (-want +got):\n%s", c, tt.self, diff)
		}
	}
}

func TestRemaining(t *testing.T) {
	const u = refresh.Unlimited
	tests := []struct{ q, r, want int }{
		{10, 3, 7},
		{10, 0, 10},
		{10, -5, 10},
		{3, 10, 0},
		{-1, 0, 0},
		{u, 5, u},
		{u, u, u},
		{5, u, 0},
	}
	for _, tt := range tests {
		got := remaining(quota(tt.q), quota(tt.r))
		if got != quota(tt.want) {
			t.Errorf("remaining(%d, reserve %d) = %+v, want %d each", tt.q, tt.r, got, tt.want)
		}
	}
}

func quota(n int) refresh.Quota {
	return refresh.Quota{URL: n, Dir: n, Regex: n, IgnoreParams: n, Preload: n}
}
