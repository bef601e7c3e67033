//go:build race

package cbind

const raceEnabled = true
