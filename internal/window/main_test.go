package window

import (
	"testing"

	"github.com/cdnrefresh/cdnrefresh/internal/testrun"
)

// The parallel tests here wait on windows, deadlines and the emulator's
// injected delays far more than they compute.
func TestMain(m *testing.M) {
	testrun.Main(m, 4)
}
