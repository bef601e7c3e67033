package ring

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

// waitParked waits until the consumer of h is parked on its futex word.
func waitParked(t testing.TB, c *Consumer) {
	t.Helper()
	for i := 0; c.hdr.ConsumerWait.Load() == 0; i++ {
		if i > 20_000 {
			t.Fatal("consumer never parked")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func TestRecvDeadline(t *testing.T) {
	_, c := newSPSC(t, 1024)
	t0 := time.Now()
	if _, err := c.RecvTimeout(30 * time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("RecvTimeout on an empty ring = %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := c.Recv(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Recv past its deadline = %v", err)
	}
	if _, err := c.RecvBatch(ctx, 8, func([]byte) {}); err != context.DeadlineExceeded {
		t.Fatalf("RecvBatch past its deadline = %v", err)
	}
	if d := time.Since(t0); d > 5*time.Second { // loose: only a lost deadline fails
		t.Fatalf("deadlines of 30 ms took %v", d)
	}
}

func TestRecvCancel(t *testing.T) {
	_, c := newMPSC(t, 1024)
	c.slice = time.Hour // only the cancellation's wake-up can end the park
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		waitParked(t, c)
		cancel()
	}()
	if _, err := c.Recv(ctx); err != context.Canceled {
		t.Fatalf("Recv after cancel = %v", err)
	}
	if c.timeouts != 0 {
		t.Fatalf("%d park timeouts", c.timeouts)
	}
	// A context already done returns at once, ready records first.
	if _, err := c.Recv(ctx); err != context.Canceled {
		t.Fatalf("Recv with a done context = %v", err)
	}
}

// TestRecvWokenByProducer parks the consumer with a park slice of an hour:
// only the producer's wake-up can end it.
func TestRecvWokenByProducer(t *testing.T) {
	for _, mode := range []string{"spsc", "mpsc"} {
		t.Run(mode, func(t *testing.T) {
			w, c := newRing(t, mode, 1024)
			c.slice = time.Hour
			go func() {
				waitParked(t, c)
				w.TrySend([]byte("wake"))
			}()
			r, err := c.Recv(context.Background())
			if err != nil || string(r.Bytes()) != "wake" {
				t.Fatalf("Recv = %q, %v", r.Bytes(), err)
			}
			if c.parks == 0 || c.timeouts != 0 {
				t.Fatalf("parks %d, timeouts %d", c.parks, c.timeouts)
			}
		})
	}
}

func TestRecvBatch(t *testing.T) {
	p, c := newMPSC(t, 4096)
	go func() {
		for i := 0; i < 100; i++ {
			p.Send(context.Background(), []byte{byte(i)})
			if i%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		p.Close()
	}()
	want := 0
	for {
		n, err := c.RecvBatch(context.Background(), 7, func(b []byte) {
			if b[0] != byte(want) {
				t.Fatalf("record %d is %d", want, b[0])
			}
			want++
		})
		if err == io.EOF {
			break
		}
		if err != nil || n < 1 || n > 7 {
			t.Fatalf("RecvBatch = %d, %v", n, err)
		}
	}
	if want != 100 {
		t.Fatalf("%d records before the end of the stream", want)
	}
}

// TestProducerClose: the consumer reads what was committed, then io.EOF,
// also when it was parked as the producer closed.
func TestProducerClose(t *testing.T) {
	p, c := newSPSC(t, 1024)
	c.slice = time.Hour
	for i := 0; i < 3; i++ {
		if err := p.Send(context.Background(), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		if r, err := c.Recv(context.Background()); err != nil || r.Bytes()[0] != byte(i) {
			t.Fatalf("Recv %d = %v, %v", i, r.Bytes(), err)
		}
	}
	go func() {
		waitParked(t, c)
		p.Close()
	}()
	if _, err := c.Recv(context.Background()); err != io.EOF {
		t.Fatalf("Recv after the producer closed = %v", err)
	}
	if _, err := c.RecvTimeout(time.Hour); err != io.EOF {
		t.Fatalf("Recv again = %v", err)
	}
}

// TestClosedWithClaimParks: a producer that closed with a claim still open
// may commit it later; the consumer waits for it parked, not spinning.
func TestClosedWithClaimParks(t *testing.T) {
	p, c := newMPSC(t, 1024)
	c.SetRecovery(-1, nil)
	cl, _ := p.TryClaim(8)
	p.Close()
	if _, err := c.RecvTimeout(300 * time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Recv = %v", err)
	}
	if c.parks == 0 || c.parks > 10 {
		t.Fatalf("%d parks in 300 ms with a 100 ms slice", c.parks)
	}
	cl.Commit()
	if _, err := c.Recv(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Recv(context.Background()); err != io.EOF {
		t.Fatalf("Recv at the end = %v", err)
	}
}

// TestNoProducerYet: a ring no producer ever attached to is not closed.
func TestNoProducerYet(t *testing.T) {
	p, c := newMPSC(t, 1024)
	c.hdr.Producers[p.owner-1].Lease.Store(0) // as if nobody had attached
	if _, err := c.RecvTimeout(20 * time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Recv on a ring without producers = %v", err)
	}
}

// TestConsumerCloseRing: a producer waiting for space keeps waiting when the
// consumer only detaches (Close), fails with ctx's error when it is done
// first, and stops with ErrRingClosed within 100 ms when the consumer
// closes the ring for good (spec section 8).
func TestConsumerCloseRing(t *testing.T) {
	for _, mode := range []string{"spsc", "mpsc"} {
		t.Run(mode, func(t *testing.T) {
			w, c := newRing(t, mode, 1024)
			msg := make([]byte, 100)
			for w.TrySend(msg) == nil {
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			if err := w.Send(ctx, msg); err != context.DeadlineExceeded {
				t.Fatalf("Send to a full ring past its deadline = %v", err)
			}
			done := make(chan error, 1)
			go func() { done <- w.Send(context.Background(), msg) }()
			c.Close() // detaches: not a reason for producers to stop
			select {
			case err := <-done:
				t.Fatalf("Send stopped when the consumer detached: %v", err)
			case <-time.After(50 * time.Millisecond):
			}
			c2, err := NewConsumer(c.reg)
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				time.Sleep(5 * time.Millisecond)
				c2.CloseRing()
			}()
			select {
			case err := <-done:
				if err != ErrRingClosed {
					t.Fatalf("Send after the consumer closed the ring = %v", err)
				}
			case <-time.After(time.Second): // the bound is 100 ms; a loaded machine gets slack
				t.Fatal("Send still waits after CloseRing")
			}
		})
	}
}

// TestWriteWaitsForSpace: a blocking writer fills a small ring many times
// over while the consumer reads slowly.
func TestWriteWaitsForSpace(t *testing.T) {
	p, c := newSPSC(t, 256)
	const n = 2000
	go func() {
		for i := 0; i < n; i++ {
			b := make([]byte, 1+i%32)
			b[0] = byte(i)
			if err := p.Send(context.Background(), b); err != nil {
				panic(err)
			}
		}
		p.Close()
	}()
	for i := 0; ; i++ {
		r, err := c.Recv(context.Background())
		if err == io.EOF {
			if i != n {
				t.Fatalf("%d records", i)
			}
			return
		}
		if err != nil || len(r.Bytes()) != 1+i%32 || r.Bytes()[0] != byte(i) {
			t.Fatalf("record %d: %v, %v", i, r.Bytes(), err)
		}
		if i%100 == 0 {
			time.Sleep(100 * time.Microsecond)
		}
	}
}

// TestBlockingZeroAllocs: Write, Claim and Recv allocate nothing when they
// need not wait.
func TestBlockingZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	ctx := context.Background()
	msg := make([]byte, 100)
	p, c := newMPSC(t, 1<<16)
	if n := testing.AllocsPerRun(1000, func() {
		if err := p.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		cl, err := p.Claim(ctx, len(msg))
		if err != nil {
			t.Fatal(err)
		}
		cl.Commit()
		for range 2 {
			if _, err := c.Recv(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}); n != 0 {
		t.Errorf("%v allocations per Write+Claim+2 Recv", n)
	}
	// Each batch is short of its max, but the producer (this goroutine) does
	// not write while it reads: no linger.
	sink := 0
	fn := func(b []byte) { sink += len(b) }
	if n := testing.AllocsPerRun(1000, func() {
		if err := p.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if n, err := c.RecvBatch(ctx, 8, fn); n != 1 || err != nil {
			t.Fatalf("RecvBatch = %d, %v", n, err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per Write+RecvBatch", n)
	}
	if c.linger {
		t.Error("RecvBatch lingers after a batch the producer was idle for")
	}
}
