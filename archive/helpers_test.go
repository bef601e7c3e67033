package archive

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/logbuf/logbuf/drain"
)

var (
	ringA = [16]byte{0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xa0}
	ringB = [16]byte{0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xb0}
)

// ringRecords makes n records as a ring would hand them out: sequence
// numbers from seq, positions advancing by each record's size in the ring
// (an 8-byte header word and the payload padded to 8), payloads of 1..maxLen
// random bytes.
func ringRecords(rng *rand.Rand, n int, pos, seq uint64, maxLen int) []drain.Record {
	out := make([]drain.Record, n)
	for i := range out {
		data := make([]byte, 1+rng.IntN(maxLen))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		out[i] = drain.Record{Data: data, Pos: pos, Seq: seq + uint64(i)}
		pos += 8 + uint64(len(data)+7)&^7
	}
	return out
}

// batches cuts records into batches of at most size records of one ring.
func batches(ring [16]byte, recs []drain.Record, size int) []*drain.Batch {
	var out []*drain.Batch
	for len(recs) > 0 {
		n := min(size, len(recs))
		out = append(out, &drain.Batch{RingID: ring, Records: recs[:n]})
		recs = recs[n:]
	}
	return out
}

func openW(t testing.TB, dir string, opts *WriterOptions) *Writer {
	t.Helper()
	w, err := OpenWriter(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func writeBatches(t testing.TB, w *Writer, bs []*drain.Batch) {
	t.Helper()
	for _, b := range bs {
		if err := w.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
}

// writeArchive writes the batches to dir with a new Writer and closes it.
func writeArchive(t testing.TB, dir string, opts *WriterOptions, bs []*drain.Batch) {
	t.Helper()
	w := openW(t, dir, opts)
	writeBatches(t, w, bs)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// got is a record read back.
type got struct {
	RecordID
	data []byte
}

// readAll reads dir to the end: the records (copied) and the damage met.
func readAll(t testing.TB, dir string, opts *ReaderOptions) ([]got, []*DamageError) {
	t.Helper()
	r, err := OpenReader(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var recs []got
	var damage []*DamageError
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return recs, damage
		}
		var d *DamageError
		if errors.As(err, &d) {
			damage = append(damage, d)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, got{rec.RecordID, bytes.Clone(rec.Data)})
	}
}

// same fails unless the records read are want, of ring, byte for byte.
func same(t testing.TB, recs []got, ring [16]byte, want []drain.Record) {
	t.Helper()
	if len(recs) != len(want) {
		t.Fatalf("read %d records, want %d", len(recs), len(want))
	}
	for i, g := range recs {
		w := want[i]
		if g.RingID != ring || g.Pos != w.Pos || g.Seq != w.Seq || !bytes.Equal(g.data, w.Data) {
			t.Fatalf("record %d: ring %x pos %d seq %d, %d bytes; want ring %x pos %d seq %d, %d bytes",
				i, g.RingID[:2], g.Pos, g.Seq, len(g.data), ring[:2], w.Pos, w.Seq, len(w.Data))
		}
	}
}

// sameArchive fails unless dir reads back without damage as want, of ring.
func sameArchive(t testing.TB, dir string, ring [16]byte, want []drain.Record) {
	t.Helper()
	recs, damage := readAll(t, dir, nil)
	if len(damage) > 0 {
		t.Fatal(damage[0])
	}
	same(t, recs, ring, want)
}

// segments lists dir's segments or fails.
func segments(t testing.TB, dir string) []string {
	t.Helper()
	segs, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	return segs
}

// frameSpan is where one frame lies in a segment.
type frameSpan struct {
	off, end int64
	seq      uint64
}

// frameSpans walks the frames of an undamaged segment.
func frameSpans(t testing.TB, path string) []frameSpan {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var sc scanner
	if d, err := sc.reset(bytes.NewReader(b), int64(len(b)), path, true); d != nil || err != nil {
		t.Fatalf("segment %s: %v %v", path, d, err)
	}
	var spans []frameSpan
	for {
		f, d, err := sc.next()
		if err == io.EOF {
			return spans
		}
		if d != nil || err != nil {
			t.Fatalf("segment %s: %v %v", path, d, err)
		}
		spans = append(spans, frameSpan{f.off, f.off + FrameHeaderSize + int64(len(f.data)), f.seq})
	}
}

// copyDir copies the regular files of src into a new temporary directory.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// checkClean fails unless dir reads back without damage, gap or duplicate.
func checkClean(t testing.TB, dir string) *Report {
	t.Helper()
	rep, err := Check(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Clean() {
		t.Fatalf("archive not clean: damage %v, rings %+v", rep.Damage, rep.Rings)
	}
	return rep
}
