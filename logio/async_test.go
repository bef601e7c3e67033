package logio

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a destination that keeps each Write as it came, and checks
// that Sync never runs during a Write. gate, when not nil, holds every
// Write until it is closed; fail, when it returns an error, fails a Write
// after taking the bytes it says.
type recorder struct {
	mu     sync.Mutex
	writes [][]byte
	syncs  int
	gate   chan struct{}
	fail   func(p []byte) (int, error)
	in     atomic.Int32 // Writes and Syncs running
	errs   []string
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.gate != nil {
		<-r.gate
	}
	if r.in.Add(1) != 1 {
		r.note("Write while another Write or Sync runs")
	}
	defer r.in.Add(-1)
	n, err := len(p), error(nil)
	if r.fail != nil {
		n, err = r.fail(p)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, bytes.Clone(p[:n]))
	return n, err
}

func (r *recorder) Sync() error {
	if r.in.Add(1) != 1 {
		r.note("Sync while a Write runs")
	}
	defer r.in.Add(-1)
	time.Sleep(time.Millisecond) // a window for a Write that should not come
	r.mu.Lock()
	defer r.mu.Unlock()
	r.syncs++
	return nil
}

func (r *recorder) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, s)
}

// got returns the Writes so far, and fails the test if any overlapped.
func (r *recorder) got(t *testing.T) [][]byte {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) > 0 {
		t.Fatalf("destination misused: %v", r.errs)
	}
	return r.writes
}

// lines splits what the destination got into lines, newlines kept.
func lines(writes [][]byte) [][]byte {
	var out [][]byte
	for all := bytes.Join(writes, nil); len(all) > 0; {
		i := bytes.IndexByte(all, '\n') + 1
		if i == 0 {
			i = len(all)
		}
		out, all = append(out, all[:i]), all[i:]
	}
	return out
}

func newAsync(t *testing.T, dst io.Writer, opt AsyncOptions) *Async {
	t.Helper()
	a, err := NewAsync(dst, opt)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Goroutines writing at once through a small ring, waiting rather than
// dropping: the destination gets every record once, one Write each, in
// order per goroutine, byte-exact.
func TestAsyncConcurrent(t *testing.T) {
	const goroutines, perG = 8, 2000
	for _, poll := range []time.Duration{0, -1} {
		dst := &recorder{}
		a := newAsync(t, dst, AsyncOptions{Size: 4096, Poll: poll, Options: Options{Wait: -1}})
		writeEvents(t, a, goroutines, perG)
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		checkEvents(t, dst.got(t), goroutines, perG, true)
		want := AsyncCounts{Counts: Counts{Written: goroutines * perG}, Delivered: goroutines * perG}
		if got := a.Counts(); got != want {
			t.Fatalf("poll %v: counts %+v, want %+v", poll, got, want)
		}
	}
}

// While the ring is empty, a polling drainer waits in its sink, never in
// the ring's futex, so that no Write has to wake it; with Poll < 0 it parks
// there.
func TestAsyncPoll(t *testing.T) {
	for _, poll := range []time.Duration{time.Millisecond, -1} {
		dst := &recorder{}
		a := newAsync(t, dst, AsyncOptions{Poll: poll})
		for i := range 10 {
			a.Write([]byte("one\n"))
			if err := a.Flush(); err != nil {
				t.Fatal(err)
			}
			parked := false
			for range 20 { // a moment of quiet, looked at 20 times
				time.Sleep(100 * time.Microsecond)
				parked = parked || a.hdr.ConsumerWait.Load() != 0
			}
			if poll > 0 && parked {
				t.Fatalf("poll %v, quiet %d: the drainer parked in the futex", poll, i)
			}
			if poll < 0 && parked {
				break // as it should
			}
			if poll < 0 && i == 9 {
				t.Fatal("Poll < 0: the drainer never parked")
			}
		}
		a.Close()
		if n := len(dst.got(t)); n == 0 {
			t.Fatalf("poll %v: nothing delivered", poll)
		}
	}
}

// Coalesce joins records into Writes of at most its size; Newline ends
// the records that lack one.
func TestAsyncCoalesceNewline(t *testing.T) {
	const goroutines, perG, coalesce = 4, 1000, 1024
	// A destination slower than the writers, as a file under load is:
	// records pile up in the ring and each batch has several to join.
	dst := &recorder{fail: func(p []byte) (int, error) { time.Sleep(50 * time.Microsecond); return len(p), nil }}
	a := newAsync(t, dst, AsyncOptions{Size: 4096, Coalesce: coalesce, Newline: true, Options: Options{Wait: -1}})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				e := event(g, i)
				if i%2 == 0 {
					e = e[:len(e)-1] // the newline comes from the Async
				}
				a.Write(e)
			}
		})
	}
	wg.Wait()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	writes := dst.got(t)
	checkEvents(t, lines(writes), goroutines, perG, true)
	for i, w := range writes {
		if len(w) > coalesce {
			t.Fatalf("Write %d has %d bytes, more than %d", i, len(w), coalesce)
		}
	}
	if len(writes) >= goroutines*perG/2 {
		t.Fatalf("%d Writes for %d records: not joined", len(writes), goroutines*perG)
	}
}

