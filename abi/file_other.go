//go:build !linux

package abi

import "errors"

// errNoFiles is what the ring file functions return where they are not
// implemented: they rely on Linux's mmap, ftruncate and renameat2.
var errNoFiles = errors.New("logbuf: ring files are implemented on Linux only")

// Create makes a ring file; on this system it always fails.
func Create(path string, capacity uint64, mode Mode, opts *CreateOptions) (*File, error) {
	return nil, errNoFiles
}

// OpenFile maps an existing ring file; on this system it always fails.
func OpenFile(path string) (*File, error) {
	return nil, errNoFiles
}

// OpenFileReadOnly maps an existing ring file for reading; on this system it
// always fails.
func OpenFileReadOnly(path string) (*File, error) {
	return nil, errNoFiles
}
