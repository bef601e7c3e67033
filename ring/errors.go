package ring

import (
	"errors"
	"fmt"

	"github.com/logbuf/logbuf/abi"
)

// Each error has one meaning (spec section 11); test for them with errors.Is.
// End of stream is io.EOF, as for every Go reader.
var (
	// ErrFull means there is not enough free space for the claim now. The
	// consumer frees space as it reads; the producer may try again.
	ErrFull = errors.New("logbuf: ring full")
	// ErrZeroLength means a claim of zero bytes: records are never empty.
	ErrZeroLength = errors.New("logbuf: zero-length record")
	// ErrTooLarge means a claim of more than MaxPayload bytes, which can
	// never succeed on this ring.
	ErrTooLarge = errors.New("logbuf: record larger than the ring's maximum payload")
	// ErrEmpty means no committed record is ready at the read cursor.
	ErrEmpty = errors.New("logbuf: no record ready")
	// ErrDiscarded means an MPSC commit found its claim taken back: the
	// consumer recovered it as stuck (spec section 9), so the record is
	// lost.
	ErrDiscarded = errors.New("logbuf: claim discarded by the consumer")
	// ErrClaimEnded means Commit was called on a claim that was already
	// committed or aborted, through this copy of the Claim or another, or
	// on a zero Claim. The first end took effect; this call did nothing.
	ErrClaimEnded = errors.New("logbuf: claim already ended")
	// ErrClosed means this handle, a producer or a consumer, was closed.
	ErrClosed = errors.New("logbuf: closed")
	// ErrRingClosed means the consumer closed the ring for good
	// (Consumer.CloseRing): producers waiting for space stop with it.
	ErrRingClosed = errors.New("logbuf: ring closed by its consumer")
	// ErrNoConsumer is wrapped by the error of a producer that gave up
	// waiting for space (its context ended) while no consumer was attached:
	// the consumer is gone or detached, not closed, and records wait for
	// the next one. The error also wraps the context's error.
	ErrNoConsumer = errors.New("logbuf: no consumer attached")
	// ErrProducerBusy is wrapped by the error of a producer refused
	// because a live producer holds the SPSC ring; the error names its pid.
	ErrProducerBusy = errors.New("logbuf: the SPSC ring already has a producer")
	// ErrConsumerBusy is wrapped by the error of a consumer refused because
	// a live consumer holds the ring; the error names its pid.
	ErrConsumerBusy = errors.New("logbuf: the ring already has a consumer")
	// ErrCorrupt is wrapped by every error that reports memory breaking the
	// protocol. It is abi.ErrCorrupt, so either name works with errors.Is.
	ErrCorrupt = abi.ErrCorrupt
)

// BusyError is the error of a party refused because a live process holds
// the party record it needs. It wraps ErrProducerBusy or ErrConsumerBusy.
type BusyError struct {
	Err   error     // ErrProducerBusy or ErrConsumerBusy
	Lease abi.Lease // the holder's lease: its pid and start time
}

// Error says which process holds the ring.
func (e *BusyError) Error() string {
	return fmt.Sprintf("%v (pid %d)", e.Err, e.Lease.PID())
}

// Unwrap returns ErrProducerBusy or ErrConsumerBusy.
func (e *BusyError) Unwrap() error { return e.Err }

// noConsumerError is a wait for space that ended while no consumer was
// attached: it is both ErrNoConsumer and the context's error.
type noConsumerError struct{ ctxErr error }

func (e *noConsumerError) Error() string {
	return "logbuf: gave up waiting for space with no consumer attached: " + e.ctxErr.Error()
}

func (e *noConsumerError) Unwrap() []error { return []error{ErrNoConsumer, e.ctxErr} }

func corrupt(pos uint64, w abi.Word, reason string) error {
	return &abi.CorruptError{Field: "record", Offset: pos, Value: uint64(w), Reason: reason}
}

// corruptPosition reports a head, tail or releasing value that breaks the
// rules of spec sections 5.1, 7.1 and 7.2.
func corruptPosition(field string, off int, v uint64, reason string) error {
	return &abi.CorruptError{Field: field, Offset: uint64(off), Value: v, Reason: reason}
}
