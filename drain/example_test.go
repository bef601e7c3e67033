package drain_test

import (
	"context"
	"fmt"

	"github.com/logbuf/logbuf/drain"
	"github.com/logbuf/logbuf/ring"
)

// printSink prints each record it is given.
type printSink struct{}

func (printSink) Write(_ context.Context, b *drain.Batch) error {
	for _, r := range b.Records {
		fmt.Printf("seq %d: %s\n", r.Seq, r.Data)
	}
	return nil
}

func (printSink) Flush() error { return nil }

// Run drains a ring into a sink until every producer has gone: each batch
// leaves the ring only once the sink took it.
func ExampleRun() {
	p, c, err := ring.NewMPSC(4096)
	if err != nil {
		panic(err)
	}
	for _, m := range []string{"one", "two", "three"} {
		p.TrySend([]byte(m))
	}
	p.Close()
	res, err := drain.Run(context.Background(), c, printSink{}, drain.Options{})
	fmt.Println(res.Records, "records,", res.End, err)
	// Output:
	// seq 0: one
	// seq 1: two
	// seq 2: three
	// 3 records, end of stream <nil>
}
