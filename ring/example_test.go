package ring_test

import (
	"errors"
	"fmt"
	"sync"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/ring"
)

// A producer claims space, writes in place and commits; the consumer reads
// records in order and releases them.
func Example() {
	p, c, err := ring.NewSPSC(4096)
	if err != nil {
		panic(err)
	}
	claim, err := p.TryClaim(5)
	if err != nil {
		panic(err)
	}
	copy(claim.Bytes(), "hello")
	claim.Commit()

	rec, err := c.TryRead()
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s\n", rec.Bytes())
	c.Release() // zeroes the record and gives its space back
	// Output: hello
}

// TrySend is claim, copy and commit in one call.
func ExampleSPSCProducer_TrySend() {
	p, c, _ := ring.NewSPSC(1024)
	for _, s := range []string{"one", "two", "three"} {
		if err := p.TrySend([]byte(s)); err != nil {
			fmt.Println(err)
		}
	}
	c.ReadBatch(10, func(b []byte) { fmt.Println(string(b)) })
	// Output:
	// one
	// two
	// three
}

// Deferring Abort right after a successful claim gives the space back on
// every early return; after Commit it does nothing.
func ExampleClaim_Abort() {
	p, c, _ := ring.NewSPSC(1024)
	send := func(msg string, fail bool) error {
		claim, err := p.TryClaim(len(msg))
		if err != nil {
			return err
		}
		defer claim.Abort()
		if fail {
			return errors.New("encoding failed")
		}
		copy(claim.Bytes(), msg)
		return claim.Commit()
	}
	fmt.Println(send("kept", false), send("dropped", true))
	c.ReadBatch(10, func(b []byte) { fmt.Println(string(b)) })
	fmt.Println("aborts:", c.Stats().Aborts)
	// Output:
	// <nil> encoding failed
	// kept
	// aborts: 1
}

// Errors are sentinels to test with errors.Is.
func ExampleSPSCProducer_TryClaim_errors() {
	p, _, _ := ring.NewSPSC(64) // the maximum payload is capacity/8: 8 bytes
	_, err := p.TryClaim(0)
	fmt.Println(errors.Is(err, ring.ErrZeroLength))
	_, err = p.TryClaim(9)
	fmt.Println(errors.Is(err, ring.ErrTooLarge))
	for err == nil || errors.Is(err, ring.ErrTooLarge) {
		err = p.TrySend([]byte("12345678"))
	}
	fmt.Println(errors.Is(err, ring.ErrFull))
	// Output:
	// true
	// true
	// true
}

// One MPSCProducer is shared by many goroutines; one goroutine consumes.
func ExampleNewMPSC() {
	p, c, _ := ring.NewMPSC(1 << 16)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				for p.TrySend([]byte{byte(g)}) == ring.ErrFull {
				}
			}
		}()
	}
	wg.Wait()
	n, _ := c.ReadBatch(1000, func([]byte) {})
	fmt.Println(n, "records")
	// Output: 400 records
}

// A Claim is ended by the ring, not by the copy in hand: a copy committed by
// a helper and the original's deferred Abort end the record once, and the
// record arrives.
func ExampleClaim_copies() {
	p, c, _ := ring.NewSPSC(1024)
	commit := func(cl ring.Claim) error { return cl.Commit() }
	func() {
		cl, err := p.TryClaim(4)
		if err != nil {
			panic(err)
		}
		defer cl.Abort() // after the copy's Commit: does nothing
		copy(cl.Bytes(), "sent")
		fmt.Println(commit(cl))
		fmt.Println(cl.Commit()) // the second end of the same claim
	}()
	c.ReadBatch(10, func(b []byte) { fmt.Println(string(b)) })
	fmt.Println("aborts:", c.Stats().Aborts)
	// Output:
	// <nil>
	// logbuf: claim already ended
	// sent
	// aborts: 0
}

// OpenProducer picks the producer a region's mode calls for; code that
// serves both modes takes the Producer interface.
func ExampleOpenProducer() {
	for _, mode := range []abi.Mode{abi.SPSC, abi.MPSC} {
		r, _ := abi.NewHeap(1024, mode)
		p, err := ring.OpenProducer(r)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%v: %T\n", mode, p)
	}
	// Output:
	// spsc: *ring.SPSCProducer
	// mpsc: *ring.MPSCProducer
}
