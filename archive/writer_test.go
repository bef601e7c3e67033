package archive

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/logbuf/logbuf/drain"
)

var (
	_ drain.Sink    = (*Writer)(nil)
	_ drain.Resumer = (*Writer)(nil)
)

func TestRoundTripAndRollover(t *testing.T) {
	for _, sync := range []Sync{SyncNever, SyncSegment, SyncAlways} {
		t.Run(sync.String(), func(t *testing.T) {
			dir := t.TempDir()
			recs := ringRecords(rand.New(rand.NewPCG(1, 2)), 500, 4096, 100, 300)
			opts := &WriterOptions{MaxSize: 4096, Sync: sync}
			w := openW(t, dir, opts)
			writeBatches(t, w, batches(ringA, recs, 7))
			if st := w.Stats(); st.Records != 500 || st.Segments != len(segments(t, dir)) {
				t.Errorf("stats %+v, %d segments on disk", st, len(segments(t, dir)))
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			segs := segments(t, dir)
			if len(segs) < 10 {
				t.Fatalf("%d segments, want a rollover every 4 KiB", len(segs))
			}
			for _, s := range segs {
				if st, _ := os.Stat(s); st.Size() > 4096 {
					t.Errorf("%s is %d bytes, over the 4096 limit", s, st.Size())
				}
			}
			sameArchive(t, dir, ringA, recs)
			checkClean(t, dir)
		})
	}
}

func TestOversizedRecord(t *testing.T) {
	// A record larger than the segment limit gets a segment of its own, and
	// one larger than the writer's buffer is written around it.
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	recs := ringRecords(rng, 3, 0, 0, 10)
	big := make([]byte, bufSize+12345)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	recs[1].Data = big
	recs[2].Pos = recs[1].Pos + 8 + uint64(len(big)+7)&^7
	writeArchive(t, dir, &WriterOptions{MaxSize: 4096}, batches(ringA, recs, 3))
	if n := len(segments(t, dir)); n != 3 {
		t.Errorf("%d segments, want 3 (the big record alone in the middle one)", n)
	}
	sameArchive(t, dir, ringA, recs)
}

func TestReopenResumesAndStartsNewSegment(t *testing.T) {
	dir := t.TempDir()
	recs := ringRecords(rand.New(rand.NewPCG(5, 6)), 60, 0, 0, 100)
	writeArchive(t, dir, nil, batches(ringA, recs[:25], 10))

	w := openW(t, dir, nil)
	defer w.Close()
	if len(w.Repairs()) != 0 {
		t.Errorf("repairs %v on a clean archive", w.Repairs())
	}
	pos, ok, err := w.Resume(ringA)
	if err != nil || !ok || pos != recs[24].Pos {
		t.Fatalf("Resume = %d %v %v, want %d true", pos, ok, err, recs[24].Pos)
	}
	if last, ok := w.Last(); !ok || last != (RecordID{ringA, recs[24].Pos, recs[24].Seq}) {
		t.Errorf("Last = %+v %v", last, ok)
	}
	if _, ok, _ := w.Resume(ringB); ok {
		t.Error("Resume of a ring the archive never held says ok")
	}
	// A drainer that hands records again from an older point: the held ones
	// are skipped.
	writeBatches(t, w, batches(ringA, recs[20:], 10))
	if st := w.Stats(); st.Skipped != 5 || st.Records != 35 {
		t.Errorf("stats %+v, want 5 skipped, 35 written", st)
	}
	w.Close()
	if n := len(segments(t, dir)); n != 2 {
		t.Errorf("%d segments, want 2: a Writer never appends to a segment it did not create", n)
	}
	got, _ := readAll(t, dir, nil)
	same(t, got, ringA, recs)
	checkClean(t, dir)
}

func TestWriteSkipsWhatItWrote(t *testing.T) {
	// Within one Writer too: a batch handed over again is not written twice.
	dir := t.TempDir()
	recs := ringRecords(rand.New(rand.NewPCG(5, 7)), 30, 0, 0, 100)
	w := openW(t, dir, nil)
	writeBatches(t, w, batches(ringA, recs[:20], 10))
	if pos, ok, _ := w.Resume(ringA); !ok || pos != recs[19].Pos {
		t.Errorf("Resume = %d %v, want %d", pos, ok, recs[19].Pos)
	}
	writeBatches(t, w, batches(ringA, recs[15:], 10))
	if st := w.Stats(); st.Skipped != 5 || st.Records != 30 {
		t.Errorf("stats %+v, want 5 skipped, 30 written", st)
	}
	w.Close()
	got, _ := readAll(t, dir, nil)
	same(t, got, ringA, recs)
}

func TestRingChangeStartsSegment(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 8))
	a1 := ringRecords(rng, 10, 0, 0, 50)
	b := ringRecords(rng, 10, 0, 0, 50) // a new ring starts again at 0
	a2 := ringRecords(rng, 10, a1[9].Pos+64, 10, 50)
	w := openW(t, dir, nil)
	writeBatches(t, w, []*drain.Batch{{RingID: ringA, Records: a1}, {RingID: ringB, Records: b}, {RingID: ringA, Records: a2}})
	w.Close()
	segs := segments(t, dir)
	if len(segs) != 3 {
		t.Fatalf("%d segments, want one per ring change", len(segs))
	}
	for i, want := range [][16]byte{ringA, ringB, ringA} {
		if h, ok := readHeader(segs[i]); !ok || h.ringID != want {
			t.Errorf("segment %d: ring %x, want %x", i, h.ringID[:2], want[:2])
		}
	}
	got, _ := readAll(t, dir, nil)
	same(t, got[:10], ringA, a1)
	same(t, got[10:20], ringB, b)
	same(t, got[20:], ringA, a2)

	// Reopened, the Writer knows each ring's newest record, from the newest
	// segment of that ring.
	w = openW(t, dir, nil)
	defer w.Close()
	for _, c := range []struct {
		ring [16]byte
		want drain.Record
	}{{ringA, a2[9]}, {ringB, b[9]}} {
		id, ok, err := w.Newest(c.ring)
		if err != nil || !ok || id.Pos != c.want.Pos || id.Seq != c.want.Seq {
			t.Errorf("Newest(%x) = %+v %v %v, want pos %d seq %d", c.ring[:2], id, ok, err, c.want.Pos, c.want.Seq)
		}
	}
	rep := checkClean(t, dir)
	if len(rep.Rings) != 2 || rep.Rings[0].Records != 20 || rep.Rings[1].Records != 10 {
		t.Errorf("rings %+v", rep.Rings)
	}
}

