// Package cbind holds the C binding of the ring protocol: logbuf.h, a
// header-only C11 library for producers and a consumer of ring files, and
// logbuf_abi.h, its layout constants, generated from package abi. The Go
// files here are its tests: they build the C programs in tests/ and run them
// against Go producers and consumers in other processes, under the
// sanitizers, on hostile regions, and through the CMake and pkg-config
// install (README.md lists them).
//
// Regenerate the constants after changing abi with "go generate ./cbind".
package cbind

//go:generate go run ../abi/internal/genc -o logbuf_abi.h
