package ring

import (
	"testing"

	"github.com/logbuf/logbuf/abi"
)

func TestSPSCOneProducer(t *testing.T) {
	r, _ := abi.NewHeap(1024, abi.SPSC)
	p, err := NewProducer(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewProducer(r); err != ErrBusy {
		t.Fatalf("second SPSC producer: %v, want ErrBusy", err)
	}
	p.Close()
	if _, err := NewProducer(r); err != nil {
		t.Fatalf("producer after the first closed: %v", err)
	}
}

// TestTakeOverDeadEntries fills the table with entries of a process that
// does not exist: a new producer takes one over instead of going anonymous.
func TestTakeOverDeadEntries(t *testing.T) {
	r, _ := abi.NewHeap(1024, abi.MPSC)
	const deadPID = 1<<22 + 12345 // above the kernel's pid_max: never alive
	for i := range r.Header().Producers {
		s := r.Slot(i)
		s.PID.Store(deadPID)
		s.State.Store(abi.StateAttached)
	}
	p, err := NewMPSCProducer(r)
	if err != nil {
		t.Fatal(err)
	}
	if p.owner != 1 || p.slot.PID.Load() == deadPID || p.slot.State.Load() != abi.StateAttached {
		t.Fatalf("owner %d pid %d state %d: the dead entry was not taken over",
			p.owner, p.slot.PID.Load(), p.slot.State.Load())
	}
	// With every entry held by a live process, producers go anonymous.
	for i := range r.Header().Producers {
		r.Slot(i).PID.Store(p.slot.PID.Load())
		r.Slot(i).Start.Store(p.slot.Start.Load())
	}
	q, err := NewMPSCProducer(r)
	if err != nil || q.owner != 0 {
		t.Fatalf("full table of live entries: owner %d, %v", q.owner, err)
	}
	write(t, q, []byte("anonymous"))
}
