//go:build race

package ship_test

// raceEnabled shrinks the big runs: the race detector makes each record
// cost about seven times as much.
const raceEnabled = true
