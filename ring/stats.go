package ring

import "github.com/logbuf/logbuf/abi"

// Stats is a snapshot of a ring's positions, counters and parties, read from
// its header without disturbing producers or the consumer. Fields are read
// one by one while the ring runs, so they are each exact but not mutually
// consistent.
type Stats struct {
	Mode     abi.Mode
	ID       abi.RingID
	Capacity uint64
	Head     uint64 // consumer position: everything before it is released
	Tail     uint64 // end of the newest reservation
	Used     uint64 // Tail - Head: bytes reserved and not yet released
	Free     uint64 // Capacity - Used

	// RecordsWritten and BytesWritten are what producers with a table
	// entry committed. Each producer publishes them in batches (at least
	// whenever it finds the ring full and when it detaches), so they may
	// lag by up to a ring's worth.
	RecordsWritten uint64
	BytesWritten   uint64
	RecordsRead    uint64 // committed records released: the sequence number of the next one
	BytesRead      uint64 // their payload bytes
	FullEvents     uint64 // claims refused with ErrFull
	Aborts         uint64 // claims aborted
	Unblocks       uint64 // stuck claims the consumer recovered
	Dropped        uint64 // records producers' callers gave up on, ring full
	Refused        uint64 // records refused as larger than the maximum payload
	Producers      int    // producer table entries held now (attached, alive)

	// ConsumerParty is the consumer's party record; Entries are the producer
	// table entries that have ever been held (not FREE), in table order.
	ConsumerParty Party
	Entries       []Party
}

// ReadStats reads the statistics of the ring in r. It asks the kernel
// whether each attached party's process lives.
func ReadStats(r *abi.Region) Stats {
	h := r.Header()
	s := Stats{
		Mode:          r.Mode(),
		ID:            r.ID(),
		Capacity:      r.Capacity(),
		Head:          h.Head.Load(),
		RecordsRead:   h.ReadRecords.Load(),
		BytesRead:     h.ReadBytes.Load(),
		FullEvents:    h.FullEvents.Load(),
		Aborts:        h.Aborts.Load(),
		Unblocks:      h.Unblocks.Load(),
		ConsumerParty: readParty(&h.Consumer, 0),
	}
	s.Tail = h.Tail.Load()
	if s.Used = s.Tail - s.Head; s.Used <= s.Capacity {
		s.Free = s.Capacity - s.Used
	}
	for i := range h.Producers {
		if abi.Lease(h.Producers[i].Lease.Load()) == 0 {
			continue
		}
		p := readParty(&h.Producers[i], i+1)
		s.Entries = append(s.Entries, p)
		s.RecordsWritten += p.Records
		s.BytesWritten += p.Bytes
		s.Dropped += p.Dropped
		s.Refused += p.Refused
		if p.Held {
			s.Producers++
		}
	}
	return s
}

// HeadWord reads the record header word at the ring's head: what its
// consumer waits on or reads next. It is for monitors of a ring whose
// consumer runs in another process (logbuf stat): in the consumer's own
// process the load races with the consumer zeroing that word, which the
// race detector rightly reports. ok is false when head is not a valid
// position.
func HeadWord(r *abi.Region) (w abi.Word, ok bool) {
	head := r.Header().Head.Load()
	if head%abi.WordSize != 0 {
		return 0, false
	}
	return abi.Word(r.WordAt(head & (r.Capacity() - 1)).Load()), true
}

// CheckWord applies to the record header word w at position pos the rules
// of spec section 7.1 that a word must meet on its own (all but the check
// against tail), as the consumer does: nil, or an error wrapping
// ErrCorrupt that names the rule. For tools that show a ring's words
// (logbuf stat). The zero word (nothing there yet) passes.
func CheckWord(r *abi.Region, pos uint64, w abi.Word) error {
	if w == 0 {
		return nil
	}
	g := newGeometry(r)
	if _, bad := g.wordRule(pos, w); bad != "" {
		return corrupt(pos, w, bad)
	}
	return nil
}
