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
//	n, err := cons.ReadBatch(64, func(b []byte) { archive(b) })
//
// Every claim must end in Commit or Abort: a claim that is neither stops the
// consumer at that record. Abort after Commit is a no-op, so
// "defer c.Abort()" is a safe pattern.
//
// Which value may be shared:
//   - *Producer (SPSC) and its Claims belong to one goroutine at a time.
//   - *MPSCProducer is safe for concurrent use by any number of goroutines;
//     each Claim belongs to the goroutine that made it.
//   - *Consumer, its Records and ReadBatch belong to one goroutine at a time.
//
// Memory written by another process is untrusted: the consumer checks every
// record header word before it slices the data area, and reports a broken
// rule as an error wrapping ErrCorrupt, after which it stops.
//
// The hot paths (TryClaim, Commit, TryRead, Release, ReadBatch) make no
// allocations.
package ring
