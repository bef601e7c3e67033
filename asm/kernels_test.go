package asm

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Tests in the shape of the runtime's memmove_test.go: every length 0..4096
// at every offset 0..63, with sentinel bytes before the range and canary
// bytes past the slice's capacity, checked against the pure-Go twin; then
// random sizes up to 64 KiB. Every path this GOARCH has is forced in turn.
//
// LOGBUF_ASM_REQUIRE=avx2,erms (a comma list of path names) turns "skipped:
// this CPU cannot run the path" into a failure, for CI machines that must
// exercise the assembly.

const (
	// guard is the sentinel bytes kept before and after every tested range.
	guard = 64
	// maxExhaustive is the largest length tested at every offset.
	maxExhaustive = 4096
)

// required reports whether LOGBUF_ASM_REQUIRE names the path.
func required(name string) bool {
	for _, r := range strings.Split(os.Getenv("LOGBUF_ASM_REQUIRE"), ",") {
		if strings.TrimSpace(r) == name {
			return true
		}
	}
	return false
}

// offsets returns the offsets 0..63 to test; -short keeps eight of them
// (both 8-byte aligned and not) for slow runs such as -race.
func offsets() []int {
	var o []int
	step := 1
	if testing.Short() || raceEnabled {
		step = 9
	}
	for off := 0; off < 64; off += step {
		o = append(o, off)
	}
	return o
}

func skipOrFail(t *testing.T, name string) {
	t.Helper()
	if required(name) {
		t.Fatalf("path %q is required (LOGBUF_ASM_REQUIRE) but this CPU cannot run it", name)
	}
	t.Skipf("this CPU cannot run path %q", name)
}

// pattern fills b with bytes that are never 0 and differ from their
// neighbours, so a missed or shifted byte shows.
func pattern(b []byte, seed int) {
	for i := range b {
		b[i] = byte(i*7+seed)%251 + 1
	}
}

func TestRequiredPathsExist(t *testing.T) {
	for _, r := range strings.Split(os.Getenv("LOGBUF_ASM_REQUIRE"), ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		found := false
		for _, p := range zeroPaths {
			found = found || (p.name == r && p.ok)
		}
		if !found {
			t.Errorf("required path %q is not available in this build", r)
		}
	}
}

func TestZero(t *testing.T) {
	for _, p := range zeroPaths {
		t.Run(p.name, func(t *testing.T) {
			restore, ok := forceZero(p.name)
			defer restore()
			if !ok {
				skipOrFail(t, p.name)
			}
			buf := make([]byte, guard+maxExhaustive+guard+64)
			want := make([]byte, len(buf))
			for n := 0; n <= maxExhaustive; n++ {
				for _, off := range offsets() {
					pattern(buf, n+off)
					copy(want, buf)
					lo, hi := guard+off, guard+off+n
					zeroGeneric(want[lo:hi])
					Zero(buf[lo:hi:hi])
					if !bytes.Equal(buf, want) {
						t.Fatalf("n=%d off=%d: %s", n, off, firstDiff(buf, want, lo, hi))
					}
				}
			}
		})
	}
}

func TestRandomLarge(t *testing.T) {
	const max = 64 << 10
	rng := rand.New(rand.NewPCG(3, 4))
	iters := 300
	if testing.Short() || raceEnabled {
		iters = 50
	}
	for _, p := range zeroPaths {
		t.Run("zero/"+p.name, func(t *testing.T) {
			restore, ok := forceZero(p.name)
			defer restore()
			if !ok {
				skipOrFail(t, p.name)
			}
			buf := make([]byte, 2*guard+max+64)
			for i := 0; i < iters; i++ {
				n, off := rng.IntN(max+1), rng.IntN(64)
				pattern(buf, i)
				lo, hi := guard+off, guard+off+n
				Zero(buf[lo:hi:hi])
				if !allZero(buf[lo:hi]) || buf[lo-1] == 0 || buf[hi] == 0 {
					t.Fatalf("n=%d off=%d: wrong bytes", n, off)
				}
			}
		})
	}
}

// TestTwins checks the references themselves against the built-ins.
func TestTwins(t *testing.T) {
	a, b := make([]byte, 300), make([]byte, 300)
	for n := 0; n <= 256; n++ {
		pattern(a, n)
		copy(b, a)
		zeroGeneric(a[3 : 3+n])
		clear(b[3 : 3+n])
		if !bytes.Equal(a, b) {
			t.Fatalf("zeroGeneric n=%d differs from clear", n)
		}
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func firstDiff(got, want []byte, lo, hi int) string {
	for i := range got {
		if got[i] != want[i] {
			where := "inside"
			if i < lo {
				where = "before"
			} else if i >= hi {
				where = "after"
			}
			return fmt.Sprintf("byte %d (%s the range [%d,%d)) is %#x, want %#x", i, where, lo, hi, got[i], want[i])
		}
	}
	return "equal"
}

// TestPause runs Pause the way callers do, in a loop that polls a value
// another goroutine writes: the instruction must exist on this CPU (a bad
// encoding dies with SIGILL) and must not keep the loop from seeing the store.
func TestPause(t *testing.T) {
	var flag atomic.Bool
	go func() {
		time.Sleep(time.Millisecond)
		flag.Store(true)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for n := 0; !flag.Load(); n++ {
		Pause()
		if n%1024 == 0 && time.Now().After(deadline) {
			t.Fatal("the store never became visible to the polling loop")
		}
	}
}

// TestKernels: the description names what init chose.
func TestKernels(t *testing.T) {
	k := Kernels()
	want := []string{pauseName}
	if zeroCut != math.MaxInt {
		want = append(want, zeroName)
	}
	for _, w := range want {
		if !strings.Contains(k, w) {
			t.Errorf("Kernels() = %q, does not name %q", k, w)
		}
	}
}
