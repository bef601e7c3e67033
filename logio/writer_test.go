package logio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/drain"
	"github.com/logbuf/logbuf/ring"
)

// event is the i-th record goroutine g writes: its numbers, then a filler
// whose length and letter vary with both, then a newline, as a logger's.
func event(g, i int) []byte {
	head := fmt.Sprintf("g%03d i%07d ", g, i)
	fill := bytes.Repeat([]byte{byte('a' + (g+i)%26)}, (g*7+i*13)%200)
	return append(append([]byte(head), fill...), '\n')
}

// checkEvents checks records made by event: each one byte-exact, each
// goroutine's in the order written, none twice; with complete, none
// missing either. It returns how many records each goroutine got.
func checkEvents(t *testing.T, recs [][]byte, goroutines, perG int, complete bool) []int {
	t.Helper()
	next := make([]int, goroutines) // the least i each goroutine may have next
	got := make([]int, goroutines)
	for k, r := range recs {
		var g, i int
		if _, err := fmt.Sscanf(string(r), "g%d i%d ", &g, &i); err != nil || g < 0 || g >= goroutines {
			t.Fatalf("record %d is not an event: %q", k, r)
		}
		if i < next[g] || i >= perG {
			t.Fatalf("record %d: goroutine %d's event %d after its event %d (out of order or twice)", k, g, i, next[g]-1)
		}
		if complete && i != next[g] {
			t.Fatalf("record %d: goroutine %d's event %d, want %d (lost)", k, g, i, next[g])
		}
		if want := event(g, i); !bytes.Equal(r, want) {
			t.Fatalf("record %d: %q, want %q", k, r, want)
		}
		next[g] = i + 1
		got[g]++
	}
	if complete {
		for g, n := range got {
			if n != perG {
				t.Fatalf("goroutine %d: %d records arrived, want %d", g, n, perG)
			}
		}
	}
	return got
}

