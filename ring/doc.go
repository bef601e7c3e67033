// Package ring implements the logbuf ring buffers: lock-free, bytes-in,
// bytes-out queues of variable-length records, laid out in memory as
// spec/PROTOCOL.md describes, so that the same ring can be shared with
// producers and consumers in other processes and languages.
//
// A producer claims n bytes, writes them in place and commits:
//
//	c, err := p.TryClaim(len(msg))
//	if err != nil {
//		return err // ErrFull: the consumer is behind; the caller decides
//	}
//	copy(c.Bytes(), msg)
//	c.Commit()
//
// A consumer reads records in order and releases them, which zeroes their
// bytes and gives the space back to the producers:
//
//	n, err := cons.RecvBatch(ctx, 256, func(b []byte) { archive(b) })
//
// Every claim must end in Commit or Abort: a claim that is neither stops the
// consumer at that record. A Claim is ended by the ring, not by the copy in
// hand, so "defer c.Abort()" after a successful claim is safe: whichever of
// Commit and Abort comes first takes effect, on any copy, and the rest do
// nothing.
//
// Both producer types, *SPSCProducer and *MPSCProducer, satisfy the Producer
// interface; OpenProducer attaches the right one for a region's mode.
//
// Which value may be shared:
//   - *SPSCProducer and its Claims belong to one goroutine at a time.
//   - *MPSCProducer is safe for concurrent use by any number of goroutines;
//     each Claim belongs to the goroutine that made it.
//   - *Consumer, its Records and ReadBatch belong to one goroutine at a time;
//     Close and CloseRing may be called from any goroutine and interrupt a
//     blocked Recv, RecvTimeout or RecvBatch.
//
// A ring has one consumer at a time: NewConsumer refuses a second live one
// (ErrConsumerBusy) and takes over from one whose process died. A consumer
// that leaves (Close) or dies is not one that closed the ring: producers keep
// their records and wait for the next consumer; only CloseRing tells them to
// stop (ErrRingClosed).
//
// Errors, one meaning each (spec section 11); test with errors.Is:
//
//	ErrFull          no room for the claim now; try again
//	ErrZeroLength    a claim of zero bytes
//	ErrTooLarge      a claim larger than MaxPayload: never fits this ring
//	ErrEmpty         TryRead: no committed record ready yet
//	io.EOF           Recv family: every producer left or died, ring drained
//	ErrDiscarded     MPSC Commit: the consumer had recovered the claim
//	ErrClaimEnded    Commit of a claim already committed or aborted
//	ErrClosed        this producer or consumer was closed
//	ErrRingClosed    producers: the consumer closed the ring for good
//	ErrNoConsumer    producers: gave up waiting for space with no consumer
//	                 attached (also wraps the context's error)
//	ErrProducerBusy  an SPSC ring already has a live producer (a *BusyError)
//	ErrConsumerBusy  the ring already has a live consumer (a *BusyError)
//	ErrCorrupt       memory broke the protocol (an *abi.CorruptError)
//
// Memory written by another process is untrusted: the consumer checks every
// record header word before it slices the data area, and reports a broken
// rule as an error wrapping ErrCorrupt, after which it stops.
//
// The hot paths (TryClaim, Commit, TryRead, Release, ReadBatch) make no
// allocations.
package ring
