package ring

import "github.com/logbuf/logbuf/abi"

// Stats is a snapshot of a ring's positions and counters, read from its
// header without disturbing producers or the consumer. Fields are read one by
// one while the ring runs, so they are each exact but not mutually consistent.
type Stats struct {
	Mode     abi.Mode
	Capacity uint64
	Head     uint64 // consumer position
	Tail     uint64 // end of the newest reservation
	Used     uint64 // Tail - Head: bytes reserved and not yet released
	Free     uint64 // Capacity - Used

	// RecordsWritten and BytesWritten are what producers committed. Each
	// producer publishes them in batches (at least whenever it finds the ring
	// full and when it closes), so they may lag by up to a ring's worth.
	RecordsWritten uint64
	BytesWritten   uint64
	RecordsRead    uint64 // committed records the consumer released
	BytesRead      uint64 // their payload bytes
	FullEvents     uint64 // claims refused with ErrFull
	Aborts         uint64 // claims aborted
	Unblocks       uint64 // stuck claims the consumer recovered
	Producers      int    // producer table entries attached now
}

// ReadStats reads the statistics of the ring in r.
func ReadStats(r *abi.Region) Stats {
	h := r.Header()
	s := Stats{
		Mode:        r.Mode(),
		Capacity:    r.Capacity(),
		Head:        h.Head.Load(),
		RecordsRead: h.ReadRecords.Load(),
		BytesRead:   h.ReadBytes.Load(),
		FullEvents:  h.FullEvents.Load(),
		Aborts:      h.Aborts.Load(),
		Unblocks:    h.Unblocks.Load(),
	}
	s.Tail = h.Tail.Load()
	if s.Used = s.Tail - s.Head; s.Used <= s.Capacity {
		s.Free = s.Capacity - s.Used
	}
	for i := range h.Producers {
		sl := &h.Producers[i]
		s.RecordsWritten += sl.Records.Load()
		s.BytesWritten += sl.Bytes.Load()
		if sl.State.Load() == abi.StateAttached {
			s.Producers++
		}
	}
	return s
}
