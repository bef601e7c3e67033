//go:build !race

package cbind

const raceEnabled = false
