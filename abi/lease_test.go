package abi

import "testing"

func TestLeaseRoundTrip(t *testing.T) {
	for _, c := range []struct {
		s     State
		pid   uint32
		start uint64
	}{
		{StateAttached, 1, 1},
		{StateDetached, MaxLeasePID, LeaseStartMask},
		{StateClosed, 4194303, 123456789},
		{StateAttached, 77, 1<<40 + 5}, // start kept modulo 2^36
	} {
		l := MakeLease(c.s, c.pid, c.start)
		if l.State() != c.s || l.PID() != c.pid || l.Start() != c.start&LeaseStartMask {
			t.Errorf("MakeLease(%v, %d, %d) = %#x decodes to %v %d %d", c.s, c.pid, c.start, uint64(l), l.State(), l.PID(), l.Start())
		}
		if d := l.With(StateDetached); d.State() != StateDetached || d.PID() != c.pid || d.Start() != l.Start() {
			t.Errorf("With(DETACHED) of %v = %v", l, d)
		}
	}
	if MakeLease(StateFree, 0, 0) != 0 {
		t.Error("a FREE lease with no holder is not the zero word")
	}
}

func TestRingIDFreshAndParsed(t *testing.T) {
	a, err := NewHeap(MinCapacity, SPSC)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewHeap(MinCapacity, SPSC)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID() == (RingID{}) || a.ID() == b.ID() {
		t.Fatalf("ring ids %v and %v: want two random, different ids", a.ID(), b.ID())
	}
	id, err := ParseRingID(a.ID().String())
	if err != nil || id != a.ID() {
		t.Fatalf("ParseRingID(%s) = %v, %v", a.ID(), id, err)
	}
	if _, err := ParseRingID("abc"); err == nil {
		t.Error("ParseRingID accepted 3 digits")
	}
	// Open copies the id: rewriting the header later does not change it.
	r, err := Open(a.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := r.ID()
	a.Header().RingID[0] ^= 0xFF
	if r.ID() != want {
		t.Error("Region.ID follows the shared header after Open")
	}
}
