package plan

import (
	"testing"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

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
