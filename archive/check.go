package archive

import (
	"errors"
	"io"
	"slices"
)

// Gap is a run of sequence numbers, From through To.
type Gap struct{ From, To uint64 }

// Len is the number of sequence numbers in the run.
func (g Gap) Len() uint64 { return g.To - g.From + 1 }

// RingCheck is what a Checker found for the records of one ring. A ring's
// sequence numbers rise by exactly one from record to record and its
// positions increase (spec/ARCHIVE.md section 6); what departs from that is
// counted here.
type RingCheck struct {
	RingID [16]byte
	// Records is the number of records seen, duplicates included.
	Records uint64
	// FirstSeq and LastSeq are the lowest and the highest sequence numbers
	// seen; LastPos the highest position.
	FirstSeq, LastSeq uint64
	LastPos           uint64
	// Gaps are the sequence numbers between FirstSeq and LastSeq that were
	// not seen, in order; Missing counts them.
	Gaps    []Gap
	Missing uint64
	// Duplicates counts records whose sequence number was seen before, or
	// whose position is not above that of a record with a lower sequence
	// number; DuplicateSeqs lists the duplicated sequence numbers in runs,
	// in the order they were met.
	Duplicates    uint64
	DuplicateSeqs []Gap
	// Reordered counts records that came after one with a higher sequence
	// number and filled a gap (the archive's order is not the ring's).
	Reordered uint64
}

// Against compares the records seen with the ring's counter read_records:
// the sequence number the ring gives its next record, that is, the count of
// records it has released. missing is the span the ring released that the
// archive lacks after LastSeq (ok false when there is none); unreleased is
// the number of archived records above it, which the ring had not released
// when read_records was read: a drainer stopped between the sink's Write
// and the release, and the next one skips them (Writer.Resume).
func (r *RingCheck) Against(readRecords uint64) (missing Gap, ok bool, unreleased uint64) {
	if r.Records == 0 {
		if readRecords == 0 {
			return Gap{}, false, 0
		}
		return Gap{0, readRecords - 1}, true, 0
	}
	if next := r.LastSeq + 1; next < readRecords {
		return Gap{next, readRecords - 1}, true, 0
	} else if next > readRecords {
		return Gap{}, false, next - readRecords
	}
	return Gap{}, false, 0
}

// Checker checks the order of records: feed it every record of an archive
// with Add, in the archive's order, and read what it found per ring. The
// zero value is ready to use.
type Checker struct {
	rings map[[16]byte]*RingCheck
	order []*RingCheck
}

// Add takes the next record.
func (c *Checker) Add(id RecordID) { c.add(id, id.Seq) }

// AddRecord is Add for a record of a Reader, which also knows where the
// record's segment began: the first record of a ring that a segment's
// header says came after others (SegmentFirstSeq below its Seq) counts
// those others as missing. Without it, frames lost at the very start of an
// archive would not show.
func (c *Checker) AddRecord(r Record) { c.add(r.RecordID, min(r.SegmentFirstSeq, r.Seq)) }

// add takes the next record; from is the sequence number a ring not seen
// before starts at.
func (c *Checker) add(id RecordID, from uint64) {
	r := c.rings[id.RingID]
	if r == nil {
		if c.rings == nil {
			c.rings = make(map[[16]byte]*RingCheck)
		}
		r = &RingCheck{RingID: id.RingID, FirstSeq: from, LastSeq: id.Seq, LastPos: id.Pos, Records: 1}
		if from < id.Seq {
			r.Gaps = append(r.Gaps, Gap{from, id.Seq - 1})
			r.Missing = id.Seq - from
		}
		c.rings[id.RingID] = r
		c.order = append(c.order, r)
		return
	}
	r.Records++
	switch seq := id.Seq; {
	case seq > r.LastSeq:
		if seq > r.LastSeq+1 {
			r.Gaps = append(r.Gaps, Gap{r.LastSeq + 1, seq - 1})
			r.Missing += seq - 1 - r.LastSeq
		}
		r.LastSeq = seq
		if id.Pos <= r.LastPos {
			// A new sequence number at a position already used.
			r.duplicate(seq)
			return
		}
		r.LastPos = id.Pos
	case seq < r.FirstSeq:
		if seq+1 < r.FirstSeq {
			r.Gaps = slices.Insert(r.Gaps, 0, Gap{seq + 1, r.FirstSeq - 1})
			r.Missing += r.FirstSeq - 1 - seq
		}
		r.FirstSeq = seq
		r.Reordered++
	default:
		i, found := slices.BinarySearchFunc(r.Gaps, seq, func(g Gap, s uint64) int {
			switch {
			case g.To < s:
				return -1
			case g.From > s:
				return 1
			}
			return 0
		})
		if !found {
			r.duplicate(seq)
			return
		}
		g := r.Gaps[i]
		switch {
		case g.From == g.To:
			r.Gaps = slices.Delete(r.Gaps, i, i+1)
		case seq == g.From:
			r.Gaps[i].From++
		case seq == g.To:
			r.Gaps[i].To--
		default:
			r.Gaps[i].To = seq - 1
			r.Gaps = slices.Insert(r.Gaps, i+1, Gap{seq + 1, g.To})
		}
		r.Missing--
		r.Reordered++
	}
}

func (r *RingCheck) duplicate(seq uint64) {
	r.Duplicates++
	if n := len(r.DuplicateSeqs); n > 0 && r.DuplicateSeqs[n-1].To+1 == seq {
		r.DuplicateSeqs[n-1].To++
		return
	}
	r.DuplicateSeqs = append(r.DuplicateSeqs, Gap{seq, seq})
}

// Rings returns what was found for each ring, in the order the rings were
// first met.
func (c *Checker) Rings() []RingCheck {
	out := make([]RingCheck, len(c.order))
	for i, r := range c.order {
		out[i] = *r
		out[i].Gaps = slices.Clone(r.Gaps)
		out[i].DuplicateSeqs = slices.Clone(r.DuplicateSeqs)
	}
	return out
}

// Report is the result of Check.
type Report struct {
	Segments int
	Records  uint64 // records read
	Bytes    uint64 // their payload bytes
	Damage   []*DamageError
	Rings    []RingCheck
}

// Clean reports whether the archive had no damage, no gap, no duplicate and
// no record out of order.
func (r *Report) Clean() bool {
	if len(r.Damage) > 0 {
		return false
	}
	for _, g := range r.Rings {
		if g.Missing > 0 || g.Duplicates > 0 || g.Reordered > 0 {
			return false
		}
	}
	return true
}

// Check reads every record of the archive in dir and reports the damage
// met and, per ring, the gaps and duplicates in the sequence numbers.
func Check(dir string, opts *ReaderOptions) (*Report, error) {
	r, err := OpenReader(dir, opts)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	rep := &Report{Segments: r.Segments()}
	var c Checker
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		var d *DamageError
		if errors.As(err, &d) {
			rep.Damage = append(rep.Damage, d)
			continue
		}
		if err != nil {
			return rep, err
		}
		rep.Records++
		rep.Bytes += uint64(len(rec.Data))
		c.AddRecord(rec)
	}
	rep.Rings = c.Rings()
	return rep, nil
}
