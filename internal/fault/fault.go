// Package fault is the seam through which tests make the archive's segment
// files fail or stall inside a real archiver process: the archive package
// passes every segment file it opens through Wrap. Nothing sets Wrap in the
// library or in a normal build of the tool; cmd/logbuf sets it only when
// built with the tag logbuf_faults and told how by the LOGBUF_FAULTS
// environment variable (cmd/logbuf/faults.go).
package fault

import (
	"io"
	"io/fs"
)

// File is what the archive Writer does with a segment file; *os.File is one.
type File interface {
	io.Writer
	io.ReaderAt
	Sync() error
	Truncate(size int64) error
	Stat() (fs.FileInfo, error)
	Close() error
}

// Wrap, when not nil, receives every segment file the archive Writer creates
// or opens for writing, with its path, and returns the File the Writer uses
// in its place. It is set before any archive is opened and never changed.
var Wrap func(path string, f File) File
