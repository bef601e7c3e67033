package segment

import (
	"errors"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"strconv"
	"strings"
)

// Magic opens every segment file.
const Magic = "LBSEG\x00\x00\x01"

// FrameHeader is the bytes before each record's payload: length and CRC.
const FrameHeader = 8

// MaxRecord is the largest record a segment holds: the largest payload a
// ring can carry (2^31 / 8).
const MaxRecord = 1 << 28

// Ext is the segment files' extension.
const Ext = ".seg"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum is the frame's CRC: CRC-32C of the length bytes, then payload.
func checksum(lenBytes []byte, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(lenBytes, castagnoli), castagnoli, payload)
}

// Name is the file name of segment number seq.
func Name(seq uint64) string { return fmt.Sprintf("%020d%s", seq, Ext) }

// parseName returns the sequence number of a segment file name.
func parseName(name string) (uint64, bool) {
	base, ok := strings.CutSuffix(name, Ext)
	if !ok || len(base) != 20 {
		return 0, false
	}
	seq, err := strconv.ParseUint(base, 10, 64)
	return seq, err == nil
}

var (
	// ErrTruncated is wrapped by a DamageError for a segment that ends in the
	// middle of a frame: the usual result of a crash while writing.
	ErrTruncated = errors.New("segment cut short")
	// ErrCorrupt is wrapped by a DamageError for a frame that is whole but
	// wrong: a bad magic, a length out of range or a checksum mismatch.
	ErrCorrupt = errors.New("segment corrupt")
)

// DamageError says where a segment stopped being readable. The records
// before Offset were delivered; nothing after it in that segment is.
type DamageError struct {
	Path   string // the segment file
	Offset int64  // byte offset of the damaged frame (or header) in the file
	Reason string
	Err    error // ErrTruncated or ErrCorrupt
}

// Error names the segment, the offset and what is wrong there.
func (e *DamageError) Error() string {
	return fmt.Sprintf("segment %s: %v at offset %d: %s", filepath.Base(e.Path), e.Err, e.Offset, e.Reason)
}

// Unwrap returns the underlying error, for errors.Is.
func (e *DamageError) Unwrap() error { return e.Err }
