// Package bench runs the workloads of the Rust original's benchmarks
// (../shared/SEED-FACTS.md, "Its benchmark workloads, exactly") over logbuf
// rings and, in the same run, over Go channels of []byte, so that the
// figures of `logbuf bench` can be laid next to the Rust crate's and next to
// what a Go program would write without logbuf.
//
// The workloads:
//
//   - Latency (latency.go): one goroutine, 64 KiB ring, 10,000 warm-up
//     iterations then 100,000 samples at payloads of 8, 64, 256 and 1024 B,
//     each sample one clock pair around one operation, recorded in an HDR
//     histogram at 3 significant digits. Produce = claim + copy + commit
//     (the record is consumed outside the timing); consume = read + release
//     (the record was produced outside the timing); round trip = two rings
//     and an echo goroutine, elapsed / 2. The clock pair's own cost is
//     measured the same way and is included in every figure.
//   - Throughput (throughput.go): producer goroutines -> consumer goroutine
//     on a 2 MiB ring, payload lengths uniform in 8..1024 from xorshift64*
//     (one generator per producer), copied from a 1 KiB buffer; a producer
//     retries after one PAUSE when the ring is full ("spin") or backs off
//     ("backoff": 2^k PAUSEs for k < 7, then yield); the consumer reads and
//     releases each record (one PAUSE when it finds none) or takes batches
//     with RecvBatch, and never touches the payload bytes. GB/s = payload
//     bytes / elapsed / 1e9.
//   - Message rate (rate.go): 1,000,000 fixed-size messages split over N
//     producers, the calling goroutine consuming; the time runs from
//     spawning the producers to joining them.
//
// The channel baselines do the same work the Go way: a freshly allocated
// []byte per message, sent on a buffered channel.
package bench
