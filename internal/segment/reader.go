package segment

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// List returns the paths of the segments in dir in order. Other files are
// ignored.
func List(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type seg struct {
		seq  uint64
		path string
	}
	var segs []seg
	for _, e := range ents {
		if seq, ok := parseName(e.Name()); ok && e.Type().IsRegular() {
			segs = append(segs, seg{seq, filepath.Join(dir, e.Name())})
		}
	}
	slices.SortFunc(segs, func(a, b seg) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	paths := make([]string, len(segs))
	for i, s := range segs {
		paths[i] = s.path
	}
	return paths, nil
}

// Reader reads the records of an archive in order, segment after segment.
type Reader struct {
	segs []string
	i    int // index of the next segment to open
	f    *os.File
	br   *bufio.Reader
	off  int64 // offset of the next frame in the open segment
	size int64 // the open segment's size when opened
	buf  []byte
}

// Open lists the segments of dir for reading.
func Open(dir string) (*Reader, error) {
	segs, err := List(dir)
	if err != nil {
		return nil, err
	}
	return &Reader{segs: segs}, nil
}

// Segments is the number of segments the archive held when opened.
func (r *Reader) Segments() int { return len(r.segs) }

// Next returns the next record; its bytes are valid until the next call.
// At the end of the archive it returns io.EOF. When a segment is damaged it
// returns a *DamageError, having delivered every record before the damage;
// the next call goes on with the following segment, so a caller may report
// the damage and continue.
func (r *Reader) Next() ([]byte, error) {
	for {
		if r.f == nil {
			if r.i == len(r.segs) {
				return nil, io.EOF
			}
			if err := r.open(r.segs[r.i]); err != nil {
				r.i++
				return nil, err
			}
			r.i++
		}
		rec, err := r.frame()
		if err == io.EOF {
			r.closeSegment()
			continue
		}
		if err != nil {
			r.closeSegment()
			return nil, err
		}
		return rec, nil
	}
}

// Close closes the open segment, if any.
func (r *Reader) Close() error {
	r.closeSegment()
	return nil
}

func (r *Reader) closeSegment() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

func (r *Reader) open(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	if r.br == nil {
		r.br = bufio.NewReaderSize(f, 256<<10)
	} else {
		r.br.Reset(f)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.off, r.size = f, 0, st.Size()
	var magic [len(Magic)]byte
	n, err := io.ReadFull(r.br, magic[:])
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		r.closeSegment()
		return r.damage(path, ErrTruncated, "the %d-byte segment header is cut short (%d bytes)", len(Magic), n)
	case err != nil:
		r.closeSegment()
		return fmt.Errorf("segment %s: %w", filepath.Base(path), err)
	case string(magic[:]) != Magic:
		r.closeSegment()
		return r.damage(path, ErrCorrupt, "bad magic %q, not a logbuf segment", magic[:])
	}
	r.off = int64(len(Magic))
	return nil
}

func (r *Reader) damage(path string, kind error, format string, args ...any) error {
	return &DamageError{Path: path, Offset: r.off, Err: kind, Reason: fmt.Sprintf(format, args...)}
}

// frame reads one frame of the open segment: io.EOF at a clean end.
func (r *Reader) frame() ([]byte, error) {
	path := r.f.Name()
	var hdr [FrameHeader]byte
	n, err := io.ReadFull(r.br, hdr[:])
	switch {
	case err == io.EOF:
		return nil, io.EOF
	case err == io.ErrUnexpectedEOF:
		return nil, r.damage(path, ErrTruncated, "frame header cut short (%d of %d bytes)", n, FrameHeader)
	case err != nil:
		return nil, fmt.Errorf("segment %s: %w", filepath.Base(path), err)
	}
	size := binary.LittleEndian.Uint32(hdr[0:4])
	sum := binary.LittleEndian.Uint32(hdr[4:8])
	if size == 0 && sum == 0 {
		// Zeros where a frame should be: the file was extended (by a crash
		// of the file system or the writer) but the data never written.
		return nil, r.damage(path, ErrTruncated, "zero bytes where a frame should start (a write that never reached the disk)")
	}
	if size == 0 || size > MaxRecord {
		return nil, r.damage(path, ErrCorrupt, "record length %d not in 1..%d", size, MaxRecord)
	}
	if left := r.size - r.off - FrameHeader; int64(size) > left {
		// Checked before allocating, so a damaged length cannot ask for
		// hundreds of megabytes. (A segment still being written may grow
		// past r.size; its newer records are read by a later replay.)
		return nil, r.damage(path, ErrTruncated, "record of %d bytes cut short (%d bytes present)", size, max(left, 0))
	}
	if cap(r.buf) < int(size) {
		r.buf = make([]byte, size)
	}
	rec := r.buf[:size]
	n, err = io.ReadFull(r.br, rec)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return nil, r.damage(path, ErrTruncated, "record of %d bytes cut short (%d bytes present)", size, n)
	case err != nil:
		return nil, fmt.Errorf("segment %s: %w", filepath.Base(path), err)
	}
	if got := checksum(hdr[0:4], rec); got != sum {
		return nil, r.damage(path, ErrCorrupt, "checksum %#08x, want %#08x", got, sum)
	}
	r.off += FrameHeader + int64(size)
	return rec, nil
}
