//go:build linux

package fuzz

import (
	"testing"

	"golang.org/x/sys/unix"
)

// arenas caches one guarded mapping per size, so that FuzzHostile does not
// map and unmap memory on every execution. Fuzz inputs run one at a time in
// each worker process.
var arenas = map[int][]byte{}

// guarded returns size bytes of memory whose first byte is 128-byte aligned,
// inside a mapping that has an inaccessible page before and after it: an
// access far enough outside faults instead of passing unnoticed. The bytes
// between the region and the guard pages are checked as canaries by the
// caller (see hostileMem).
func guarded(t testing.TB, size int) (arena []byte, lo int) {
	page := unix.Getpagesize()
	span := (size + page - 1) / page * page
	arena, ok := arenas[size]
	if !ok {
		m, err := unix.Mmap(-1, 0, span+2*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Mprotect(m[:page], unix.PROT_NONE); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mprotect(m[page+span:], unix.PROT_NONE); err != nil {
			t.Fatal(err)
		}
		arena = m[page : page+span : page+span]
		arenas[size] = arena
	}
	// End the region as close to the trailing guard page as the alignment
	// allows: overruns past the end are the likelier kind.
	lo = (span - size) &^ 127
	return arena, lo
}
