package archive

import (
	"errors"
	"fmt"
	"io"
)

// scanner reads the frames of one segment through an io.ReaderAt, checking
// each (spec section 4) and resynchronising past damage (section 5). It is
// the only decoder of frames: the Reader, the Writer's repair and Resume all
// use it.
type scanner struct {
	src    io.ReaderAt
	size   int64 // the segment's size when it was opened
	path   string
	strict bool

	hdr segHeader
	off int64 // offset of the next frame
	// The next frame's sequence number and position are at least these:
	// one past the last frame read, or the header's first_seq and first_pos.
	nextSeq, nextPos uint64
	// budget is the checksum work (bytes) resynchronisation may still do in
	// this segment, so that hostile bytes cannot make it quadratic.
	budget int64

	buf    []byte // the segment's bytes [bufOff, bufOff+len(buf))
	bufOff int64
}

// window is how much the scanner reads at a time.
const window = 256 << 10

// resyncBudget bounds the checksum work of resynchronisation in a segment of
// size bytes: a few passes over it. Random damage costs one checksum per
// damaged span; only crafted bytes come near the bound.
func resyncBudget(size int64) int64 { return 4*size + 1<<20 }

// frame is one valid frame.
type frame struct {
	pos, seq uint64
	data     []byte // the payload, aliasing the scanner's buffer
	off      int64  // the frame's offset in the segment
}

// errShrank: the segment became shorter than it was when opened (another
// process truncated it).
var errShrank = errors.New("segment shrank while being read")

// reset starts reading a segment of size bytes from src and checks its
// header. A damaged header makes the whole segment unreadable: its frames
// cannot be attributed to a ring.
func (s *scanner) reset(src io.ReaderAt, size int64, path string, strict bool) (*DamageError, error) {
	s.src, s.size, s.path, s.strict = src, size, path, strict
	s.buf, s.bufOff = s.buf[:0], 0
	s.off = size
	s.budget = resyncBudget(size)
	b, err := s.bytes(0, min(size, HeaderSize))
	if err != nil {
		return s.ioDamage(0, err)
	}
	h, fl := parseHeader(b)
	if fl != nil {
		return &DamageError{Path: path, Offset: 0, Skipped: size, Reason: fl.reason, Err: fl.kind}, nil
	}
	s.hdr, s.off = h, HeaderSize
	s.nextSeq, s.nextPos = h.firstSeq, h.firstPos
	return nil, nil
}

// next returns the next valid frame; or a DamageError for the span skipped
// before it (the frame is then returned by the following call); or io.EOF
// at the end of the segment. Other errors are I/O errors.
func (s *scanner) next() (frame, *DamageError, error) {
	if s.off >= s.size {
		return frame{}, nil, io.EOF
	}
	start := s.off
	f, fl, err := s.frameAt(start)
	if err != nil {
		d, err := s.ioDamage(start, err)
		return frame{}, d, err
	}
	if fl == nil {
		s.off = start + FrameHeaderSize + int64(len(f.data))
		s.nextSeq, s.nextPos = f.seq+1, f.pos+1
		return f, nil, nil
	}
	reason := fl.reason
	to := s.size
	if !s.strict {
		var gaveUp bool
		to, gaveUp, err = s.resync(start)
		if err != nil {
			d, err := s.ioDamage(start, err)
			return frame{}, d, err
		}
		if gaveUp {
			reason += fmt.Sprintf(" (resynchronisation gave up after %d bytes of checksums)", resyncBudget(s.size))
		}
	}
	s.off = to
	return frame{}, &DamageError{Path: s.path, Offset: start, Skipped: to - start, Reason: reason, Err: fl.kind}, nil
}

// ioDamage turns a segment that shrank under the reader into damage at off
// to its end; other errors stay errors.
func (s *scanner) ioDamage(off int64, err error) (*DamageError, error) {
	if !errors.Is(err, errShrank) {
		return nil, fmt.Errorf("archive: read segment %s: %w", s.path, err)
	}
	s.off = s.size
	return &DamageError{Path: s.path, Offset: off, Skipped: s.size - off, Reason: errShrank.Error(), Err: ErrTruncated}, nil
}

