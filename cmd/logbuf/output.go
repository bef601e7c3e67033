package main

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// formats are the ways tail and replay write records.
var formats = []string{"raw", "len", "hex"}

const formatHelp = `output format:
  raw  the payloads back to back, nothing between them
  len  each payload after its length as a 4-byte little-endian integer
  hex  a numbered header line and a hex dump (hexdump -C style) per record`

// recordWriter writes records to w in one of the formats.
type recordWriter struct {
	w      *bufio.Writer
	format string
	n      uint64 // records written
}

func newRecordWriter(w io.Writer, format string) *recordWriter {
	return &recordWriter{w: bufio.NewWriterSize(w, 256<<10), format: format}
}

// write adds one record. Errors stick in the buffer: flush reports them.
func (rw *recordWriter) write(p []byte) error {
	rw.n++
	switch rw.format {
	case "len":
		var hdr [4]byte
		binary.LittleEndian.PutUint32(hdr[:], uint32(len(p)))
		rw.w.Write(hdr[:])
		rw.w.Write(p)
	case "hex":
		fmt.Fprintf(rw.w, "record %d, %d bytes\n", rw.n, len(p))
		d := hex.Dumper(rw.w)
		d.Write(p)
		d.Close()
	default:
		rw.w.Write(p)
	}
	return nil
}

func (rw *recordWriter) flush() error { return rw.w.Flush() }

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
