package ring_test

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/logbuf/logbuf/ring"
)

// A consumer goroutine receives until every producer has closed (io.EOF);
// producers wait for space when the ring is full. "defer cl.Abort()" makes sure a
// claim ends even when the code between Claim and Commit returns early or
// panics: Abort after Commit does nothing.
func ExampleConsumer_Recv() {
	p, c, err := ring.NewMPSC(4096)
	if err != nil {
		panic(err)
	}
	// Recover a claim left open for more than a second (spec section 9),
	// and say so.
	c.SetRecovery(time.Second, func(s ring.Stuck) { fmt.Println(s) })

	send := func(ctx context.Context, msg string) error {
		cl, err := p.Claim(ctx, len(msg))
		if err != nil {
			return err // ctx.Err() (with ErrNoConsumer if none is attached), or ErrRingClosed
		}
		defer cl.Abort()
		copy(cl.Bytes(), msg)
		return cl.Commit() // ErrDiscarded if it came too late
	}
	go func() {
		ctx := context.Background()
		for _, m := range []string{"one", "two", "three"} {
			if err := send(ctx, m); err != nil {
				panic(err)
			}
		}
		p.Close()
	}()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		r, err := c.Recv(ctx)
		if err == io.EOF {
			fmt.Println("end")
			return
		}
		if err != nil {
			panic(err)
		}
		fmt.Println(string(r.Bytes()))
	}
	// Output:
	// one
	// two
	// three
	// end
}

// Close interrupts a Recv blocked in another goroutine: the Recv returns
// ErrClosed, and Close returns once it has.
func ExampleConsumer_Close() {
	_, c, _ := ring.NewSPSC(1024)
	done := make(chan error)
	go func() {
		_, err := c.Recv(context.Background()) // nothing will come
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	c.Close()
	fmt.Println(<-done)
	// Output: logbuf: closed
}