// frameAt reads and checks the frame at offset o (spec section 4): a frame,
// or the flaw that makes the bytes at o not one.
func (s *scanner) frameAt(o int64) (frame, *flaw, error) {
	left := s.size - o
	if left < FrameHeaderSize {
		b, err := s.bytes(o, left)
		if err != nil {
			return frame{}, nil, err
		}
		if allZero(b) {
			return frame{}, flawf(ErrTruncated, "zeros where a frame should start (a write that never reached the disk)"), nil
		}
		return frame{}, flawf(ErrTruncated, "frame header cut short (%d of %d bytes)", left, FrameHeaderSize), nil
	}
	b, err := s.bytes(o, FrameHeaderSize)
	if err != nil {
		return frame{}, nil, err
	}
	if allZero(b) {
		return frame{}, flawf(ErrTruncated, "zeros where a frame should start (a write that never reached the disk)"), nil
	}
	h := parseFrameHeader(b)
	if h.length == 0 || h.length > MaxRecord {
		return frame{}, flawf(ErrCorrupt, "frame length %d not in 1..%d", h.length, MaxRecord), nil
	}
	// Checked before the payload is read, so a damaged length cannot make
	// the reader allocate more than the segment holds.
	if n := int64(h.length); n > left-FrameHeaderSize {
		return frame{}, flawf(ErrTruncated, "frame of %d bytes cut short (%d present)", n, left-FrameHeaderSize), nil
	}
	b, err = s.bytes(o, FrameHeaderSize+int64(h.length))
	if err != nil {
		return frame{}, nil, err
	}
	if got := frameCRC(b[offLength:], nil); got != h.crc {
		return frame{}, flawf(ErrCorrupt, "frame checksum %#08x, want %#08x", got, h.crc), nil
	}
	return frame{pos: h.pos, seq: h.seq, data: b[FrameHeaderSize:], off: o}, nil, nil
}

// resync finds the first valid frame after the damage at from that follows
// what came before (spec section 5): its length in range and inside the
// segment, its sequence number at least nextSeq and at most one more per
// minimal frame that fits in the skipped span, its position at least
// nextPos, and its checksum right. It returns the frame's offset, or the
// segment's size when there is none (or the checksum budget ran out).
func (s *scanner) resync(from int64) (to int64, gaveUp bool, err error) {
	for o := from + 1; o <= s.size-minFrame; o++ {
		b, err := s.bytes(o, FrameHeaderSize)
		if err != nil {
			return 0, false, err
		}
		h := parseFrameHeader(b)
		if h.length == 0 || h.length > MaxRecord || int64(h.length) > s.size-o-FrameHeaderSize {
			continue
		}
		if lost := uint64((o - from) / minFrame); h.seq < s.nextSeq || h.seq-s.nextSeq > lost || h.pos < s.nextPos {
			continue
		}
		n := int64(h.length) + FrameHeaderSize - offLength
		if n > s.budget {
			return s.size, true, nil
		}
		s.budget -= n
		b, err = s.bytes(o, FrameHeaderSize+int64(h.length))
		if err != nil {
			return 0, false, err
		}
		if frameCRC(b[offLength:], nil) == h.crc {
			return o, false, nil
		}
	}
	return s.size, false, nil
}

// bytes returns the segment's bytes [o, o+n), n <= size-o, reading a window
// of them when they are not buffered. The buffer grows only to what a valid
// request asks, which is bounded by the segment's size.
func (s *scanner) bytes(o, n int64) ([]byte, error) {
	if o >= s.bufOff && o+n <= s.bufOff+int64(len(s.buf)) {
		return s.buf[o-s.bufOff : o-s.bufOff+n], nil
	}
	m := min(max(n, window), s.size-o)
	if int64(cap(s.buf)) < m {
		s.buf = make([]byte, m)
	}
	s.buf = s.buf[:m]
	k, err := s.src.ReadAt(s.buf, o)
	s.buf, s.bufOff = s.buf[:k], o
	if int64(k) < n {
		if err == nil || err == io.EOF {
			return nil, errShrank
		}
		return nil, err
	}
	return s.buf[:n], nil
}
