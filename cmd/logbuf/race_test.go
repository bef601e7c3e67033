//go:build race

package main

// raceEnabled builds the tool under test with -race too, so that the
// processes the tests run are checked like the test itself.
const raceEnabled = true
