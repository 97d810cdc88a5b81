package window_test

import (
	"strconv"
	"testing"

	cdnemu "github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/window"
)

// TestDefaultQPSAsDocumented: the client paces every API at the calls per
// second its page states, the rate the emulator enforces
// (cdnemu.Documented), and paces every API the documents give a rate.
func TestDefaultQPSAsDocumented(t *testing.T) {
	t.Parallel()
	qps := window.DefaultQPS()
	documented := map[string]bool{}
	for _, st := range cdnemu.Documented {
		if st.Kind != cdnemu.KindLimit || st.Name != cdnemu.NameCallsPerSecond {
			continue
		}
		documented[st.API] = true
		want, err := strconv.ParseFloat(st.Value, 64)
		if err != nil {
			t.Fatalf("%s: calls per second %q: %v", st.API, st.Value, err)
		}
		if got, ok := qps[st.API]; !ok || got != want {
			t.Errorf("DefaultQPS()[%s] = %v (paced: %v), want %v (%s)", st.API, got, ok, want, st.Source)
		}
	}
	if len(documented) < 10 {
		t.Errorf("the documents give %d APIs a rate; want the full list", len(documented))
	}
	for api := range qps {
		if !documented[api] && api != "RefreshObjectCacheByCacheTag" && api != "RefreshDcdnObjectCacheByCacheTag" {
			t.Errorf("DefaultQPS paces %s, for which the documents give no rate", api)
		}
	}
}
