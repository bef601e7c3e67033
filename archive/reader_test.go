package archive

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/logbuf/logbuf/drain"
)

// megSegment writes one segment of close to 1 MiB (records of 1..600
// random bytes) and returns its directory, path, records and frames.
func megSegment(t *testing.T) (string, string, []drain.Record, []frameSpan) {
	t.Helper()
	const size = 1 << 20
	rng := rand.New(rand.NewPCG(2024, 13))
	all := ringRecords(rng, 5000, 1<<40, 1<<20, 600)
	total, n := int64(HeaderSize), 0
	for ; total+FrameHeaderSize+int64(len(all[n].Data)) <= size; n++ {
		total += FrameHeaderSize + int64(len(all[n].Data))
	}
	recs := all[:n]
	dir := t.TempDir()
	writeArchive(t, dir, &WriterOptions{MaxSize: size}, batches(ringA, recs, 1000))
	segs := segments(t, dir)
	if len(segs) != 1 {
		t.Fatalf("%d segments, want 1", len(segs))
	}
	spans := frameSpans(t, segs[0])
	if len(spans) != n {
		t.Fatalf("%d frames, want %d", len(spans), n)
	}
	return dir, segs[0], recs, spans
}

// damaged returns the indexes of the frames that hold one of the offsets.
func damaged(spans []frameSpan, offsets []int64) map[int]bool {
	hit := make(map[int]bool)
	for _, o := range offsets {
		i, _ := slices.BinarySearchFunc(spans, o, func(s frameSpan, o int64) int {
			switch {
			case s.end <= o:
				return -1
			case s.off > o:
				return 1
			}
			return 0
		})
		hit[i] = true
	}
	return hit
}

// checkDamage flips the bytes at offsets in a copy of the segment and reads
// it back: every frame not hit must come back byte-exact and in order, the
// frames hit must be the only ones lost, reported as damage spans that
// cover exactly them, and a Checker must name them as gaps.
func checkDamage(t *testing.T, dir, path string, recs []drain.Record, spans []frameSpan, offsets []int64, rng *rand.Rand) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range offsets {
		b[o] ^= byte(1 + rng.IntN(255))
	}
	cp := t.TempDir()
	if err := os.WriteFile(filepath.Join(cp, filepath.Base(path)), b, 0o600); err != nil {
		t.Fatal(err)
	}
	hit := damaged(spans, offsets)
	var want []drain.Record
	var wantSpans []frameSpan // runs of consecutive damaged frames
	for i, s := range spans {
		if !hit[i] {
			want = append(want, recs[i])
			continue
		}
		if n := len(wantSpans); n > 0 && wantSpans[n-1].end == s.off && hit[i-1] {
			wantSpans[n-1].end = s.end
			continue
		}
		wantSpans = append(wantSpans, s)
	}
	got, damage := readAll(t, cp, nil)
	if len(got) != len(recs)-len(hit) {
		t.Errorf("read %d records of %d with %d frames damaged, want %d", len(got), len(recs), len(hit), len(recs)-len(hit))
	}
	same(t, got, ringA, want)
	if len(damage) != len(wantSpans) {
		t.Fatalf("%d damage reports, want %d (one per run of damaged frames)", len(damage), len(wantSpans))
	}
	for i, d := range damage {
		if d.Offset != wantSpans[i].off || d.Offset+d.Skipped != wantSpans[i].end {
			t.Errorf("damage %d: offset %d, %d bytes skipped; want %d..%d", i, d.Offset, d.Skipped, wantSpans[i].off, wantSpans[i].end)
		}
	}
	rep, err := Check(cp, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Frames lost at the end are no gap between records seen: the ring's
	// counter shows them.
	trailing := 0
	for i := len(spans) - 1; i >= 0 && hit[i]; i-- {
		trailing++
	}
	r := rep.Rings[0]
	if r.Missing != uint64(len(hit)-trailing) || r.Duplicates != 0 {
		t.Errorf("checker: %d missing, %d duplicates; want %d missing", r.Missing, r.Duplicates, len(hit)-trailing)
	}
	tail, ok, ahead := r.Against(recs[len(recs)-1].Seq + 1)
	if (trailing > 0) != ok || (ok && tail.Len() != uint64(trailing)) || ahead != 0 {
		t.Errorf("against the ring: missing %v %v, %d unreleased; want %d missing at the end", tail, ok, ahead, trailing)
	}
}

