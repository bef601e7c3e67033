package asm

// Pause tells the CPU that the caller is spinning on a value another core
// will write: PAUSE on amd64, YIELD on arm64, nothing with the purego tag.
// Call it once per failed poll. Besides saving power, it spaces the polls
// out: a consumer that re-reads the header word a producer is writing, as
// fast as it can, keeps pulling that line away from the producer, and on a
// machine where lines cross between cores slowly the two can settle into
// one transfer per record (ring's benchmarks show the difference).
func Pause() { pause() }
