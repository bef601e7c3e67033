package ring

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/logbuf/logbuf/abi"
)

// stuckLog collects what the consumer reports.
type stuckLog []Stuck

func (l *stuckLog) add(s Stuck) { *l = append(*l, s) }

// TestLeakedClaimSPSC: a claim a goroutine of this process never ends is
// reported once and never recovered: the SPSC producer is alive, and its
// commit is a plain store that could not notice.
func TestLeakedClaimSPSC(t *testing.T) {
	p, c := newSPSC(t, 1024)
	var log stuckLog
	c.SetRecovery(20*time.Millisecond, log.add)
	cl, err := p.TryClaim(10)
	if err != nil {
		t.Fatal(err)
	}
	copy(cl.Bytes(), "leaked....")
	write(t, p, []byte("behind"))
	if _, err := c.RecvTimeout(150 * time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Recv past a leaked claim = %v", err)
	}
	if len(log) != 1 || log[0].Recovered || !log[0].Alive || log[0].Owner != p.owner ||
		log[0].Pos != 0 || log[0].Size != abi.RecordSize(10) {
		t.Fatalf("reports %+v", log)
	}
	t.Log(log[0])
	if err := cl.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"leaked....", "behind"} {
		if r, err := c.Recv(context.Background()); err != nil || string(r.Bytes()) != want {
			t.Fatalf("Recv = %q, %v; want %q", r.Bytes(), err, want)
		}
	}
	if s := c.Stats(); s.Unblocks != 0 {
		t.Fatalf("%d unblocks", s.Unblocks)
	}
}

// TestSlowProducerMPSC: a live MPSC producer that commits after the timeout
// loses its record (ErrDiscarded), and nothing else is lost or torn.
func TestSlowProducerMPSC(t *testing.T) {
	p, c := newMPSC(t, 1024)
	var log stuckLog
	c.SetRecovery(20*time.Millisecond, log.add)
	slow, err := p.TryClaim(30)
	if err != nil {
		t.Fatal(err)
	}
	copy(slow.Bytes(), fill(30, 1))
	write(t, p, []byte("next"))
	r, err := c.Recv(context.Background())
	if err != nil || string(r.Bytes()) != "next" {
		t.Fatalf("Recv = %q, %v", r.Bytes(), err)
	}
	if len(log) != 1 || !log[0].Recovered || !log[0].Alive || log[0].Owner != p.owner ||
		log[0].Size != abi.RecordSize(30) || log[0].For < 20*time.Millisecond {
		t.Fatalf("reports %+v", log)
	}
	if err := slow.Commit(); err != ErrDiscarded {
		t.Fatalf("late Commit = %v", err)
	}
	slow.Abort() // does nothing now
	// Several laps more: every record intact.
	for i := 0; i < 200; i++ {
		b := fill(1+i%100, byte(i))
		if err := p.Send(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if r, err := c.Recv(context.Background()); err != nil || string(r.Bytes()) != string(b) {
			t.Fatalf("record %d: %v, %v", i, r.Bytes(), err)
		}
	}
	if s := c.Stats(); s.Unblocks != 1 || s.Aborts != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestReservedNotStamped: a producer that dies between its reservation and
// its stamp leaves a region of zeros; the consumer finds its extent by the
// next non-zero word, but never takes a reservation made after its watch
// began.
func TestReservedNotStamped(t *testing.T) {
	p, c := newMPSC(t, 1024)
	var log stuckLog
	c.SetRecovery(30*time.Millisecond, log.add)
	c.hdr.Tail.Add(24) // reserved by a producer that died at once
	done := make(chan struct{})
	go func() {
		defer close(done)
		waitParked(t, c) // the watch on the first region has begun
		c.hdr.Tail.Add(16)
		time.Sleep(time.Millisecond)
		write(t, p, []byte("after"))
	}()
	r, err := c.Recv(context.Background())
	<-done
	if err != nil || string(r.Bytes()) != "after" {
		t.Fatalf("Recv = %q, %v", r.Bytes(), err)
	}
	if len(log) != 2 || log[0].Pos != 0 || log[0].Size != 24 || log[0].Word != 0 ||
		log[1].Pos != 24 || log[1].Size != 16 || !log[0].Recovered || !log[1].Recovered {
		t.Fatalf("reports %+v", log)
	}
	// The same at the end of the ring: the region runs to the tail seen.
	c.hdr.Tail.Add(32)
	if _, err := c.RecvTimeout(200 * time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Recv = %v", err)
	}
	if len(log) != 3 || log[2].Size != 32 || c.Stats().Unblocks != 3 || c.head != c.hdr.Tail.Load() {
		t.Fatalf("reports %+v, stats %+v", log, c.Stats())
	}
}

// TestRecoveryOff: a negative timeout waits forever and reports nothing.
func TestRecoveryOff(t *testing.T) {
	p, c := newMPSC(t, 1024)
	var log stuckLog
	c.SetRecovery(-1, log.add)
	p.TryClaim(8)
	write(t, p, []byte("x"))
	if _, err := c.RecvTimeout(50 * time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) || len(log) != 0 {
		t.Fatalf("Recv = %v, reports %+v", err, log)
	}
}

// TestClosedSPSCUnstamped: an SPSC reservation left unstamped when no
// producer is attached any more is recovered, and the ring then ends.
func TestClosedSPSCUnstamped(t *testing.T) {
	p, c := newSPSC(t, 1024)
	var log stuckLog
	c.SetRecovery(20*time.Millisecond, log.add)
	write(t, p, []byte("a"))
	p.Close()
	c.hdr.Tail.Add(40)
	if r, err := c.Recv(context.Background()); err != nil || string(r.Bytes()) != "a" {
		t.Fatalf("Recv = %q, %v", r.Bytes(), err)
	}
	if _, err := c.Recv(context.Background()); err != io.EOF {
		t.Fatalf("Recv at the end = %v", err)
	}
	if len(log) != 1 || !log[0].Recovered || log[0].Alive || log[0].Size != 40 {
		t.Fatalf("reports %+v", log)
	}
}

// TestStuckBadTail: a tail that breaks the rules while the consumer waits
// at an uncommitted word is reported as corrupt, not used to size a region.
func TestStuckBadTail(t *testing.T) {
	_, c := newMPSC(t, 1024)
	c.hdr.Tail.Store(13)
	if _, err := c.RecvTimeout(time.Second); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Recv with tail 13 = %v", err)
	}
}
