//go:build race

package app_test

// raceSlowdown is how much slower the race detector makes a CPU-bound
// test: timing bounds are stretched by it (speed is measured by the
// benchmarks, without it).
const raceSlowdown = 3
