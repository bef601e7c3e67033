//go:build race

package logio

const raceEnabled = true
