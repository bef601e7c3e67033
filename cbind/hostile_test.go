package cbind

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/ring"
)

// Hostile input: corrupt region headers and record header words written into
// a mapped ring file by "another party" (a second mapping), each reported as
// the right error by the Go and the C consumer, which both survive.

// TestHostileRegionHeader damages each validated header field of a ring file
// and checks that abi.OpenFile and the C consumer (sanitized) both refuse it
// naming the field.
func TestHostileRegionHeader(t *testing.T) {
	consumer := cprog(t, "tests/consumer.c", true)
	cases := []struct {
		field string
		off   int
		val   uint64
		size  int
	}{
		{"magic", abi.OffMagic, 0x0200465542474F4C, 8},
		{"version", abi.OffVersion, 7, 4},
		{"header_size", abi.OffHeaderSize, 2048, 4},
		{"line_size", abi.OffLineSize, 64, 4},
		{"producer_slots", abi.OffProducerSlots, 64, 4},
		{"capacity", abi.OffCapacity, 3000, 8},
		{"file size", abi.OffCapacity, 1 << 20, 8}, // valid capacity, file too short
		{"flags", abi.OffFlags, 0x10, 4},
		{"head", abi.OffHead, 4, 8},
		{"tail", abi.OffTail, 12, 8},
		{"tail", abi.OffTail, 1 << 20, 8},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s=%d", c.field, c.val), func(t *testing.T) {
			f, path := createRing(t, 1<<12, abi.SPSC)
			b := f.Region().Bytes()
			if c.size == 8 {
				binary.LittleEndian.PutUint64(b[c.off:], c.val)
			} else {
				binary.LittleEndian.PutUint32(b[c.off:], uint32(c.val))
			}
			_, err := abi.OpenFile(path)
			var ce *abi.CorruptError
			if !errors.As(err, &ce) || ce.Field != c.field {
				t.Fatalf("OpenFile: %v, want a CorruptError naming %s", err, c.field)
			}
			code, _, stderr := start(t, procTimeout, consumer, path, "1").wait()
			if code != 3 || !strings.Contains(stderr, c.field) {
				t.Fatalf("C consumer exited %d saying %q; want 3 naming %s", code, stderr, c.field)
			}
		})
	}
}

// TestHostileRecords writes three good records, then plants a bad header word
// (or a bad tail) after them. The Go consumer, over a second mapping, must
// deliver the three records and then report the corruption at its position,
// and keep reporting it; the C consumer (sanitized) likewise.
func TestHostileRecords(t *testing.T) {
	consumer := cprog(t, "tests/consumer.c", true)
	const capacity = 1 << 12 // max payload 512
	cases := []struct {
		name  string
		word  func(off uint64) abi.Word
		extra uint64 // tail moves this far past the bad word
		field string // "record", or "tail"
		why   string
	}{
		{"unknown kind", func(uint64) abi.Word { return abi.SkipWord(0x44, 16) }, 16, "record", "unknown kind"},
		{"owner bits on a commit", func(uint64) abi.Word { return abi.CommittedWord(8) | 1<<50 }, 16, "record", "lap/owner"},
		{"length over max", func(uint64) abi.Word { return abi.CommittedWord(513) }, 1024, "record", "not in [1, 512]"},
		{"length 2^32-1", func(uint64) abi.Word { return abi.CommittedWord(0xFFFFFFFF) }, 1024, "record", "not in"},
		{"skip of 12", func(uint64) abi.Word { return abi.SkipWord(abi.KindAborted, 12) }, 16, "record", "multiple of 8"},
		{"abort larger than a claim", func(uint64) abi.Word { return abi.SkipWord(abi.KindAborted, 1024) }, 1024, "record", "larger than any claim"},
		{"padding before the wrap", func(uint64) abi.Word { return abi.SkipWord(abi.KindPadding, 8) }, 8, "record", "wrap point"},
		{"skip past the end", func(off uint64) abi.Word { return abi.SkipWord(abi.KindUnblocked, uint32(capacity-off+8)) }, 64, "record", "crosses the end"},
		{"record past tail", func(uint64) abi.Word { return abi.CommittedWord(100) }, 8, "record", "past tail"},
		{"tail not aligned", func(uint64) abi.Word { return abi.CommittedWord(100) }, 3, "tail", "multiple of 8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, path := createRing(t, capacity, abi.SPSC)
			p, err := ring.NewSPSCProducer(f.Region())
			if err != nil {
				t.Fatal(err)
			}
			if err := produceGo(p, 1, 3, 1); err != nil {
				t.Fatal(err)
			}
			p.Close()
			h := f.Region().Header()
			pos := h.Tail.Load()
			off := pos & (capacity - 1)
			f.Region().WordAt(off).Store(uint64(tc.word(off)))
			h.Tail.Store(pos + tc.extra)

			g, err := abi.OpenFile(path)
			if tc.field == "tail" {
				var ce *abi.CorruptError
				if !errors.As(err, &ce) || ce.Field != "tail" {
					t.Fatalf("OpenFile with tail %d: %v, want a CorruptError naming tail", pos+tc.extra, err)
				}
				// A tail that goes bad after opening is caught while reading.
				h.Tail.Store(pos)
				if g, err = abi.OpenFile(path); err != nil {
					t.Fatal(err)
				}
				defer g.Close()
			} else if err != nil {
				t.Fatal(err)
			} else {
				defer g.Close()
			}
			c, err := ring.NewConsumer(g.Region())
			if err != nil {
				t.Fatal(err)
			}
			chk := newRecChecker()
			for i := 0; i < 3; i++ {
				rec, err := c.TryRead()
				if err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
				if err := chk.check(rec.Bytes()); err != nil {
					t.Fatal(err)
				}
			}
			if tc.field == "tail" {
				h.Tail.Store(pos + tc.extra)
			}
			var ce *abi.CorruptError
			for i := 0; i < 2; i++ { // the second call: the consumer stays stopped
				_, err = c.TryRead()
				if !errors.Is(err, ring.ErrCorrupt) || !errors.As(err, &ce) || ce.Field != tc.field ||
					!strings.Contains(err.Error(), tc.why) {
					t.Fatalf("TryRead %d: %v; want a CorruptError for %s saying %q", i, err, tc.field, tc.why)
				}
			}
			if tc.field == "record" && ce.Offset != pos {
				t.Errorf("error names position %d, want %d", ce.Offset, pos)
			}

			if tc.field == "tail" {
				return // the C consumer refuses such a file at open: TestHostileRegionHeader
			}
			c.Close() // one consumer at a time (spec section 8); what it read stays in the ring
			code, out, stderr := start(t, procTimeout, consumer, path, "4").wait()
			if code != 3 || !strings.Contains(stderr, "position "+strconv.FormatUint(pos, 10)) {
				t.Fatalf("C consumer exited %d (%q, %q); want 3 naming position %d", code, out, stderr, pos)
			}
		})
	}
}

