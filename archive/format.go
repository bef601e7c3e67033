package archive

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"strconv"
	"strings"
)

// The segment layout of spec/ARCHIVE.md sections 2 and 3. The spec's tables
// are checked against these constants by spec_test.go.
const (
	// Magic opens every segment file.
	Magic = "LBARCHIV"
	// Version is the format version this package writes and reads.
	Version = 1
	// HeaderSize is the size of a segment header; the first frame follows it.
	HeaderSize = 48
	// FrameHeaderSize is the size of the fields before each payload.
	FrameHeaderSize = 24
	// MaxRecord is the largest payload a frame holds: the largest payload a
	// ring can carry (2^31 / 8). Readers check a frame's length against it
	// before allocating.
	MaxRecord = 1 << 28
	// Ext is the segment files' extension.
	Ext = ".seg"
)

// Segment header fields (spec section 2).
const (
	offMagic     = 0x00
	offVersion   = 0x08
	offRingID    = 0x0C
	offFirstPos  = 0x1C
	offFirstSeq  = 0x24
	offHeaderCRC = 0x2C
)

// Frame fields, relative to the frame's first byte (spec section 3).
const (
	offFrameCRC = 0x00
	offLength   = 0x04
	offPos      = 0x08
	offSeq      = 0x10
)

// minFrame is the smallest frame: a header and a one-byte payload. It bounds
// how many frames a damaged span can have held.
const minFrame = FrameHeaderSize + 1

// oldMagic opens the segments of internal/segment (since removed), the
// format before this one; a reader names it instead of calling it garbage.
const oldMagic = "LBSEG\x00\x00\x01"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// RecordID names one archived record: the ring it came from, its position in
// that ring and the ring's sequence number for it (drain.Record's Pos and
// Seq).
type RecordID struct {
	RingID [16]byte
	Pos    uint64
	Seq    uint64
}

// segHeader is a decoded segment header.
type segHeader struct {
	ringID   [16]byte
	firstPos uint64
	firstSeq uint64
}

// putHeader encodes h into b[:HeaderSize].
func putHeader(b []byte, h segHeader) {
	b = b[:HeaderSize]
	copy(b[offMagic:], Magic)
	binary.LittleEndian.PutUint32(b[offVersion:], Version)
	copy(b[offRingID:], h.ringID[:])
	binary.LittleEndian.PutUint64(b[offFirstPos:], h.firstPos)
	binary.LittleEndian.PutUint64(b[offFirstSeq:], h.firstSeq)
	sealHeader(b)
}

// sealHeader stores the CRC of the header held in b.
func sealHeader(b []byte) {
	binary.LittleEndian.PutUint32(b[offHeaderCRC:], crc32.Checksum(b[:offHeaderCRC], castagnoli))
}

// flaw says why bytes are not a valid header or frame: a kind (ErrTruncated,
// ErrCorrupt, ErrVersion) and a reason for people.
type flaw struct {
	kind   error
	reason string
}

func flawf(kind error, format string, args ...any) *flaw {
	return &flaw{kind, fmt.Sprintf(format, args...)}
}

// parseHeader decodes and checks a segment header (spec section 2, "Reading
// a header"). b holds the file's first bytes, up to HeaderSize.
func parseHeader(b []byte) (segHeader, *flaw) {
	if len(b) < HeaderSize {
		return segHeader{}, flawf(ErrTruncated, "segment header cut short (%d of %d bytes)", len(b), HeaderSize)
	}
	b = b[:HeaderSize]
	if allZero(b) {
		return segHeader{}, flawf(ErrTruncated, "zeros where the segment header should be (a write that never reached the disk)")
	}
	if magic := string(b[offMagic : offMagic+len(Magic)]); magic != Magic {
		if magic == oldMagic {
			return segHeader{}, flawf(ErrVersion, "a segment of the format before spec/ARCHIVE.md (magic %q, internal/segment)", magic)
		}
		return segHeader{}, flawf(ErrCorrupt, "bad magic %q, not an archive segment", magic)
	}
	if got, want := binary.LittleEndian.Uint32(b[offHeaderCRC:]), crc32.Checksum(b[:offHeaderCRC], castagnoli); got != want {
		return segHeader{}, flawf(ErrCorrupt, "header checksum %#08x, want %#08x", got, want)
	}
	if v := binary.LittleEndian.Uint32(b[offVersion:]); v != Version {
		return segHeader{}, flawf(ErrVersion, "format version %d, this reader knows version %d", v, Version)
	}
	var h segHeader
	copy(h.ringID[:], b[offRingID:])
	h.firstPos = binary.LittleEndian.Uint64(b[offFirstPos:])
	h.firstSeq = binary.LittleEndian.Uint64(b[offFirstSeq:])
	return h, nil
}

