// Package testrun holds what the TestMain functions of several packages
// share.
package testrun

import (
	"flag"
	"runtime"
	"strconv"
)

// Parallel lets up to n tests that call t.Parallel run at once when the
// command line does not say (-parallel) and GOMAXPROCS is lower. Call it
// from TestMain, before m.Run, in a package whose parallel tests mostly
// wait — on windows, deadlines, delays injected into an emulator — rather
// than compute: at the default, GOMAXPROCS (2 on CI), they would take
// turns on an idle machine.
func Parallel(n int) {
	if !flag.Parsed() {
		flag.Parse()
	}
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set && runtime.GOMAXPROCS(0) < n {
		_ = flag.Set("test.parallel", strconv.Itoa(n)) // registered by testing: cannot fail
	}
}
