//go:build !linux

package abi

// Without Linux's mmap there are no ring files (file_other.go): nothing is
// ever mapped, so nothing is unmapped.
func unmap([]byte) error { return errNoFiles }