// frameHeader is the decoded fixed part of a frame.
type frameHeader struct {
	crc    uint32
	length uint32
	pos    uint64
	seq    uint64
}

// putFrameHeader encodes a frame header without its CRC into
// b[:FrameHeaderSize]; sealFrame adds the CRC once the payload follows.
func putFrameHeader(b []byte, length int, pos, seq uint64) {
	b = b[:FrameHeaderSize]
	binary.LittleEndian.PutUint32(b[offLength:], uint32(length))
	binary.LittleEndian.PutUint64(b[offPos:], pos)
	binary.LittleEndian.PutUint64(b[offSeq:], seq)
}

// sealFrame stores the CRC of a whole frame held in b (header and payload).
func sealFrame(b []byte) { putCRC(b, frameCRC(b[offLength:], nil)) }

// putCRC stores a frame's CRC in its header b.
func putCRC(b []byte, crc uint32) { binary.LittleEndian.PutUint32(b[offFrameCRC:], crc) }

// frameCRC is the frame checksum (spec section 3): CRC-32C of the frame's
// bytes from its length field to the end of its payload. A writer that sends
// a large payload without copying it passes the header's covered bytes and
// the payload apart; contiguous frames pass everything in fields.
func frameCRC(fields, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(fields, castagnoli), castagnoli, payload)
}

func parseFrameHeader(b []byte) frameHeader {
	b = b[:FrameHeaderSize]
	return frameHeader{
		crc:    binary.LittleEndian.Uint32(b[offFrameCRC:]),
		length: binary.LittleEndian.Uint32(b[offLength:]),
		pos:    binary.LittleEndian.Uint64(b[offPos:]),
		seq:    binary.LittleEndian.Uint64(b[offSeq:]),
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Name is the file name of segment number n: 20 decimal digits, so that
// names sort in order, and Ext.
func Name(n uint64) string { return fmt.Sprintf("%020d%s", n, Ext) }

// parseName returns the number of a segment file name.
func parseName(name string) (uint64, bool) {
	base, ok := strings.CutSuffix(name, Ext)
	if !ok || len(base) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(base, 10, 64)
	return n, err == nil
}

var (
	// ErrTruncated is wrapped by a DamageError where a segment ends in the
	// middle of a header or frame, or holds zeros where one should be: the
	// marks of a crash while writing.
	ErrTruncated = errors.New("segment cut short")
	// ErrCorrupt is wrapped by a DamageError for bytes that are there but
	// wrong: a bad magic, a length out of range, a checksum mismatch.
	ErrCorrupt = errors.New("segment corrupt")
	// ErrVersion is wrapped by a DamageError for a segment of another
	// format version.
	ErrVersion = errors.New("segment of another format version")
)

// DamageError reports a damaged span of a segment: where it starts, how
// many bytes were skipped (to the next valid frame, or to the end of the
// segment), and why the first bytes there were not a valid frame.
type DamageError struct {
	Path    string // the segment file
	Offset  int64  // byte offset in the file where the damage starts
	Skipped int64  // bytes skipped from Offset
	Reason  string
	Err     error // ErrTruncated, ErrCorrupt or ErrVersion
}

// Error names the segment, the offset, the reason and what was skipped.
func (e *DamageError) Error() string {
	return fmt.Sprintf("archive: segment %s: %v at offset %d: %s; %d bytes skipped",
		filepath.Base(e.Path), e.Err, e.Offset, e.Reason, e.Skipped)
}

// Unwrap returns the kind of damage, for errors.Is.
func (e *DamageError) Unwrap() error { return e.Err }
