package segment

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func records(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = bytes.Repeat([]byte{byte(i)}, 1+i*37%300)
		copy(out[i], fmt.Sprint(i))
	}
	return out
}

func write(t *testing.T, dir string, recs [][]byte, opts Options) {
	t.Helper()
	w, err := Create(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if err := w.Append(r); err != nil {
			t.Fatal(err)
		}
		if i%7 == 0 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// readAll reads the archive to the end and returns its records and the
// damage reported on the way.
func readAll(t *testing.T, dir string) ([][]byte, []*DamageError) {
	t.Helper()
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got [][]byte
	var damage []*DamageError
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return got, damage
		}
		var de *DamageError
		if errors.As(err, &de) {
			damage = append(damage, de)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, bytes.Clone(rec))
	}
}

func equal(t *testing.T, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("record %d: got %d bytes %q..., want %d bytes", i, len(got[i]), got[i][:min(8, len(got[i]))], len(want[i]))
		}
	}
}

func TestRoundTripAndRollover(t *testing.T) {
	for _, sync := range []Sync{SyncNever, SyncSegment, SyncInterval} {
		t.Run(sync.String(), func(t *testing.T) {
			dir := t.TempDir()
			recs := records(500)
			write(t, dir, recs, Options{MaxSize: 4096, Sync: sync})
			segs, _ := List(dir)
			if len(segs) < 10 {
				t.Fatalf("%d segments, want rollover at 4 KiB", len(segs))
			}
			for _, s := range segs {
				if st, _ := os.Stat(s); st.Size() > 4096 {
					t.Errorf("%s is %d bytes, over the 4096 limit", s, st.Size())
				}
			}
			got, damage := readAll(t, dir)
			if len(damage) > 0 {
				t.Fatal(damage[0])
			}
			equal(t, got, recs)
		})
	}
}

func TestAppendGoesToNewSegment(t *testing.T) {
	dir := t.TempDir()
	a, b := records(10), records(20)[10:]
	write(t, dir, a, Options{})
	write(t, dir, b, Options{})
	segs, _ := List(dir)
	if len(segs) != 2 {
		t.Fatalf("segments %v, want 2", segs)
	}
	got, damage := readAll(t, dir)
	if len(damage) > 0 {
		t.Fatal(damage[0])
	}
	equal(t, got, append(a, b...))
}

// frameEnds returns the offsets where each frame of a segment ends.
func frameEnds(t *testing.T, path string) []int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ends []int64
	off := int64(len(Magic))
	for off < int64(len(b)) {
		n := int64(b[off]) | int64(b[off+1])<<8 | int64(b[off+2])<<16 | int64(b[off+3])<<24
		off += FrameHeader + n
		ends = append(ends, off)
	}
	return ends
}

func TestTruncatedMidRecord(t *testing.T) {
	recs := records(300)
	for _, cut := range []struct {
		name string
		at   func(ends []int64) int64
		kind error
		why  string
	}{
		{"in payload", func(e []int64) int64 { return e[len(e)/2] - 3 }, ErrTruncated, "cut short"},
		{"in frame header", func(e []int64) int64 { return e[len(e)/2] + 5 }, ErrTruncated, "frame header cut short"},
		{"in segment header", func(e []int64) int64 { return 3 }, ErrTruncated, "segment header"},
	} {
		t.Run(cut.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, recs, Options{MaxSize: 8192})
			segs, _ := List(dir)
			victim := segs[1]
			ends := frameEnds(t, victim)
			at := cut.at(ends)
			if err := os.Truncate(victim, at); err != nil {
				t.Fatal(err)
			}
			got, damage := readAll(t, dir)
			if len(damage) != 1 {
				t.Fatalf("damage %v, want one report", damage)
			}
			d := damage[0]
			if !errors.Is(d, cut.kind) || filepath.Base(d.Path) != filepath.Base(victim) || !strings.Contains(d.Error(), cut.why) {
				t.Fatalf("damage %v", d)
			}
			// Every record but those from the cut to the end of the segment.
			before := len(frameEnds(t, segs[0]))
			kept := 0
			for _, e := range ends {
				if e <= at {
					kept++
				}
			}
			lost := len(ends) - kept
			want := append(append([][]byte{}, recs[:before+kept]...), recs[before+kept+lost:]...)
			equal(t, got, want)
			if want := ends[max(kept-1, 0)]; kept > 0 && d.Offset != want {
				t.Errorf("damage at offset %d, want %d", d.Offset, want)
			}
		})
	}
}

func TestCorruptFrames(t *testing.T) {
	recs := records(50)
	for _, c := range []struct {
		name  string
		patch func(b []byte, off int64)
		kind  error
	}{
		{"payload bit flip", func(b []byte, off int64) { b[off+FrameHeader] ^= 1 }, ErrCorrupt},
		{"length bit flip", func(b []byte, off int64) { b[off] ^= 2 }, ErrCorrupt},
		{"zero fill", func(b []byte, off int64) { clear(b[off:]) }, ErrTruncated},
		{"bad magic", func(b []byte, off int64) { b[0] = 'X' }, ErrCorrupt},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, recs, Options{})
			segs, _ := List(dir)
			ends := frameEnds(t, segs[0])
			b, _ := os.ReadFile(segs[0])
			c.patch(b, ends[9])
			os.WriteFile(segs[0], b, 0o644)
			got, damage := readAll(t, dir)
			if len(damage) != 1 || !errors.Is(damage[0], c.kind) {
				t.Fatalf("damage %v, want one %v", damage, c.kind)
			}
			if c.name != "bad magic" {
				equal(t, got, recs[:10])
			} else if len(got) != 0 {
				t.Fatalf("%d records from a segment with a bad magic", len(got))
			}
		})
	}
}

func TestRefusesBadRecords(t *testing.T) {
	w, err := Create(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Append(nil); err == nil {
		t.Error("empty record accepted")
	}
}
