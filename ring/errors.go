package ring

import (
	"errors"

	"github.com/logbuf/logbuf/abi"
)

var (
	// ErrFull means there is not enough free space for the claim now. The
	// consumer frees space as it reads; the producer may try again.
	ErrFull = errors.New("logbuf: ring full")
	// ErrZeroLength means a claim of zero bytes: records are never empty.
	ErrZeroLength = errors.New("logbuf: zero-length record")
	// ErrTooLarge means a claim of more than MaxPayload bytes, which can
	// never succeed on this ring.
	ErrTooLarge = errors.New("logbuf: record larger than the ring's maximum payload")
	// ErrEmpty means no committed record is ready at the head of the ring.
	ErrEmpty = errors.New("logbuf: no record ready")
	// ErrDiscarded means an MPSC commit came after the consumer had
	// recovered the claim as stuck (spec section 9): the record is lost.
	ErrDiscarded = errors.New("logbuf: claim discarded by the consumer")
	// ErrClaimEnded means Commit was called on a claim that was already
	// committed or aborted, or on a zero Claim.
	ErrClaimEnded = errors.New("logbuf: claim already ended")
	// ErrBusy means an SPSC ring already has a live producer attached.
	ErrBusy = errors.New("logbuf: the SPSC ring already has a producer")
	// ErrClosed means the producer or consumer was closed.
	ErrClosed = errors.New("logbuf: closed")
	// ErrCorrupt is wrapped by every error that reports memory breaking the
	// protocol. It is abi.ErrCorrupt, so either name works with errors.Is.
	ErrCorrupt = abi.ErrCorrupt
)

func corrupt(pos uint64, w abi.Word, reason string) error {
	return &abi.CorruptError{Field: "record", Offset: pos, Value: uint64(w), Reason: reason}
}
