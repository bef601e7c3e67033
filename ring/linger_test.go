package ring

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
)

// TestLingerOnlyWhileWriting: RecvBatch's linger polls once and returns
// when no producer is writing, so a record that nothing follows is not
// delayed; and it keeps polling while one is.
func TestLingerOnlyWhileWriting(t *testing.T) {
	p, c := newSPSC(t, 1<<20)
	if polls := c.lingerWhileWriting(); polls != 1 {
		t.Errorf("idle producer: the linger polled %d times, want 1", polls)
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		msg := make([]byte, 8)
		for !stop.Load() {
			p.TrySend(msg) // ErrFull: the consumer drains, try again
		}
	}()
	// Wait for the writer to be under way, then linger while it writes,
	// draining between lingers.
	for c.hdr.Tail.Load() == 0 {
	}
	// On a busy machine the writer is not always running: try until the
	// two meet.
	most, tries := 0, 0
	for ; most < 2 && tries < 1_000_000; tries++ {
		c.ReadBatch(1<<30, func([]byte) {})
		most = max(most, c.lingerWhileWriting())
	}
	stop.Store(true)
	wg.Wait()
	if most < 2 {
		t.Errorf("busy producer: the linger never polled twice in %d tries", tries)
	}

	// After a batch short of max, RecvBatch lingers only if the tail moved
	// during it; this goroutine is the producer, so it did not.
	c.ReadBatch(1<<30, func([]byte) {})
	write(t, p, []byte("one"))
	if n, err := c.RecvBatch(context.Background(), 8, func([]byte) {}); n != 1 || err != nil {
		t.Fatalf("RecvBatch = %d, %v", n, err)
	}
	if c.linger {
		t.Error("RecvBatch set the linger after a batch the producer was idle for")
	}
}
