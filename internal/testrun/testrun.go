// Package testrun holds what the tests of several packages share: their
// TestMain, and a buffer for concurrent output.
package testrun

import (
	"flag"
	"os"
	"runtime"
	"strconv"
	"testing"
)

// Main runs m's tests, up to n of those that call t.Parallel at once when
// the command line does not say (-parallel) and GOMAXPROCS is lower, and
// exits. Call it from the TestMain of a package whose parallel tests
// mostly wait — on windows, deadlines, processes, delays injected into an
// emulator — rather than compute: at the default, GOMAXPROCS (2 on CI),
// they would take turns on an idle machine.
func Main(m *testing.M, n int) {
	if !flag.Parsed() {
		flag.Parse()
	}
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set && runtime.GOMAXPROCS(0) < n {
		_ = flag.Set("test.parallel", strconv.Itoa(n)) // registered by testing: cannot fail
	}
	os.Exit(m.Run())
}
