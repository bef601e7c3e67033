package ring

import (
	"errors"
	"testing"

	"github.com/logbuf/logbuf/abi"
)

func TestSPSCOneProducer(t *testing.T) {
	r, _ := abi.NewHeap(1024, abi.SPSC)
	p, err := NewSPSCProducer(r)
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewSPSCProducer(r)
	var busy *BusyError
	if !errors.Is(err, ErrProducerBusy) || !errors.As(err, &busy) || busy.Lease.PID() != selfLease().PID() {
		t.Fatalf("second SPSC producer: %v, want ErrProducerBusy naming this process", err)
	}
	p.Close()
	if _, err := NewSPSCProducer(r); err != nil {
		t.Fatalf("producer after the first closed: %v", err)
	}
}

// deadLease is the lease of a process that cannot exist: its pid is above
// the kernel's limit of 2^22.
var deadLease = abi.MakeLease(abi.StateAttached, 1<<22+12345, 77)

// TestTakeOverDeadEntries fills the table with entries of a process that
// does not exist: a new producer takes one over instead of going anonymous.
func TestTakeOverDeadEntries(t *testing.T) {
	r, _ := abi.NewHeap(1024, abi.MPSC)
	h := r.Header()
	for i := range h.Producers {
		h.Producers[i].Lease.Store(uint64(deadLease))
	}
	p, err := NewMPSCProducer(r)
	if err != nil {
		t.Fatal(err)
	}
	if p.owner != 1 || abi.Lease(p.party.Lease.Load()) != selfLease() {
		t.Fatalf("owner %d lease %v: the dead entry was not taken over", p.owner, abi.Lease(p.party.Lease.Load()))
	}
	// With every entry held by a live process, producers go anonymous.
	for i := range h.Producers {
		h.Producers[i].Lease.Store(uint64(selfLease()))
	}
	q, err := NewMPSCProducer(r)
	if err != nil || q.owner != 0 {
		t.Fatalf("full table of live entries: owner %d, %v", q.owner, err)
	}
	write(t, q, []byte("anonymous"))
}

// TestConsumerExclusive: a second consumer is refused while the first is
// attached, named by its pid; a detached or dead one is replaced.
func TestConsumerExclusive(t *testing.T) {
	r, _ := abi.NewHeap(1024, abi.SPSC)
	c, err := NewConsumer(r)
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewConsumer(r)
	var busy *BusyError
	if !errors.Is(err, ErrConsumerBusy) || !errors.As(err, &busy) || busy.Lease.PID() != selfLease().PID() {
		t.Fatalf("second consumer: %v, want ErrConsumerBusy naming this process", err)
	}
	c.Close()
	if st := abi.Lease(r.Header().Consumer.Lease.Load()).State(); st != abi.StateDetached {
		t.Fatalf("after Close the consumer record is %v, want DETACHED", st)
	}
	c2, err := NewConsumer(r)
	if err != nil {
		t.Fatalf("consumer after the first closed: %v", err)
	}
	c2.Close()
	r.Header().Consumer.Lease.Store(uint64(deadLease))
	if _, err := NewConsumer(r); err != nil {
		t.Fatalf("consumer after a dead one: %v", err)
	}
}

// TestLeaseTakeOverRace: many goroutines race to take one dead record; the
// compare-and-swap from the judged lease lets exactly one win.
func TestLeaseTakeOverRace(t *testing.T) {
	for range 200 {
		var p abi.Party
		p.Lease.Store(uint64(deadLease))
		const n = 8
		wins := make(chan bool, n)
		for range n {
			go func() {
				_, _, ok, _ := takeParty(&p, abi.OffConsumer, false)
				wins <- ok
			}()
		}
		won := 0
		for range n {
			if <-wins {
				won++
			}
		}
		if won != 1 {
			t.Fatalf("%d parties took one record", won)
		}
	}
}
