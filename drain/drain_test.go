package drain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/logbuf/logbuf/abi"

	"github.com/logbuf/logbuf/ring"
)

// memSink keeps what it is given; it can fail, and hold records already.
type memSink struct {
	recs    []Record // Data copied
	ringID  [16]byte
	failAt  int // fail the Write that would take the total past this many records, if > 0
	flushes int
	heldTo  uint64
	held    bool
}

var errSinkFull = errors.New("sink full")

func (s *memSink) Write(_ context.Context, b *Batch) error {
	if s.failAt > 0 && len(s.recs)+len(b.Records) > s.failAt {
		return errSinkFull
	}
	s.ringID = b.RingID
	for _, r := range b.Records {
		s.recs = append(s.recs, Record{Data: bytes.Clone(r.Data), Pos: r.Pos, Seq: r.Seq})
	}
	return nil
}

func (s *memSink) Flush() error { s.flushes++; return nil }

type resumeSink struct{ *memSink }

func (s resumeSink) Resume([16]byte) (uint64, bool, error) { return s.heldTo, s.held, nil }

// newRing makes a heap ring with its producer and consumer.
func newRing(t *testing.T, mode abi.Mode, capacity uint64) (*abi.Region, ring.Producer, *ring.Consumer) {
	t.Helper()
	r, err := abi.NewHeap(capacity, mode)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ring.OpenProducer(r)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ring.NewConsumer(r)
	if err != nil {
		t.Fatal(err)
	}
	return r, p, c
}

func send(t *testing.T, p ring.Producer, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := p.Send(context.Background(), []byte(fmt.Sprintf("record %d", i))); err != nil {
			t.Fatal(err)
		}
	}
}

func checkRecords(t *testing.T, got []Record, from, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d records, want %d", len(got), n)
	}
	for i, r := range got {
		if want := fmt.Sprintf("record %d", from+i); string(r.Data) != want {
			t.Fatalf("record %d is %q, want %q", i, r.Data, want)
		}
		if r.Seq != uint64(from+i) {
			t.Fatalf("record %d has seq %d, want %d", i, r.Seq, from+i)
		}
		if i > 0 && r.Pos <= got[i-1].Pos {
			t.Fatalf("positions not increasing: %d after %d", r.Pos, got[i-1].Pos)
		}
	}
}

