//go:build !race

package testrig

// RaceEnabled is whether the race detector is on: long stress tests scale
// down under it, since it slows everything several times over.
const RaceEnabled = false
