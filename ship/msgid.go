package ship

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Header names the sink writes besides Nats-Msg-Id.
const (
	// HeaderSeq carries the record's ring sequence number (drain.Record.Seq)
	// in decimal, when Options.SeqHeader asks for it: it rises by one from
	// record to record of a ring, so a reader can tell a missing record
	// from a duplicate. (Positions also rise, but by the size of each
	// record, so a missing one does not show.)
	HeaderSeq = "Logbuf-Seq"
	// HeaderHost and HeaderRing name where a record came from; the sink
	// writes them when Options.Header sets them (the logbuf ship command
	// does).
	HeaderHost = "Logbuf-Host"
	HeaderRing = "Logbuf-Ring"
)

// MsgID is the JetStream message id of the record at ring position pos of
// the ring named ringID: the identity in lower-case hex, a dash, and the
// position in decimal. It is unique for the life of a ring and changes when
// the ring is re-created (see the package doc).
func MsgID(ringID [16]byte, pos uint64) string {
	return string(appendMsgID(nil, hex.EncodeToString(ringID[:]), pos))
}

// appendMsgID is MsgID with the hex of the ring id already made.
func appendMsgID(dst []byte, ringHex string, pos uint64) []byte {
	dst = append(dst, ringHex...)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, pos, 10)
}

// ParseMsgID reads a message id written by MsgID.
func ParseMsgID(id string) (ringID [16]byte, pos uint64, err error) {
	h, p, ok := strings.Cut(id, "-")
	if !ok || len(h) != 32 {
		return ringID, 0, fmt.Errorf("ship: message id %q is not <32 hex digits>-<position>", id)
	}
	if _, err := hex.Decode(ringID[:], []byte(h)); err != nil {
		return ringID, 0, fmt.Errorf("ship: message id %q: ring identity: %w", id, err)
	}
	if pos, err = strconv.ParseUint(p, 10, 64); err != nil {
		return ringID, 0, fmt.Errorf("ship: message id %q: position: %w", id, err)
	}
	return ringID, pos, nil
}