func TestDamageOneByte(t *testing.T) {
	dir, path, recs, spans := megSegment(t)
	rng := rand.New(rand.NewPCG(1, 1))
	size := spans[len(spans)-1].end
	trials := 64
	if testing.Short() {
		trials = 8
	}
	for i := 0; i < trials; i++ {
		o := HeaderSize + rng.Int64N(size-HeaderSize)
		if i == 0 {
			o = spans[len(spans)-1].off + 5 // the last frame too
		}
		t.Run(fmt.Sprint(o), func(t *testing.T) {
			checkDamage(t, dir, path, recs, spans, []int64{o}, rng)
		})
	}
}

func TestDamageHundredBytes(t *testing.T) {
	dir, path, recs, spans := megSegment(t)
	size := spans[len(spans)-1].end
	for seed := uint64(0); seed < 4; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		offsets := make(map[int64]bool)
		for len(offsets) < 100 {
			offsets[HeaderSize+rng.Int64N(size-HeaderSize)] = true
		}
		list := slices.Sorted(func(yield func(int64) bool) {
			for o := range offsets {
				if !yield(o) {
					return
				}
			}
		})
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			checkDamage(t, dir, path, recs, spans, list, rng)
		})
	}
}

func TestStrictStopsTheSegment(t *testing.T) {
	dir := t.TempDir()
	recs := ringRecords(rand.New(rand.NewPCG(5, 5)), 200, 0, 0, 100)
	writeArchive(t, dir, &WriterOptions{MaxSize: 4096}, batches(ringA, recs, 50))
	segs := segments(t, dir)
	spans := frameSpans(t, segs[1])
	b, _ := os.ReadFile(segs[1])
	b[spans[3].off+FrameHeaderSize] ^= 0x40
	os.WriteFile(segs[1], b, 0o600)
	first := len(frameSpans(t, segs[0]))

	got, damage := readAll(t, dir, &ReaderOptions{Strict: true})
	if len(damage) != 1 || damage[0].Offset != spans[3].off || damage[0].Offset+damage[0].Skipped != int64(len(b)) || !errors.Is(damage[0], ErrCorrupt) {
		t.Fatalf("strict damage %v, want one to the end of the segment from %d", damage, spans[3].off)
	}
	want := append(slices.Clone(recs[:first+3]), recs[first+len(spans):]...)
	same(t, got, ringA, want)

	got, _ = readAll(t, dir, nil)
	same(t, got, ringA, append(slices.Clone(recs[:first+3]), recs[first+4:]...))
}

func TestResyncNeedsTheSequenceToFollow(t *testing.T) {
	// A record whose payload is itself a valid frame (an archive archived):
	// when the record's own header is damaged, resynchronisation must not
	// take the frame inside for the next one, since its sequence number or
	// its position does not follow.
	for _, c := range []struct {
		name     string
		pos, seq func(recs []drain.Record) uint64
	}{
		{"sequence number far ahead", func(r []drain.Record) uint64 { return r[9].Pos + 1000 }, func([]drain.Record) uint64 { return 1 << 50 }},
		{"position behind", func([]drain.Record) uint64 { return 0 }, func(r []drain.Record) uint64 { return r[4].Seq }},
	} {
		t.Run(c.name, func(t *testing.T) {
			recs := ringRecords(rand.New(rand.NewPCG(6, 6)), 10, 1<<20, 1000, 40)
			inner := make([]byte, FrameHeaderSize+5)
			putFrameHeader(inner, 5, c.pos(recs), c.seq(recs))
			copy(inner[FrameHeaderSize:], "inner")
			sealFrame(inner)
			recs[4].Data = inner
			for i := 5; i < len(recs); i++ {
				recs[i].Pos = recs[i-1].Pos + 64
			}
			dir := t.TempDir()
			writeArchive(t, dir, nil, batches(ringA, recs, 10))
			seg := segments(t, dir)[0]
			spans := frameSpans(t, seg)
			b, _ := os.ReadFile(seg)
			b[spans[4].off+offSeq] ^= 1 // the outer frame's header
			os.WriteFile(seg, b, 0o600)
			got, damage := readAll(t, dir, nil)
			if len(damage) != 1 || damage[0].Skipped != spans[4].end-spans[4].off {
				t.Fatalf("damage %v, want the one frame skipped", damage)
			}
			same(t, got, ringA, append(slices.Clone(recs[:4]), recs[5:]...))
		})
	}
}

