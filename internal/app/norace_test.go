//go:build !race

package app_test

// raceSlowdown: see race_test.go.
const raceSlowdown = 1
