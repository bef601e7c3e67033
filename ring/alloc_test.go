package ring

import "testing"

// TestZeroAllocs checks the hot paths allocate nothing per record.
func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	msg := make([]byte, 100)
	sink := 0
	fn := func(b []byte) { sink += len(b) }

	p, c := newSPSC(t, 1<<16)
	check := func(name string, f func()) {
		t.Helper()
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s: %v allocations per record", name, n)
		}
	}
	check("SPSC claim+commit, read+release", func() {
		cl, err := p.TryClaim(len(msg))
		if err != nil {
			t.Fatal(err)
		}
		copy(cl.Bytes(), msg)
		cl.Commit()
		r, err := c.TryRead()
		if err != nil {
			t.Fatal(err)
		}
		sink += len(r.Bytes())
		c.Release()
	})
	check("SPSC TryWrite+ReadBatch", func() {
		if err := p.TrySend(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ReadBatch(8, fn); err != nil {
			t.Fatal(err)
		}
	})
	check("SPSC abort", func() {
		cl, _ := p.TryClaim(len(msg))
		cl.Abort()
		c.TryRead()
	})
	mp, mc := newMPSC(t, 1<<16)
	check("MPSC claim+commit, batch read", func() {
		cl, err := mp.TryClaim(len(msg))
		if err != nil {
			t.Fatal(err)
		}
		copy(cl.Bytes(), msg)
		cl.Commit()
		if _, err := mc.ReadBatch(8, fn); err != nil {
			t.Fatal(err)
		}
	})
	check("full and empty", func() {
		mc.TryRead()
		c.TryRead()
	})
	_ = sink
}
