package abi

import (
	"encoding/hex"
	"fmt"
)

// RingIDSize is the size of the ring_id field.
const RingIDSize = 16

// RingID is the ring_id field: 16 random bytes the creator writes, naming
// the ring for as long as it exists (spec section 10).
type RingID [RingIDSize]byte

// String is the id in lowercase hex, 32 digits.
func (id RingID) String() string { return hex.EncodeToString(id[:]) }

// ParseRingID reads the 32 hex digits String writes.
func ParseRingID(s string) (RingID, error) {
	var id RingID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != RingIDSize {
		return id, fmt.Errorf("logbuf: ring id %q is not %d hex digits", s, 2*RingIDSize)
	}
	copy(id[:], b)
	return id, nil
}
