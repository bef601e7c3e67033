// Package drain moves records out of a ring into a sink: the one drain loop
// of the module, used by the archiver, the command-line tool, the
// asynchronous log writer and the NATS shipper.
//
// A record leaves the ring only after the sink has accepted it, so a drainer
// that dies loses nothing: the next consumer resumes at the first record not
// released. A sink that can say what it already holds (Resumer) makes the
// hand-over exactly once: records it holds are released without being
// handed to it again.
package drain

import "context"

// Record is one committed record handed to a sink.
type Record struct {
	// Data is the payload. It aliases the ring and is valid only until the
	// sink's Write returns.
	Data []byte
	// Pos is the ring position of the record's header word: unique for the
	// life of the ring (positions never repeat), increasing.
	Pos uint64
	// Seq is the ring's sequence number of the record: the count of
	// committed records released before it, 0 for the first ever. It rises
	// by exactly one from record to record, across consumers, so a reader
	// of what a sink stored can tell a missing record from a duplicate.
	Seq uint64
}

// Batch is a run of consecutive records of one ring.
type Batch struct {
	// RingID is the identity the ring's creator wrote in its header (spec
	// section 3); a re-created ring has a new one.
	RingID [16]byte
	// Records are in ring order. The slice and the records' Data are
	// reused after Write returns.
	Records []Record
}

// Sink receives batches of records.
type Sink interface {
	// Write takes a batch. When it returns nil the records are released
	// from the ring; an error stops the drain with the batch still in the
	// ring. ctx is the drain's context: a Write that waits (on a network,
	// on a full disk) should give up when it is done.
	Write(ctx context.Context, b *Batch) error
	// Flush is called when the ring has nothing to read, before the
	// drainer waits, and before Run returns: the place to push buffered
	// output further (to the kernel, to a disk).
	Flush() error
}

// Resumer is implemented by a sink that knows what it already holds.
type Resumer interface {
	// Resume returns the position of the newest record the sink holds from
	// the ring ringID, with ok false when it holds none. The drainer
	// releases records at or before that position without handing them to
	// Write again.
	Resume(ringID [16]byte) (pos uint64, ok bool, err error)
}
