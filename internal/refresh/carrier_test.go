package refresh

import "testing"

// TestCarrier: the URL of a call that carries a job out, compared as the
// planner compares them (scheme and host in any case).
func TestCarrier(t *testing.T) {
	t.Parallel()
	urls := []string{"https://cdn.example.com/pkg/", "https://cdn.example.com/pkg/dist/", "https://cdn.example.com/a.js"}
	for _, tt := range []struct{ u, want string }{
		{"https://cdn.example.com/pkg/dist/x.js", "https://cdn.example.com/pkg/dist/"},
		{"https://CDN.Example.com/pkg/x.js", "https://cdn.example.com/pkg/"},
		{"HTTPS://cdn.example.com/a.js", "https://cdn.example.com/a.js"},
		{"https://cdn.example.com/PKG/x.js", ""}, // paths are case-sensitive
		{"https://other.example.com/pkg/x.js", ""},
	} {
		if got := carrier(tt.u, urls); got != tt.want {
			t.Errorf("carrier(%q) = %q, want %q", tt.u, got, tt.want)
		}
	}
}