// Without Coalesce, Newline adds the newline to the record's own Write.
func TestAsyncNewlinePerRecord(t *testing.T) {
	dst := &recorder{}
	a := newAsync(t, dst, AsyncOptions{Newline: true})
	for _, s := range []string{"one", "two\n", "three"} {
		a.Write([]byte(s))
	}
	a.Close()
	got := dst.got(t)
	want := []string{"one\n", "two\n", "three\n"}
	if len(got) != len(want) {
		t.Fatalf("%d Writes, want %d", len(got), len(want))
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Fatalf("Write %d is %q, want %q", i, got[i], want[i])
		}
	}
}

// Close returns only once the destination took everything written before
// it.
func TestAsyncCloseFlushes(t *testing.T) {
	const n = 500
	dst := &recorder{gate: make(chan struct{})}
	a := newAsync(t, dst, AsyncOptions{})
	writeEvents(t, a, 1, n)
	closed := make(chan error, 1)
	go func() { closed <- a.Close() }()
	if len(dst.got(t)) != 0 {
		t.Fatal("the destination took records through a closed gate")
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) with every record still held", err)
	default:
	}
	close(dst.gate)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	checkEvents(t, dst.got(t), 1, n, true)
	if _, err := a.Write([]byte("late")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

// Sync returns once the destination took what was written, then syncs
// the destination, never during one of its Writes.
func TestAsyncSync(t *testing.T) {
	const goroutines, perG = 4, 500
	dst := &recorder{}
	a := newAsync(t, dst, AsyncOptions{})
	defer a.Close()
	var wg sync.WaitGroup
	wg.Go(func() { writeEvents(t, a, goroutines, perG) })
	for range 20 {
		if err := a.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if err := a.Sync(); err != nil {
		t.Fatal(err)
	}
	// Everything written before the last Sync is in the destination.
	checkEvents(t, dst.got(t), goroutines, perG, true)
	if dst.syncs != 21 {
		t.Fatalf("the destination was synced %d times, want 21", dst.syncs)
	}
}

// A destination that fails now and then, taking part of a Write: the
// Async retries what it did not take, and the output is whole, each record
// once; OnError hears of each failure; Flush reports a failing
// destination.
func TestAsyncDestinationFails(t *testing.T) {
	const n = 300
	errDisk := errors.New("disk trouble")
	var calls, failed atomic.Int32
	var broken atomic.Bool
	dst := &recorder{fail: func(p []byte) (int, error) {
		if broken.Load() {
			return 0, errDisk
		}
		if calls.Add(1)%7 == 0 {
			failed.Add(1)
			return len(p) / 2, errDisk
		}
		return len(p), nil
	}}
	var told atomic.Int32
	a := newAsync(t, dst, AsyncOptions{Coalesce: 512, OnError: func(err error) {
		if !errors.Is(err, errDisk) {
			t.Errorf("OnError(%v)", err)
		}
		told.Add(1)
	}})
	writeEvents(t, a, 1, n)
	// Flush says so when it finds the destination failing; the records
	// stay in the ring and are retried.
	for err := a.Flush(); err != nil; err = a.Flush() {
		if !errors.Is(err, errDisk) {
			t.Fatal(err)
		}
	}
	checkEvents(t, lines(dst.got(t)), 1, n, true)
	if failed.Load() == 0 || told.Load() != failed.Load() {
		t.Fatalf("%d failed Writes, OnError told of %d", failed.Load(), told.Load())
	}

	broken.Store(true)
	a.Write([]byte("stuck\n"))
	for {
		err := a.Flush()
		if errors.Is(err, errDisk) {
			break
		}
		if err != nil {
			t.Fatalf("Flush = %v, want the destination's error", err)
		}
	}
	broken.Store(false)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if got := lines(dst.got(t)); string(got[len(got)-1]) != "stuck\n" {
		t.Fatalf("last line %q", got[len(got)-1])
	}
}

// A destination that never recovers: Close gives up after CloseRetry and
// says how many records did not make it.
func TestAsyncCloseGivesUp(t *testing.T) {
	errGone := errors.New("gone")
	dst := &recorder{fail: func([]byte) (int, error) { return 0, errGone }}
	a := newAsync(t, dst, AsyncOptions{CloseRetry: 1})
	for range 5 {
		a.Write([]byte("lost\n"))
	}
	err := a.Close()
	if !errors.Is(err, errGone) || !strings.Contains(err.Error(), "5 of 5 records") {
		t.Fatalf("Close = %v, want 5 of 5 records not delivered, wrapping %v", err, errGone)
	}
	if k := a.Counts(); k.Written != 5 || k.Delivered != 0 {
		t.Fatalf("counts %+v", k)
	}
}

// A destination that holds everything: the ring fills, what does not fit
// is dropped and counted, the rest is delivered when it lets go.
func TestAsyncDrops(t *testing.T) {
	const goroutines, perG = 4, 2000
	dst := &recorder{gate: make(chan struct{})}
	var told atomic.Uint64
	a := newAsync(t, dst, AsyncOptions{Size: 8192, Options: Options{OnDrop: func(n uint64) { told.Add(n) }}})
	writeEvents(t, a, goroutines, perG)
	close(dst.gate)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	got := checkEvents(t, dst.got(t), goroutines, perG, false)
	arrived := 0
	for _, n := range got {
		arrived += n
	}
	k := a.Counts()
	if k.Dropped == 0 || k.Written+k.Dropped != goroutines*perG || k.Delivered != k.Written ||
		k.Written != uint64(arrived) || told.Load() != k.Dropped {
		t.Fatalf("counts %+v, %d arrived, OnDrop told of %d", k, arrived, told.Load())
	}
}

// Async.Write allocates nothing.
func TestAsyncZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	// The destination holds the drainer, which would allocate as it parks.
	dst := &recorder{gate: make(chan struct{})}
	a := newAsync(t, dst, AsyncOptions{Size: 1 << 20})
	msg := event(3, 4)
	a.Write(msg) // the drainer takes it and waits at the gate
	if n := testing.AllocsPerRun(1000, func() { a.Write(msg) }); n != 0 {
		t.Errorf("Write makes %v allocations", n)
	}
	close(dst.gate)
	a.Close()
	if k := a.Counts(); k.Dropped != 0 || k.Delivered != k.Written {
		t.Fatalf("counts %+v", k)
	}
}

// TestAsyncDrainAllocatesNothingPerRecord: the drainer's side of an Async
// (drain.Run into the sink) allocates nothing per record either: ten times
// the records, the same allocations. (A sink that took the address of its
// Write error once moved it to the heap on every record.)
func TestAsyncDrainAllocatesNothingPerRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("counts the allocations of a whole process")
	}
	mallocs := func(n int) uint64 {
		a, err := NewAsync(io.Discard, AsyncOptions{Options: Options{Wait: -1}})
		if err != nil {
			t.Fatal(err)
		}
		msg := []byte("a log line of some length\n")
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range n {
			a.Write(msg)
			if err := a.Flush(); err != nil { // each record drained on its own
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		a.Close()
		return after.Mallocs - before.Mallocs
	}
	small, large := mallocs(1000), mallocs(10000)
	if large > small+1000 {
		t.Fatalf("%d allocations for 1000 records, %d for 10000: about one per record", small, large)
	}
}
