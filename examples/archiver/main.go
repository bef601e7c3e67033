// Command archiver is the smallest complete use of logbuf: a producer
// goroutine (the "hot path" of a service) hands log lines to a consumer
// goroutine (the archiver) through an SPSC ring, and the archiver counts what
// it received.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/logbuf/logbuf/ring"
)

func main() {
	const records = 1_000_000
	p, c, err := ring.NewSPSC(1 << 20)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	start := time.Now()
	go func() {
		line := make([]byte, 0, 128)
		for i := 0; i < records; i++ {
			line = strconv.AppendInt(append(line[:0], "request served id="...), int64(i), 10)
			for p.TrySend(line) == ring.ErrFull {
				// The archiver is behind. A service that must never wait
				// would drop the line here; the ring counts FullEvents.
			}
		}
	}()
	var got, bytes int
	for got < records {
		// RecvBatch waits when the ring is empty, and after a short batch
		// lingers a few microseconds so the next one is worth taking.
		n, err := c.RecvBatch(context.Background(), 256, func(b []byte) { bytes += len(b) })
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		got += n
	}
	el := time.Since(start)
	s := c.Stats()
	fmt.Printf("archived %d records, %d payload bytes in %v (%.1f M records/s)\n",
		got, bytes, el.Round(time.Millisecond), float64(got)/el.Seconds()/1e6)
	fmt.Printf("ring: capacity %d B, %d full events, head %d = tail %d\n", s.Capacity, s.FullEvents, s.Head, s.Tail)
}
