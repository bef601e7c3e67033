package archive

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestCheckerCounts(t *testing.T) {
	for _, c := range []struct {
		name string
		seqs []uint64 // positions are 100*seq unless pos says otherwise
		pos  map[int]uint64
		want RingCheck
	}{
		{"in order", []uint64{5, 6, 7, 8}, nil,
			RingCheck{Records: 4, FirstSeq: 5, LastSeq: 8, LastPos: 800}},
		{"gaps", []uint64{0, 1, 4, 5, 9}, nil,
			RingCheck{Records: 5, FirstSeq: 0, LastSeq: 9, LastPos: 900, Gaps: []Gap{{2, 3}, {6, 8}}, Missing: 5}},
		{"duplicates", []uint64{0, 1, 2, 1, 2, 3, 3}, nil,
			RingCheck{Records: 7, FirstSeq: 0, LastSeq: 3, LastPos: 300, Duplicates: 3, DuplicateSeqs: []Gap{{1, 3}}}},
		{"a late record fills a gap", []uint64{0, 1, 5, 3, 6}, nil,
			RingCheck{Records: 5, FirstSeq: 0, LastSeq: 6, LastPos: 600, Gaps: []Gap{{2, 2}, {4, 4}}, Missing: 2, Reordered: 1}},
		{"an earlier record than the first", []uint64{4, 5, 1}, nil,
			RingCheck{Records: 3, FirstSeq: 1, LastSeq: 5, LastPos: 500, Gaps: []Gap{{2, 3}}, Missing: 2, Reordered: 1}},
		{"a position seen again", []uint64{0, 1, 2}, map[int]uint64{2: 100},
			RingCheck{Records: 3, FirstSeq: 0, LastSeq: 2, LastPos: 100, Duplicates: 1, DuplicateSeqs: []Gap{{2, 2}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ch Checker
			for i, s := range c.seqs {
				pos := 100 * s
				if p, ok := c.pos[i]; ok {
					pos = p
				}
				ch.Add(RecordID{RingID: ringA, Pos: pos, Seq: s})
			}
			ch.Add(RecordID{RingID: ringB, Pos: 1, Seq: 1}) // another ring is apart
			rings := ch.Rings()
			c.want.RingID = ringA
			if len(rings) != 2 || !reflect.DeepEqual(rings[0], c.want) {
				t.Fatalf("got %+v\nwant %+v", rings[0], c.want)
			}
			if rings[1].Records != 1 || rings[1].Missing != 0 {
				t.Errorf("ring B: %+v", rings[1])
			}
		})
	}
}

func TestCheckerAgainstTheRing(t *testing.T) {
	var ch Checker
	for s := uint64(10); s < 20; s++ {
		ch.Add(RecordID{RingID: ringA, Pos: s * 8, Seq: s})
	}
	r := ch.Rings()[0]
	for _, c := range []struct {
		readRecords uint64
		missing     Gap
		ok          bool
		unreleased  uint64
	}{
		{20, Gap{}, false, 0},
		{25, Gap{20, 24}, true, 0},
		{17, Gap{}, false, 3},
	} {
		m, ok, un := r.Against(c.readRecords)
		if m != c.missing || ok != c.ok || un != c.unreleased {
			t.Errorf("Against(%d) = %v %v %d, want %v %v %d", c.readRecords, m, ok, un, c.missing, c.ok, c.unreleased)
		}
	}
	var empty RingCheck
	if m, ok, _ := empty.Against(3); !ok || m != (Gap{0, 2}) {
		t.Errorf("Against on no records: %v %v", m, ok)
	}
}

func TestCheckFindsMissingAndDuplicatedSegments(t *testing.T) {
	recs := ringRecords(rand.New(rand.NewPCG(41, 41)), 300, 0, 0, 100)
	dir := t.TempDir()
	writeArchive(t, dir, &WriterOptions{MaxSize: 4096}, batches(ringA, recs, 50))
	segs := segments(t, dir)
	rep := checkClean(t, dir)
	if rep.Records != 300 || rep.Segments != len(segs) {
		t.Fatalf("report %+v", rep)
	}

	// A segment lost: its records are a gap.
	lost := frameSpans(t, segs[2])
	from := lost[0].seq
	os.Remove(segs[2])
	// A segment copied in again at the end: its records are duplicates.
	dup := frameSpans(t, segs[4])
	b, _ := os.ReadFile(segs[4])
	os.WriteFile(filepath.Join(dir, Name(1000)), b, 0o600)

	rep, err := Check(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Rings[0]
	wantGap := Gap{from, from + uint64(len(lost)) - 1}
	if rep.Clean() || len(r.Gaps) != 1 || r.Gaps[0] != wantGap || r.Missing != uint64(len(lost)) {
		t.Errorf("gaps %v (%d missing), want %v", r.Gaps, r.Missing, wantGap)
	}
	wantDup := Gap{dup[0].seq, dup[len(dup)-1].seq}
	if r.Duplicates != uint64(len(dup)) || len(r.DuplicateSeqs) != 1 || r.DuplicateSeqs[0] != wantDup {
		t.Errorf("duplicates %d %v, want %d %v", r.Duplicates, r.DuplicateSeqs, len(dup), wantDup)
	}
}

// TestCheckFindsLostFirstFrame: the first frame of an archive is damaged;
// the segment's header says the archive begins at sequence 0, so Check
// counts the record as missing although no record before it was read.
func TestCheckFindsLostFirstFrame(t *testing.T) {
	dir := t.TempDir()
	ring := [16]byte{1}
	recs := ringRecords(rand.New(rand.NewPCG(1, 2)), 50, 64, 0, 100)
	writeArchive(t, dir, nil, batches(ring, recs, 10))
	seg := segments(t, dir)[0]
	spans := frameSpans(t, seg)
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	b[spans[0].end-1] ^= 0xFF // the last payload byte of the first frame
	if err := os.WriteFile(seg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := Check(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rings) != 1 || rep.Rings[0].Missing != 1 || len(rep.Rings[0].Gaps) != 1 ||
		rep.Rings[0].Gaps[0] != (Gap{0, 0}) || rep.Rings[0].FirstSeq != 0 {
		t.Fatalf("check of an archive without its first record: %+v", rep.Rings)
	}
}
