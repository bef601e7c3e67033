package abi

// Kind is the state a record header word gives its record (spec section 4).
type Kind uint8

// The record kinds. Kinds with bit 7 set are skips: the consumer passes over
// them without delivering anything.
const (
	KindEmpty     Kind = 0x00 // nothing written here since the last zeroing
	KindClaimed   Kind = 0x01 // a producer is writing the payload
	KindCommitted Kind = 0x02 // a complete record of Len payload bytes
	KindPadding   Kind = 0x81 // filler up to the end of the data area
	KindAborted   Kind = 0x82 // a claim its producer gave back
	KindUnblocked Kind = 0x83 // a claim the consumer recovered
)

// Bit fields of the record header word.
const (
	wordLenMask    = 0xFFFF_FFFF
	wordLapShift   = 32
	wordLapMask    = 0xFFFF
	wordOwnerShift = 48
	wordOwnerMask  = 0xFF
	wordKindShift  = 56
)

// IsSkip reports whether the consumer skips records of kind k.
func (k Kind) IsSkip() bool { return k&0x80 != 0 }

// String names the kind as the spec does.
func (k Kind) String() string {
	switch k {
	case KindEmpty:
		return "EMPTY"
	case KindClaimed:
		return "CLAIMED"
	case KindCommitted:
		return "COMMITTED"
	case KindPadding:
		return "PADDING"
	case KindAborted:
		return "ABORTED"
	case KindUnblocked:
		return "UNBLOCKED"
	}
	return "unknown kind"
}

// Word is a record header word.
type Word uint64

// CommittedWord is the word that commits a record of n payload bytes.
func CommittedWord(n uint32) Word { return Word(KindCommitted)<<wordKindShift | Word(n) }

// SkipWord is a skip of the given kind over size bytes, header included.
func SkipWord(k Kind, size uint32) Word { return Word(k)<<wordKindShift | Word(size) }

// ClaimedWord is the stamp of a claim of n payload bytes made by owner (a slot
// index + 1, or 0) at a position whose lap is lap (position >> log2(capacity)).
func ClaimedWord(n uint32, lap uint64, owner uint8) Word {
	return Word(KindClaimed)<<wordKindShift | Word(owner)<<wordOwnerShift |
		Word(lap&wordLapMask)<<wordLapShift | Word(n)
}

// Kind is the word's kind field. It is KindEmpty only for the all-zero word
// when the word is well formed; see Valid.
func (w Word) Kind() Kind { return Kind(w >> wordKindShift) }

// Len is the payload length (CLAIMED, COMMITTED) or the bytes to skip (skips).
func (w Word) Len() uint32 { return uint32(w & wordLenMask) }

// Lap is the lap field of a CLAIMED stamp.
func (w Word) Lap() uint16 { return uint16(w >> wordLapShift & wordLapMask) }

// Owner is the owner id of a CLAIMED stamp.
func (w Word) Owner() uint8 { return uint8(w >> wordOwnerShift & wordOwnerMask) }

// Valid reports whether w is well formed on its own: a known kind, the zero
// word for EMPTY, and lap and owner bits only in a CLAIMED stamp. Lengths are
// checked against the ring by its reader (spec section 7).
func (w Word) Valid() bool {
	switch w.Kind() {
	case KindEmpty:
		return w == 0
	case KindClaimed:
		return true
	case KindCommitted, KindPadding, KindAborted, KindUnblocked:
		return w>>wordLapShift&(wordLapMask|wordOwnerMask<<16) == 0
	}
	return false
}

// RecordSize is the bytes a record of n payload bytes occupies: its header word
// and payload, rounded up to a multiple of 8.
func RecordSize(n uint64) uint64 { return (n + WordSize + 7) &^ 7 }

// MaxPayload is the largest payload a ring of the given capacity accepts.
func MaxPayload(capacity uint64) uint64 { return capacity / 8 }
