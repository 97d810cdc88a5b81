//go:build race

package app_test

// raceSlowdown is how much slower the race detector makes a CPU-bound
// test: timing bounds are stretched by it (speed is measured by the
// benchmarks, without it). TestPackageBurst's slowest answer goes from
// 0.5 s to 3.5–4.4 s under it, on 2 cores shared with the other test
// binaries, and to 10–13 s with a second suite running beside: 3 (a 9 s
// bound) failed there.
const raceSlowdown = 5