// TestHostileGarbage fills regions with random header words and positions:
// the Go consumer never panics, delivers only payloads inside the data area,
// and ends every read with ErrEmpty or ErrCorrupt.
func TestHostileGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []uint64{0, 1, 2, 0x81, 0x82, 0x83, 0x7F, 0xFF}
	for iter := 0; iter < 2000; iter++ {
		r, err := abi.NewHeap(256, abi.Mode(iter&1))
		if err != nil {
			t.Fatal(err)
		}
		data := r.Data()
		for off := 0; off < len(data); off += 8 {
			w := kinds[rng.IntN(len(kinds))]<<56 | uint64(rng.IntN(300))
			if rng.IntN(8) == 0 {
				w |= rng.Uint64() & 0x00FF_FFFF_0000_0000
			}
			binary.LittleEndian.PutUint64(data[off:], w)
		}
		head := uint64(rng.IntN(64)) * 8
		r.Header().Head.Store(head)
		r.Header().Releasing.Store(head) // no release under way
		r.Header().Tail.Store(head + uint64(rng.IntN(33))*8)
		c, err := ring.NewConsumer(r)
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; ; n++ {
			rec, err := c.TryRead()
			if err == ring.ErrEmpty || errors.Is(err, ring.ErrCorrupt) {
				break
			}
			if err != nil || n > 64 {
				t.Fatalf("iteration %d: read %d: %v", iter, n, err)
			}
			if len(rec.Bytes()) == 0 || len(rec.Bytes()) > 32 {
				t.Fatalf("iteration %d: a record of %d bytes from a ring with max payload 32", iter, len(rec.Bytes()))
			}
		}
		c.Release()
	}
}

// TestHostileC runs the C producer and consumer on hostile regions
// (tests/hostile.c, built with AddressSanitizer and UndefinedBehaviorSanitizer):
// random region headers, record words and producer table entries, rewritten
// by "another party" between calls, in memory between guard pages with
// canaries. 20000 inputs (2000 with -short); about a second.
func TestHostileC(t *testing.T) {
	prog := cprog(t, "tests/hostile.c", true)
	n := 20000
	if testing.Short() {
		n = 2000
	}
	out := start(t, procTimeout, prog, "-random", "1", strconv.Itoa(n)).mustSucceed(t)
	t.Log(strings.TrimSpace(out))
}

// TestHostileCFuzz runs tests/hostile.c as a libFuzzer target (clang
// -fsanitize=fuzzer, with AddressSanitizer and UndefinedBehaviorSanitizer)
// for a bounded number of inputs from a fixed seed; skipped with -short and
// where clang cannot build fuzzers (libclang-rt-14-dev). A finding fails the
// test and is written into t.TempDir() by libFuzzer, named in the output.
func TestHostileCFuzz(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: a fuzzing run")
	}
	clang, err := exec.LookPath("clang")
	if err != nil {
		t.Skip("skipping: no clang on PATH")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "hostile-fuzz")
	args := []string{"-std=c11", "-O1", "-g", "-DLOGBUF_LIBFUZZER", "-fsanitize=fuzzer,address,undefined",
		"-fno-sanitize-recover=all", "-I", ".", "-o", bin, "tests/hostile.c"}
	if out, err := exec.Command(clang, args...).CombinedOutput(); err != nil {
		t.Skipf("skipping: clang cannot build a libFuzzer target here (libclang-rt-14-dev?): %v\n%s", err, out)
	}
	p := start(t, procTimeout, bin, "-runs=50000", "-seed=1", "-max_len=1024", "-artifact_prefix="+dir+"/")
	if code, _, stderr := p.wait(); code != 0 {
		t.Fatalf("libFuzzer exited %d:\n%s", code, stderr)
	}
}
