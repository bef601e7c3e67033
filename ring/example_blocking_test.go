package ring_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/logbuf/logbuf/ring"
)

// A consumer goroutine receives until every producer has closed; producers
// wait for space when the ring is full. "defer cl.Abort()" makes sure a
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
			return err // ErrClosed: the consumer is gone; or ctx.Err()
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
		if errors.Is(err, ring.ErrClosed) {
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