func TestZerosInTheMiddle(t *testing.T) {
	// A power loss with writeback out of order leaves zeros where a page
	// never reached the disk; the reader skips them and goes on.
	recs := ringRecords(rand.New(rand.NewPCG(7, 7)), 300, 0, 0, 100)
	dir := t.TempDir()
	writeArchive(t, dir, nil, batches(ringA, recs, 300))
	seg := segments(t, dir)[0]
	spans := frameSpans(t, seg)
	b, _ := os.ReadFile(seg)
	clear(b[4096:8192])
	os.WriteFile(seg, b, 0o600)
	got, damage := readAll(t, dir, nil)
	hit := damaged(spans, []int64{4096, 8191})
	lost := 0
	for i := range spans {
		if spans[i].off < 8192 && spans[i].end > 4096 {
			lost++
			hit[i] = true
		}
	}
	if len(got) != len(recs)-lost || len(damage) != 1 {
		t.Fatalf("read %d records, %d damage reports; want %d and 1", len(got), len(damage), len(recs)-lost)
	}
	var want []drain.Record
	for i := range recs {
		if !hit[i] {
			want = append(want, recs[i])
		}
	}
	same(t, got, ringA, want)
}

func TestDamagedHeaderSkipsTheSegment(t *testing.T) {
	recs := ringRecords(rand.New(rand.NewPCG(8, 8)), 100, 0, 0, 100)
	for _, c := range []struct {
		name  string
		patch func(b []byte) []byte
		kind  error
		why   string
	}{
		{"ring id", func(b []byte) []byte { b[offRingID] ^= 1; return b }, ErrCorrupt, "header checksum"},
		{"magic", func(b []byte) []byte { b[0] = 'X'; return b }, ErrCorrupt, "bad magic"},
		{"old format", func(b []byte) []byte { copy(b, oldMagic); return b }, ErrVersion, "internal/segment"},
		{"version", func(b []byte) []byte { b[offVersion] = 2; sealHeader(b); return b }, ErrVersion, "version 2"},
		{"cut short", func(b []byte) []byte { return b[:20] }, ErrTruncated, "cut short"},
		{"zeros", func(b []byte) []byte { clear(b[:HeaderSize]); return b }, ErrTruncated, "zeros"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeArchive(t, dir, &WriterOptions{MaxSize: 4096}, batches(ringA, recs, 100))
			segs := segments(t, dir)
			first := len(frameSpans(t, segs[0]))
			second := len(frameSpans(t, segs[1]))
			b, _ := os.ReadFile(segs[1])
			b = c.patch(b)
			os.WriteFile(segs[1], b, 0o600)
			got, damage := readAll(t, dir, nil)
			if len(damage) != 1 || !errors.Is(damage[0], c.kind) || !strings.Contains(damage[0].Reason, c.why) ||
				damage[0].Offset != 0 || damage[0].Skipped != int64(len(b)) {
				t.Fatalf("damage %v, want the whole segment skipped: %v, %q", damage, c.kind, c.why)
			}
			same(t, got, ringA, append(slices.Clone(recs[:first]), recs[first+second:]...))
		})
	}
}

func TestResyncGivesUpOnHostileBytes(t *testing.T) {
	// Every 24 bytes a frame header that passes the cheap checks and claims
	// the rest of the segment: without a bound, resynchronisation would
	// checksum O(size^2) bytes.
	const size = 256 << 10
	b := make([]byte, size)
	putHeader(b, segHeader{ringID: ringA, firstPos: 0, firstSeq: 0})
	for o := HeaderSize; o+FrameHeaderSize <= size; o += FrameHeaderSize {
		putFrameHeader(b[o:], size-o-FrameHeaderSize, 0, 0)
	}
	var sc scanner
	if d, err := sc.reset(bytes.NewReader(b), size, "hostile", false); d != nil || err != nil {
		t.Fatal(d, err)
	}
	_, d, err := sc.next()
	if err != nil || d == nil || d.Skipped != size-HeaderSize || !strings.Contains(d.Reason, "gave up") {
		t.Fatalf("damage %v, %v; want the rest skipped after giving up", d, err)
	}
}
