//go:build !race

package logio

const raceEnabled = false