func TestRunToEndOfStream(t *testing.T) {
	_, p, c := newRing(t, abi.MPSC, 1<<12)
	go func() {
		send(t, p, 0, 2000) // many times the ring: the drain frees space as it goes
		p.Close()
	}()
	var s memSink
	res, err := Run(context.Background(), c, &s, Options{MaxRecords: 7})
	if err != nil || res.End != EndOfStream {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	checkRecords(t, s.recs, 0, 2000)
	if res.Records != 2000 || res.Batches < 2000/7 || s.flushes == 0 {
		t.Fatalf("result %+v, %d flushes", res, s.flushes)
	}
	if st := c.Stats(); st.Used != 0 || st.RecordsRead != 2000 {
		t.Fatalf("ring after the drain: %+v", st)
	}
}

// TestReleaseAfterAccept: records the sink refused stay in the ring for the
// next consumer, which hands them over again.
func TestReleaseAfterAccept(t *testing.T) {
	reg, p, c := newRing(t, abi.SPSC, 1<<12)
	send(t, p, 0, 10)
	p.Close()
	s := memSink{failAt: 5}
	if _, err := Run(context.Background(), c, &s, Options{MaxRecords: 4}); !errors.Is(err, errSinkFull) {
		t.Fatalf("Run = %v, want the sink's error", err)
	}
	checkRecords(t, s.recs, 0, 4)
	c.Close()
	c2, err := ring.NewConsumer(reg)
	if err != nil {
		t.Fatal(err)
	}
	s.failAt = 0
	if res, err := Run(context.Background(), c2, &s, Options{}); err != nil || res.Records != 6 {
		t.Fatalf("second Run = %+v, %v", res, err)
	}
	checkRecords(t, s.recs, 0, 10)
}

// TestResumeSkipsHeld: records at or before the sink's newest position are
// released without being handed to it again.
func TestResumeSkipsHeld(t *testing.T) {
	reg, p, c := newRing(t, abi.SPSC, 1<<12)
	send(t, p, 0, 10)
	p.Close()
	var first memSink
	Run(context.Background(), c, &first, Options{Limit: 4})
	c.Close()
	// The sink got 4 records, but say the ring lost track: a new consumer
	// starts again at the 5th; the sink says it holds up to the 4th.
	s := resumeSink{&memSink{heldTo: first.recs[3].Pos, held: true}}
	c2, _ := ring.NewConsumer(reg)
	res, err := Run(context.Background(), c2, s, Options{})
	if err != nil || res.Skipped != 0 || res.Records != 6 {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	checkRecords(t, s.recs, 4, 6)

	// Now a ring whose released head is behind what the sink holds (the
	// drainer died after the sink took a batch, before the release).
	_, p3, c3 := newRing(t, abi.SPSC, 1<<12)
	send(t, p3, 0, 10)
	p3.Close()
	var all memSink
	Run(context.Background(), c3, &all, Options{Limit: 10})
	_, p4, c4 := newRing(t, abi.SPSC, 1<<12)
	send(t, p4, 0, 10)
	p4.Close()
	s4 := resumeSink{&memSink{heldTo: all.recs[6].Pos, held: true}}
	res, err = Run(context.Background(), c4, s4, Options{})
	if err != nil || res.Skipped != 7 || res.Records != 3 {
		t.Fatalf("Run over held records = %+v, %v", res, err)
	}
	checkRecords(t, s4.recs, 7, 3)
}

func TestLimitAndCancel(t *testing.T) {
	_, p, c := newRing(t, abi.MPSC, 1<<12)
	send(t, p, 0, 30)
	var s memSink
	res, err := Run(context.Background(), c, &s, Options{Limit: 12, MaxRecords: 5})
	if err != nil || res.End != EndLimit || len(s.recs) != 12 {
		t.Fatalf("Run = %+v, %v, %d records", res, err, len(s.recs))
	}
	// Follow: the producer is still attached; only ctx ends the drain.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	res, err = Run(ctx, c, &s, Options{Follow: true, Tick: 10 * time.Millisecond})
	if err != nil || res.End != EndCanceled || len(s.recs) != 30 {
		t.Fatalf("Run = %+v, %v, %d records", res, err, len(s.recs))
	}
}

// TestFollowAfterEnd: with Follow, a drain outlives the end of the stream
// and takes the records of a producer that attaches later.
func TestFollowAfterEnd(t *testing.T) {
	reg, p, c := newRing(t, abi.MPSC, 1<<12)
	send(t, p, 0, 3)
	p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var s memSink
	idle := make(chan Progress, 100)
	done := make(chan error)
	go func() {
		_, err := Run(ctx, c, &s, Options{Follow: true, Tick: 5 * time.Millisecond,
			Idle: func(pr Progress) error {
				select {
				case idle <- pr:
				default:
				}
				return nil
			}})
		done <- err
	}()
	for pr := range idle {
		if pr.Records == 3 {
			break
		}
	}
	p2, err := ring.NewMPSCProducer(reg)
	if err != nil {
		t.Fatal(err)
	}
	send(t, p2, 3, 2)
	for pr := range idle {
		if pr.Records == 5 {
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkRecords(t, s.recs, 0, 5)
}

// TestCloseStopsRun: Consumer.Close from another goroutine ends a Run that
// waits for records.
func TestCloseStopsRun(t *testing.T) {
	_, _, c := newRing(t, abi.SPSC, 1<<12)
	done := make(chan error)
	go func() {
		_, err := Run(context.Background(), c, &memSink{}, Options{Tick: time.Hour})
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	if err := <-done; !errors.Is(err, ring.ErrClosed) {
		t.Fatalf("Run after Close = %v", err)
	}
}

// TestRunAllocatesPerBatchNotPerRecord: the records of a drain cost no
// allocation each: ten times the records, the same allocations.
func TestRunAllocatesPerBatchNotPerRecord(t *testing.T) {
	allocs := func(n int) float64 {
		return testing.AllocsPerRun(3, func() {
			p, c, _ := ring.NewSPSC(1 << 20)
			msg := make([]byte, 40)
			for range n {
				p.TrySend(msg)
			}
			p.Close()
			Run(context.Background(), c, nopSink{}, Options{MaxRecords: n})
		})
	}
	small, large := allocs(100), allocs(1000)
	if large > small+2 {
		t.Fatalf("%v allocations for 100 records, %v for 1000", small, large)
	}
}

type nopSink struct{}

func (nopSink) Write(context.Context, *Batch) error { return nil }
func (nopSink) Flush() error                        { return nil }