func TestSeqJumpStartsSegment(t *testing.T) {
	// Within a segment sequence numbers rise by one (the reader's
	// resynchronisation counts on it); a jump starts a new segment.
	dir := t.TempDir()
	recs := ringRecords(rand.New(rand.NewPCG(9, 10)), 10, 0, 0, 50)
	for i := 5; i < 10; i++ {
		recs[i].Seq += 3
	}
	writeArchive(t, dir, nil, batches(ringA, recs, 10))
	if n := len(segments(t, dir)); n != 2 {
		t.Errorf("%d segments, want 2", n)
	}
	rep, err := Check(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Rings[0]; r.Missing != 3 || len(r.Gaps) != 1 || r.Gaps[0] != (Gap{5, 7}) {
		t.Errorf("ring check %+v, want the gap 5..7", r)
	}
}

func TestRefusesBatchesOutOfOrder(t *testing.T) {
	recs := ringRecords(rand.New(rand.NewPCG(11, 12)), 4, 0, 0, 50)
	w := openW(t, t.TempDir(), nil)
	defer w.Close()
	writeBatches(t, w, batches(ringA, recs[:2], 2))
	for _, c := range []struct {
		name string
		recs []drain.Record
		want string
	}{
		{"positions not rising", []drain.Record{recs[2], {Data: []byte("x"), Pos: recs[2].Pos, Seq: 99}}, "not in ring order"},
		{"empty record", []drain.Record{{Pos: recs[2].Pos, Seq: 2}}, "0 bytes"},
		{"seq not above the archive's", []drain.Record{{Data: []byte("x"), Pos: recs[2].Pos, Seq: 1}}, "holds seq 1"},
	} {
		err := w.Write(context.Background(), &drain.Batch{RingID: ringA, Records: c.recs})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
	// Refused batches write nothing and do not fail the Writer.
	writeBatches(t, w, batches(ringA, recs[2:], 2))
	if st := w.Stats(); st.Records != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestWriteHonoursContext(t *testing.T) {
	w := openW(t, t.TempDir(), nil)
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	recs := ringRecords(rand.New(rand.NewPCG(1, 1)), 1, 0, 0, 9)
	if err := w.Write(ctx, &drain.Batch{RingID: ringA, Records: recs}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with a cancelled context: %v", err)
	}
	writeBatches(t, w, batches(ringA, recs, 1))
}

func TestOneWriterPerDirectory(t *testing.T) {
	dir := t.TempDir()
	w := openW(t, dir, nil)
	if _, err := OpenWriter(dir, nil); err == nil || !errors.Is(err, errLocked) {
		t.Fatalf("second OpenWriter: %v", err)
	}
	w.Close()
	openW(t, dir, nil).Close()
}

func TestWriteAllocatesNothing(t *testing.T) {
	w := openW(t, t.TempDir(), &WriterOptions{MaxSize: 1 << 30})
	defer w.Close()
	recs := ringRecords(rand.New(rand.NewPCG(1, 1)), 64, 0, 0, 200)
	b := &drain.Batch{RingID: ringA, Records: recs}
	writeBatches(t, w, []*drain.Batch{b})
	allocs := testing.AllocsPerRun(100, func() {
		for i := range recs {
			recs[i].Pos += 1 << 20
			recs[i].Seq += 64
		}
		if err := w.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Write of %d records allocates %.1f times", len(recs), allocs)
	}
}

func TestParseSync(t *testing.T) {
	for _, s := range []Sync{SyncNever, SyncSegment, SyncAlways} {
		if p, err := ParseSync(s.String()); err != nil || p != s {
			t.Errorf("ParseSync(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := ParseSync("interval"); err == nil {
		t.Error(`ParseSync("interval") accepted`)
	}
}
