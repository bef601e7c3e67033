package ring

import (
	"context"
	"encoding/binary"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/logbuf/logbuf/abi"
)

// The no-lost-wake-up guarantee of spec section 7.3, in every way a commit
// can be ordered against a parking consumer: release commits (the default
// where membarrier registered) and sequentially consistent ones (the
// fallback, forced), SPSC and MPSC, with the producer in this process or in
// another (wakeup_linux_test.go). Under -race, storeRelease is sync/atomic's
// store, so the race detector checks the same protocol.

// pingPongRecords is how many round trips each ping-pong runs in process.
func pingPongRecords() int {
	switch {
	case stressFull():
		return 2_500_000
	case raceEnabled, testing.Short():
		return 50_000
	}
	return 250_000
}

// pingPongProduce commits n records of 8 bytes holding their sequence
// number, each only once the consumer has released the one before (head
// has passed it), so that the consumer parks again before every commit:
// the race of section 7.3 is run once per record. head is read from the
// ring itself, so this works across processes.
func pingPongProduce(w claimer, h *abi.Header, n int) error {
	for i := 0; i < n; i++ {
		cl, err := w.TryClaim(8)
		if err != nil {
			return err
		}
		binary.LittleEndian.PutUint64(cl.Bytes(), uint64(i))
		end := cl.pos + abi.RecordSize(8)
		if err := cl.Commit(); err != nil {
			return err
		}
		for j := 0; h.Head.Load() < end; j++ {
			if j > 100 {
				runtime.Gosched()
			}
		}
	}
	return nil
}

// pingPongConsume receives n records, checks their order and releases each
// at once. It never spins (spins = -1): it parks as soon as the ring is
// empty, and its park slice is 2 s, longer than the producer ever waits, so
// a park that runs out its time is a lost wake-up.
func pingPongConsume(t *testing.T, c *Consumer, n int) {
	t.Helper()
	c.spins, c.yields, c.slice = -1, 0, 2*time.Second
	for i := 0; i < n; i++ {
		r, err := c.Recv(context.Background())
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if got := binary.LittleEndian.Uint64(r.Bytes()); got != uint64(i) {
			t.Fatalf("record %d is %d", i, got)
		}
		c.Release()
	}
	t.Logf("%d records, %d parks, %d timeouts ", n, c.parks, c.timeouts)
	if c.timeouts != 0 {
		t.Fatalf("%d parks ran out their time: wake-ups were lost", c.timeouts)
	}
	if c.parks == 0 {
		t.Fatal("the consumer never parked: the race was not run")
	}
}

// pingPongRing is a ring of 64 bytes: max payload 8, so a 16-byte record
// fills a quarter and Recv does not hold records back.
const pingPongRing = 64

// pingPongCases are the ways a commit can meet a parking consumer: each
// mode, with release commits and with the sequentially consistent fallback
// forced.
var pingPongCases = []struct {
	name   string
	mode   abi.Mode
	seqCst bool
}{
	{"spsc", abi.SPSC, false},
	{"mpsc", abi.MPSC, false},
	{"spsc-seqcst", abi.SPSC, true},
	{"mpsc-seqcst", abi.MPSC, true},
}

// TestNoLostWakeups races the consumer's park against the producer's commit
// many times in one process, with release commits (where membarrier is
// registered) and with the sequentially consistent fallback forced.
func TestNoLostWakeups(t *testing.T) {
	n := pingPongRecords()
	for _, tc := range pingPongCases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.seqCst {
				defer forceSeqCstCommits()()
			} else if !releaseCommits {
				t.Skip("membarrier is not registered here: commits are sequentially consistent (the -seqcst tests cover them)")
			}
			var w claimer
			var c *Consumer
			if tc.mode == abi.SPSC {
				w, c = newSPSC(t, pingPongRing)
			} else {
				w, c = newMPSC(t, pingPongRing)
			}
			done := make(chan error, 1)
			go func() { done <- pingPongProduce(w, c.hdr, n) }()
			pingPongConsume(t, c, n)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReleaseCommitsSelected fails when LOGBUF_REQUIRE_MEMBARRIER=1 and this
// process's producers commit with sequentially consistent stores: CI sets it
// where the kernel has membarrier, so that a registration that silently
// failed cannot leave the release path untested.
func TestReleaseCommitsSelected(t *testing.T) {
	if os.Getenv("LOGBUF_REQUIRE_MEMBARRIER") != "1" {
		t.Skip("LOGBUF_REQUIRE_MEMBARRIER=1 asks for this check")
	}
	if !releaseCommits || !barrier() {
		t.Fatalf("membarrier: registered %v, barrier works %v; want both", releaseCommits, barrier())
	}
}
