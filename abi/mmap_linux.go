//go:build linux

package abi

import "golang.org/x/sys/unix"

// The memory mappings of ring files, apart from the files' logic so that
// File (file.go) and Create/OpenFile (file_linux.go) both stand on them.

// mapFile maps the first n bytes of the file fd, shared and writable.
func mapFile(fd, n int) ([]byte, error) {
	return unix.Mmap(fd, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
}

func unmap(mem []byte) error { return unix.Munmap(mem) }