// writeEvents runs goroutines that each write perG events to w.
func writeEvents(t *testing.T, w interface{ Write([]byte) (int, error) }, goroutines, perG int) {
	t.Helper()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				e := event(g, i)
				if n, err := w.Write(e); n != len(e) || err != nil {
					t.Errorf("goroutine %d, event %d: Write = %d, %v", g, i, n, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// keepSink keeps a copy of every record it is given.
type keepSink struct {
	mu   sync.Mutex
	recs [][]byte
}

func (s *keepSink) Write(_ context.Context, b *drain.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range b.Records {
		s.recs = append(s.recs, bytes.Clone(r.Data))
	}
	return nil
}

func (s *keepSink) Flush() error { return nil }

func (s *keepSink) records() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recs
}

// heapRing makes a heap ring of the given mode with its producer and
// consumer.
func heapRing(t *testing.T, mode abi.Mode, capacity int) (p ring.Producer, c *ring.Consumer) {
	t.Helper()
	var err error
	if mode == abi.SPSC {
		p, c, err = ring.NewSPSC(capacity)
	} else {
		p, c, err = ring.NewMPSC(capacity)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p, c
}

// startDrain drains c into a keepSink until the end of the stream; wait
// returns what it kept.
func startDrain(t *testing.T, c *ring.Consumer) (wait func() [][]byte) {
	t.Helper()
	sink := &keepSink{}
	done := make(chan error, 1)
	go func() {
		res, err := drain.Run(context.Background(), c, sink, drain.Options{})
		if err == nil && res.End != drain.EndOfStream {
			err = fmt.Errorf("drain ended by %v", res.End)
		}
		done <- err
	}()
	return func() [][]byte {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return sink.records()
	}
}

// A small ring, a drainer and goroutines that wait rather than drop: every
// record arrives once, in order per goroutine, byte-exact, through many
// laps and many full rings.
func TestWriterConcurrent(t *testing.T) {
	const goroutines, perG = 8, 2000
	p, c := heapRing(t, abi.MPSC, 4096)
	w := NewWriter(p, Options{Wait: -1})
	wait := startDrain(t, c)
	writeEvents(t, w, goroutines, perG)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, wait(), goroutines, perG, true)
	if got, want := w.Counts(), (Counts{Written: goroutines * perG}); got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
}

// With the drop policy and a drainer that falls behind, whatever arrives
// is exact and in order, and what does not is counted: arrived + dropped
// is every Write, in Go, in the ring's header and in OnDrop's calls.
func TestWriterConcurrentDrops(t *testing.T) {
	const goroutines, perG = 8, 2000
	p, c := heapRing(t, abi.MPSC, 8192)
	var told atomic.Uint64
	w := NewWriter(p, Options{OnDrop: func(n uint64) { told.Add(n) }})
	wait := startDrain(t, c)
	writeEvents(t, w, goroutines, perG)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := checkEvents(t, wait(), goroutines, perG, false)
	// Not while the drainer runs: ring.ReadStats loads the word at head,
	// which the consumer zeroes with plain stores (the race detector says
	// so).
	stats := w.Stats()
	arrived := 0
	for _, n := range got {
		arrived += n
	}
	k := w.Counts()
	if k.Written != uint64(arrived) || k.Written+k.Dropped != goroutines*perG || k.Refused != 0 {
		t.Fatalf("counts %+v, %d arrived of %d", k, arrived, goroutines*perG)
	}
	if stats.Dropped != k.Dropped || told.Load() != k.Dropped {
		t.Fatalf("dropped %d; the ring says %d, OnDrop was told %d", k.Dropped, stats.Dropped, told.Load())
	}
	t.Logf("%d of %d arrived, %d dropped", arrived, goroutines*perG, k.Dropped)
}

// fill writes records of size bytes into an empty ring nobody drains, as
// many as the ring's capacity holds (spec section 4's record size), each
// written, and returns how many.
func fill(t *testing.T, w *Writer, capacity, size int) int {
	t.Helper()
	fit := capacity / int(abi.RecordSize(uint64(size)))
	msg := bytes.Repeat([]byte{'x'}, size)
	for i := range fit {
		if n, err := w.Write(msg); n != size || err != nil {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	if k := w.Counts(); k != (Counts{Written: uint64(fit)}) {
		t.Fatalf("%d records into a %d-byte ring: counts %+v", fit, capacity, k)
	}
	return fit
}

// waitTold waits until OnDrop was told of n drops. The bound is for a
// broken alerter, which would never tell: a minute, not a measure of speed.
func waitTold(t *testing.T, told *atomic.Uint64, n uint64) {
	t.Helper()
	for start := time.Now(); told.Load() != n; time.Sleep(time.Millisecond) {
		if time.Since(start) > time.Minute {
			t.Fatalf("OnDrop was told of %d drops, not %d, in a minute", told.Load(), n)
		}
	}
}

// blockedWrite starts a Write of size bytes into a full ring and returns
// once it waits for space; its error comes on the channel, or an error of
// its own when it returned fewer than size bytes with none.
func blockedWrite(t *testing.T, w *Writer, size int) <-chan error {
	t.Helper()
	full := w.Stats().FullEvents
	wrote := make(chan error, 1)
	go func() {
		n, err := w.Write(bytes.Repeat([]byte{'b'}, size))
		if err == nil && n != size {
			err = fmt.Errorf("wrote %d of %d bytes", n, size)
		}
		wrote <- err
	}()
	// The ring counts each claim refused as full: the Write is waiting.
	for w.Stats().FullEvents == full {
		time.Sleep(time.Millisecond)
	}
	return wrote
}

// With the consumer stopped, every Write past a full ring is dropped,
// counted exactly (in Go, in the ring, to OnDrop), without allocating; the
// records before it are intact.
func TestWriterDropPolicy(t *testing.T) {
	const capacity, size, extra = 4096, 100, 50
	p, c := heapRing(t, abi.MPSC, capacity)
	var calls, told atomic.Uint64
	w := NewWriter(p, Options{OnDrop: func(n uint64) { calls.Add(1); told.Add(n) }})
	fit := fill(t, w, capacity, size)
	msg := bytes.Repeat([]byte{'y'}, size)
	for range extra {
		if n, err := w.Write(msg); n != size || err != nil {
			t.Fatalf("a dropped Write returned %d, %v", n, err)
		}
	}
	want := Counts{Written: uint64(fit), Dropped: extra}
	if got := w.Counts(); got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
	if !raceEnabled {
		if a := testing.AllocsPerRun(100, func() { w.Write(msg) }); a != 0 {
			t.Errorf("a dropping Write makes %v allocations", a)
		}
	}
	// OnDrop hears of drops while the Writer runs, burst after burst.
	waitTold(t, &told, w.Counts().Dropped)
	w.Write(msg)
	waitTold(t, &told, w.Counts().Dropped)
	dropped := w.Counts().Dropped
	if s := w.Stats(); s.Dropped != dropped {
		t.Errorf("the ring counts %d dropped, the Writer %d", s.Dropped, dropped)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if told.Load() != dropped || calls.Load() < 2 {
		t.Errorf("OnDrop was told of %d drops in %d calls, want %d in 2 or more", told.Load(), calls.Load(), dropped)
	}
	n := 0
	for {
		r, err := c.TryRead()
		if err != nil {
			break
		}
		if !bytes.Equal(r.Bytes(), bytes.Repeat([]byte{'x'}, size)) {
			t.Fatalf("record %d: %q", n, r.Bytes())
		}
		n++
	}
	if n != fit {
		t.Errorf("%d records in the ring, want %d", n, fit)
	}
}

// The hot path allocates nothing, over either producer.
func TestWriterZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	msg := event(1, 2)
	for _, mode := range []abi.Mode{abi.SPSC, abi.MPSC} {
		p, c := heapRing(t, mode, 1<<16)
		w := NewWriter(p, Options{OnDrop: func(uint64) {}})
		a := testing.AllocsPerRun(1000, func() {
			if _, err := w.Write(msg); err != nil {
				t.Fatal(err)
			}
			if _, err := c.TryRead(); err != nil {
				t.Fatal(err)
			}
			c.Release()
		})
		if a != 0 {
			t.Errorf("%v: Write makes %v allocations", mode, a)
		}
		if k := w.Counts(); k.Dropped != 0 {
			t.Errorf("%v: %d dropped", mode, k.Dropped)
		}
		w.Close()
	}
}

// With a Wait limit, a Write on a full ring waits, then drops and counts;
// a Write that finds space during its wait writes.
func TestWriterWaitPolicy(t *testing.T) {
	const capacity, size = 4096, 100
	p, c := heapRing(t, abi.MPSC, capacity)
	w := NewWriter(p, Options{Wait: 5 * time.Millisecond})
	fit := fill(t, w, capacity, size)
	w.Write(make([]byte, size))
	if got, want := w.Counts(), (Counts{Written: uint64(fit), Dropped: 1}); got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
	if s := w.Stats(); s.Dropped != 1 {
		t.Fatalf("the ring counts %d dropped, want 1", s.Dropped)
	}

	// A long wait, and a consumer that frees space while it waits.
	w.opt.Wait = time.Hour
	wrote := blockedWrite(t, w, size)
	if _, err := c.ReadBatch(1, func([]byte) {}); err != nil {
		t.Fatal(err)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if got, want := w.Counts(), (Counts{Written: uint64(fit) + 1, Dropped: 1}); got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
	w.Close()
}

// With a Context, a Write waits until it is done, then drops and counts;
// with no consumer attached, the ring says so, and the Write still counts
// a plain drop.
func TestWriterContextPolicy(t *testing.T) {
	const capacity, size = 4096, 100
	p, c := heapRing(t, abi.MPSC, capacity)
	c.Close() // no consumer: ErrNoConsumer inside, a drop outside
	ctx, cancel := context.WithCancel(context.Background())
	w := NewWriter(p, Options{Context: ctx})
	fit := fill(t, w, capacity, size)
	wrote := blockedWrite(t, w, size)
	select {
	case err := <-wrote:
		t.Fatalf("Write returned (%v) before the context was done", err)
	default:
	}
	cancel()
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if got, want := w.Counts(), (Counts{Written: uint64(fit), Dropped: 1}); got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
	w.Close()
}

// A consumer that closes the ring for good ends a waiting Write with
// ring.ErrRingClosed, counted as a drop.
func TestWriterRingClosed(t *testing.T) {
	const capacity, size = 4096, 100
	p, c := heapRing(t, abi.MPSC, capacity)
	w := NewWriter(p, Options{Wait: -1})
	fit := fill(t, w, capacity, size)
	wrote := blockedWrite(t, w, size)
	c.CloseRing()
	if err := <-wrote; !errors.Is(err, ring.ErrRingClosed) {
		t.Fatalf("Write = %v, want ring.ErrRingClosed", err)
	}
	if got, want := w.Counts(), (Counts{Written: uint64(fit), Dropped: 1}); got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
	w.Close()
}

// A Write larger than the maximum payload is refused whole, with an error
// wrapping ErrTooLarge, and counted in Go and in the ring; one of exactly
// the maximum is written.
func TestWriterTooLarge(t *testing.T) {
	for _, mode := range []abi.Mode{abi.SPSC, abi.MPSC} {
		p, c := heapRing(t, mode, 4096)
		w := NewWriter(p, Options{})
		max := w.MaxPayload()
		if n, err := w.Write(make([]byte, max+1)); n != 0 || !errors.Is(err, ring.ErrTooLarge) {
			t.Fatalf("%v: Write of %d bytes = %d, %v; want 0, ErrTooLarge", mode, max+1, n, err)
		}
		big := bytes.Repeat([]byte{'m'}, max)
		if n, err := w.Write(big); n != max || err != nil {
			t.Fatalf("%v: Write of the maximum = %d, %v", mode, n, err)
		}
		if got, want := w.Counts(), (Counts{Written: 1, Refused: 1}); got != want {
			t.Fatalf("%v: counts %+v, want %+v", mode, got, want)
		}
		if s := w.Stats(); s.Refused != 1 || s.Dropped != 0 {
			t.Fatalf("%v: the ring counts %d refused, %d dropped", mode, s.Refused, s.Dropped)
		}
		r, err := c.TryRead()
		if err != nil || !bytes.Equal(r.Bytes(), big) {
			t.Fatalf("%v: read %d bytes, %v", mode, len(r.Bytes()), err)
		}
		if _, err := c.TryRead(); err != ring.ErrEmpty {
			t.Fatalf("%v: a second record: %v", mode, err)
		}
		w.Close()
	}
}

// Empty Writes write nothing; Writes after Close fail and are counted.
func TestWriterEmptyAndClosed(t *testing.T) {
	p, c := heapRing(t, abi.MPSC, 4096)
	w := NewWriter(p, Options{})
	if n, err := w.Write(nil); n != 0 || err != nil {
		t.Fatalf("Write(nil) = %d, %v", n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := w.Write([]byte("late")); !errors.Is(err, ring.ErrClosed) {
		t.Fatalf("Write after Close = %v, want ring.ErrClosed", err)
	}
	if got, want := w.Counts(), (Counts{Dropped: 1}); got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
	if s := c.Stats(); s.Dropped != 0 || s.RecordsWritten != 0 {
		t.Fatalf("the ring counts %d dropped, %d written", s.Dropped, s.RecordsWritten)
	}
}

// An SPSC Writer works from one goroutine, and keeps its records in order.
func TestWriterSPSC(t *testing.T) {
	p, c := heapRing(t, abi.SPSC, 4096)
	w := NewWriter(p, Options{Wait: -1})
	wait := startDrain(t, c)
	writeEvents(t, w, 1, 3000)
	w.Close()
	checkEvents(t, wait(), 1, 3000, true)
	if k := w.Counts(); k.Written != 3000 {
		t.Fatalf("counts %+v", k)
	}
}
