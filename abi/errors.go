package abi

import (
	"errors"
	"fmt"
)

// ErrCorrupt is wrapped by every error that reports memory which breaks the
// protocol: a region header that fails validation or a record header word that
// fails the reader's checks. Test for it with errors.Is.
var ErrCorrupt = errors.New("logbuf: corrupt ring")

// CorruptError says what in a region broke which rule, and where.
type CorruptError struct {
	// Field names what was wrong: a header field ("version", "capacity") or
	// "record" for a record header word.
	Field string
	// Offset is the byte offset in the region of a header field, or the
	// position (free-running) of a record.
	Offset uint64
	// Value is the value found there.
	Value uint64
	// Reason is the rule it broke, in words.
	Reason string
}

// Error names the field or record, where it is, the value found and the rule.
// A size ("file size", "region size") has no offset: it is not a field.
func (e *CorruptError) Error() string {
	switch e.Field {
	case "record":
		return fmt.Sprintf("logbuf: corrupt record at position %d: header word %#016x: %s",
			e.Offset, e.Value, e.Reason)
	case "file size", "region size":
		return fmt.Sprintf("logbuf: %s is %d bytes: %s", e.Field, e.Value, e.Reason)
	}
	return fmt.Sprintf("logbuf: bad region header: %s at offset %#03x is %#x: %s",
		e.Field, e.Offset, e.Value, e.Reason)
}

// Unwrap makes errors.Is(err, ErrCorrupt) hold.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }
