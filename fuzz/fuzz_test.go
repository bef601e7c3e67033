package fuzz

import "testing"

// FuzzSPSC runs a decoded sequence of claims, writes, commits, aborts, reads
// and releases against an SPSC ring and the model in lock step. The first
// byte picks the capacity (64 to 4096); see rig.step for the operations.
func FuzzSPSC(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) { runOps(t, in, false) })
}

// FuzzMPSC is FuzzSPSC for an MPSC ring with one to four producers, whose
// claims the decoded schedule interleaves, holds open and ends out of order;
// the consumer may also recover an open claim (spec section 9).
func FuzzMPSC(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) { runOps(t, in, true) })
}
