// Package fuzz checks the rings of package ring against a plain reference
// model (Model: a list of records and a byte-exact picture of the data area)
// with Go's native fuzzing, and drains hostile memory with the consumer.
//
// The targets live in the package's tests:
//
//	FuzzSPSC     decoded claim/write/commit/abort/read/release sequences, SPSC
//	FuzzMPSC     the same with several producers interleaved by the input
//	FuzzHostile  arbitrary region headers and data areas, opened and drained
//	FuzzKernels  (in fuzz/kernels) asm.Zero against the built-in clear
//
// "go test ./fuzz" replays the committed corpus in testdata/fuzz; set
// LOGBUF_STRESS_DURATION (e.g. 30s) to also run concurrent MPSC producers and
// a consumer for that long, checking every record.
package fuzz
