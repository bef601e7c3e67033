package archive

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/logbuf/logbuf/drain"
)

// TestTornTailEveryOffset simulates a crash (or, with SyncAlways, a power
// loss) while the last frames were being written: the newest segment is cut
// at every byte offset, from inside its header to its end. Opening the
// directory for writing must cut the torn frame and report it, Resume must
// name the last whole frame, and a drainer that then hands over what the
// ring still holds (everything after Resume, as drain.Run does) must leave
// every record in the archive exactly once.
func TestTornTailEveryOffset(t *testing.T) {
	recs := ringRecords(rand.New(rand.NewPCG(21, 21)), 60, 1<<33, 7000, 40)
	src := t.TempDir()
	writeArchive(t, src, &WriterOptions{MaxSize: 2048}, batches(ringA, recs, 4))
	segs := segments(t, src)
	newest := segs[len(segs)-1]
	full, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	spans := frameSpans(t, newest)
	before := len(recs) - len(spans) // records in the older segments
	step := 1
	if testing.Short() {
		step = 7
	}
	for cut := 0; cut <= len(full); cut += step {
		dir := copyDir(t, src)
		path := filepath.Join(dir, filepath.Base(newest))
		if err := os.WriteFile(path, full[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		whole := 0 // frames of the newest segment that survived whole
		end := int64(HeaderSize)
		for _, s := range spans {
			if s.end <= int64(cut) {
				whole, end = whole+1, s.end
			}
		}
		w, err := OpenWriter(dir, nil)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		// What the repair must have done.
		reps := w.Repairs()
		switch {
		case cut == len(full) || (whole > 0 && end == int64(cut)):
			if len(reps) != 0 {
				t.Fatalf("cut at %d, a frame boundary: repairs %v", cut, reps)
			}
			if st, _ := os.Stat(path); st.Size() != int64(cut) {
				t.Fatalf("cut at %d: segment changed to %d bytes", cut, st.Size())
			}
		case whole == 0:
			// No whole frame: the segment holds nothing and goes.
			if len(reps) != 1 || reps[0].Path != path || reps[0].Offset+reps[0].Bytes != int64(cut) || reps[0].SetAside != "" {
				t.Fatalf("cut at %d (no whole frame): repairs %v, want the segment removed", cut, reps)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("cut at %d: segment without frames kept (%v)", cut, err)
			}
		default:
			if len(reps) != 1 || reps[0].Path != path || reps[0].Offset != end || reps[0].Bytes != int64(cut)-end ||
				reps[0].SetAside != "" || !strings.Contains(reps[0].Reason, "cut short") {
				t.Fatalf("cut at %d: repairs %v, want %d bytes cut at %d", cut, reps, int64(cut)-end, end)
			}
			if st, _ := os.Stat(path); st.Size() != end {
				t.Fatalf("cut at %d: segment is %d bytes after repair, want %d", cut, st.Size(), end)
			}
		}
		last := recs[before+whole-1]
		pos, ok, err := w.Resume(ringA)
		if err != nil || !ok || pos != last.Pos {
			t.Fatalf("cut at %d: Resume = %d %v %v, want %d (seq %d)", cut, pos, ok, err, last.Pos, last.Seq)
		}
		if id, ok := w.Last(); !ok || id.Seq != last.Seq {
			t.Fatalf("cut at %d: Last = %+v, want seq %d", cut, id, last.Seq)
		}
		writeBatches(t, w, batches(ringA, recs[before+whole:], 4))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		sameArchive(t, dir, ringA, recs)
	}
}

// TestHoleInTheLastBatch: a power loss during a SyncAlways Write may leave
// the batch's pages on the disk out of order: zeros, then whole frames,
// then a torn end. The records of that batch were not released, so the
// repair cuts at the first damage (keeping the valid frames after it in a
// file set aside): Resume must not jump the hole.
func TestHoleInTheLastBatch(t *testing.T) {
	recs := ringRecords(rand.New(rand.NewPCG(22, 22)), 400, 0, 0, 60)
	src := t.TempDir()
	writeArchive(t, src, &WriterOptions{Sync: SyncAlways}, batches(ringA, recs, 200))
	seg := segments(t, src)[0]
	spans := frameSpans(t, seg)
	b, _ := os.ReadFile(seg)
	hole := spans[250].off + 3 // inside the second batch
	clear(b[hole : hole+100])
	b = b[:len(b)-10]
	os.WriteFile(seg, b, 0o600)

	w := openW(t, src, &WriterOptions{Sync: SyncAlways})
	reps := w.Repairs()
	if len(reps) != 1 || reps[0].Offset != spans[250].off || reps[0].SetAside == "" || reps[0].Frames == 0 {
		t.Fatalf("repairs %v, want a cut at %d with the frames after the hole set aside", reps, spans[250].off)
	}
	aside, err := os.ReadFile(reps[0].SetAside)
	if err != nil || len(aside) != int(reps[0].Bytes) {
		t.Fatalf("set aside: %d bytes, %v; want %d", len(aside), err, reps[0].Bytes)
	}
	if st, _ := os.Stat(reps[0].SetAside); st.Mode().Perm() != 0o600 {
		t.Errorf("set-aside file is %v", st.Mode().Perm())
	}
	if pos, _, _ := w.Resume(ringA); pos != recs[249].Pos {
		t.Fatalf("Resume = %d, want %d (the last record before the hole)", pos, recs[249].Pos)
	}
	writeBatches(t, w, batches(ringA, recs[250:], 200))
	w.Close()
	got, _ := readAll(t, src, nil)
	same(t, got, ringA, recs)
	checkClean(t, src)
}

func TestRepairDamagedHeader(t *testing.T) {
	recs := ringRecords(rand.New(rand.NewPCG(23, 23)), 100, 0, 0, 100)
	for _, c := range []struct {
		name  string
		patch func(b []byte) []byte
		// aside: the segment is renamed; refused: OpenWriter fails.
		aside, refused bool
	}{
		{"checksum", func(b []byte) []byte { b[offRingID] ^= 1; return b }, true, false},
		{"zeros", func(b []byte) []byte { clear(b[:HeaderSize]); return b }, true, false},
		{"other format", func(b []byte) []byte { copy(b, oldMagic); return b }, false, true},
		{"not a segment", func(b []byte) []byte { copy(b, "#!/bin/sh"); return b }, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeArchive(t, dir, &WriterOptions{MaxSize: 4096}, batches(ringA, recs, 100))
			segs := segments(t, dir)
			newest := segs[len(segs)-1]
			inOlder := len(recs) - len(frameSpans(t, newest))
			b, _ := os.ReadFile(newest)
			os.WriteFile(newest, c.patch(b), 0o600)
			w, err := OpenWriter(dir, nil)
			if c.refused {
				if err == nil || !strings.Contains(err.Error(), "move it away") {
					t.Fatalf("OpenWriter: %v, want a refusal", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			reps := w.Repairs()
			if len(reps) != 1 || reps[0].SetAside != newest+".damaged" {
				t.Fatalf("repairs %v", reps)
			}
			if got, _ := os.ReadFile(newest + ".damaged"); len(got) != len(b) {
				t.Errorf("set aside %d bytes of %d", len(got), len(b))
			}
			if pos, _, _ := w.Resume(ringA); pos != recs[inOlder-1].Pos {
				t.Errorf("Resume = %d, want %d from the segment before", pos, recs[inOlder-1].Pos)
			}
			if slices.Contains(segments(t, dir), newest) {
				t.Error("the damaged segment is still listed")
			}
		})
	}
}

func TestEmptyDirectory(t *testing.T) {
	w := openW(t, filepath.Join(t.TempDir(), "new"), nil)
	defer w.Close()
	if _, ok := w.Last(); ok {
		t.Error("Last of an empty archive says ok")
	}
	if _, ok, err := w.Resume(ringA); ok || err != nil {
		t.Errorf("Resume of an empty archive: %v %v", ok, err)
	}
	if err := w.Flush(); err != nil {
		t.Error(err)
	}
	recs := ringRecords(rand.New(rand.NewPCG(1, 1)), 1, 0, 0, 9)
	writeBatches(t, w, []*drain.Batch{{RingID: ringA, Records: recs}})
}
