// Package abi is the ring protocol's memory layout in Go: the offsets, sizes and
// record header word of spec/PROTOCOL.md as constants, a Header struct that
// mirrors the region header byte for byte, and Region, a validated view over a
// []byte that holds a ring.
//
// abi is the one place where offsets live. The ring algorithms (package ring),
// the C header (cbind/logbuf_abi.h, generated from this package) and the
// protocol document all follow it; spec_test.go checks the document's tables
// against these constants.
//
// Memory handed to Open may have been written by another process, so Open
// checks every field before anything trusts it and reports the first problem
// as a *CorruptError.
package abi
