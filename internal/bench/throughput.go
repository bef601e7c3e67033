package bench

import (
	"context"
	"errors"

	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/asm"
	"github.com/logbuf/logbuf/ring"
)

// Throughput is one throughput table row.
type Throughput struct {
	Impl      string `json:"impl"`      // "ring-spsc", "ring-mpsc" or "chan"
	Producers int    `json:"producers"` // producer goroutines
	// Producer is what a producer does when the ring is full: "spin"
	// (retry after one PAUSE, asm.Pause) or "backoff" (2^k spins for k < 7, then yield);
	// "send" for a channel (the runtime parks the goroutine).
	Producer string `json:"producer"`
	// Consumer is how records are taken: "record" (TryRead + Release per
	// record, the Rust workload), "batch" (RecvBatch of up to 256, one
	// release per batch, lingering after a short batch) or "recv" (a
	// channel receive).
	Consumer string        `json:"consumer"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	Messages uint64        `json:"messages"`
	Bytes    uint64        `json:"payload_bytes"`
	GBps     float64       `json:"gb_per_s"`     // payload bytes / elapsed / 1e9
	MMsgps   float64       `json:"m_msgs_per_s"` // messages / elapsed / 1e6
}

func (t *Throughput) finish() {
	s := t.Elapsed.Seconds()
	if s > 0 {
		t.GBps = float64(t.Bytes) / s / 1e9
		t.MMsgps = float64(t.Messages) / s / 1e6
	}
}

// batchMax is the consumer's batch in the "batch" variant.
const batchMax = 256

// throughputRing runs producers goroutines into one ring for cfg.Duration.
func throughputRing(cfg *Config, mode abi.Mode, producers int, backoff, batch bool, pr *Progress) (Throughput, error) {
	res := Throughput{Impl: "ring-" + mode.String(), Producers: producers, Producer: "spin", Consumer: "record"}
	if backoff {
		res.Producer = "backoff"
	}
	if batch {
		res.Consumer = "batch"
	}
	reg, c, err := throughputRegion(cfg, mode)
	if err != nil {
		return res, err
	}
	defer c.Close()

	var stop atomic.Bool
	var wg sync.WaitGroup
	defer func() { stop.Store(true); wg.Wait() }()
	for id := range producers {
		var loop func()
		if mode == abi.SPSC {
			p, err := ring.NewSPSCProducer(reg)
			if err != nil {
				return res, err
			}
			loop = func() { defer p.Close(); spscLoop(p, Lens(Seed+uint64(id)), backoff, &stop) }
		} else {
			p, err := ring.NewMPSCProducer(reg)
			if err != nil {
				return res, err
			}
			loop = func() { defer p.Close(); mpscLoop(p, Lens(Seed+uint64(id)), backoff, &stop) }
		}
		wg.Add(1)
		go func() { defer wg.Done(); loop() }()
	}
	// The consumer is this goroutine; the clock starts with it. Producers
	// started a moment earlier only fill the (empty) ring meanwhile.
	res.Messages, res.Bytes, res.Elapsed, err = consumeFor(c, cfg.Duration, batch, pr)
	res.finish()
	return res, err
}

// throughputRegion is a heap region of cfg.ThroughputRing bytes and its
// consumer.
func throughputRegion(cfg *Config, mode abi.Mode) (*abi.Region, *ring.Consumer, error) {
	capacity, err := abi.RoundCapacity(uint64(cfg.ThroughputRing))
	if err != nil {
		return nil, nil, err
	}
	reg, err := abi.NewHeap(capacity, mode)
	if err != nil {
		return nil, nil, err
	}
	c, err := ring.NewConsumer(reg)
	return reg, c, err
}

// spscLoop writes random-length records until stop, copying the payload from
// a 1 KiB buffer and retrying when the ring is full.
func spscLoop(p *ring.SPSCProducer, lens Lens, backoff bool, stop *atomic.Bool) {
	src := make([]byte, MaxLen)
	for !stop.Load() {
		n := lens.Next()
		k := 0
		for {
			cl, err := p.TryClaim(n)
			if err == nil {
				copy(cl.Bytes(), src[:n])
				cl.Commit()
				break
			}
			if stop.Load() || !errors.Is(err, ring.ErrFull) {
				return
			}
			if backoff {
				wait(&k, stop)
			} else {
				asm.Pause()
			}
		}
	}
}

// mpscLoop is spscLoop for an MPSC producer. The loop is written out per
// producer type rather than behind an interface or a type parameter (which
// for pointer types is a dictionary call): either would put an indirect call
// on every record of the workload.
func mpscLoop(p *ring.MPSCProducer, lens Lens, backoff bool, stop *atomic.Bool) {
	src := make([]byte, MaxLen)
	for !stop.Load() {
		n := lens.Next()
		k := 0
		for {
			cl, err := p.TryClaim(n)
			if err == nil {
				copy(cl.Bytes(), src[:n])
				cl.Commit()
				break
			}
			if stop.Load() || !errors.Is(err, ring.ErrFull) {
				return
			}
			if backoff {
				wait(&k, stop)
			} else {
				asm.Pause()
			}
		}
	}
}

// wait is the Rust workload's backoff after a "full": 2^k spins for k < 7,
// then a yield. A spin is one asm.Pause, the spin-wait hint.
func wait(k *int, stop *atomic.Bool) {
	if *k < 7 {
		for range 1 << *k {
			asm.Pause()
		}
		*k++
		return
	}
	runtime.Gosched()
}

// consumeFor reads records until d has passed and returns how many records
// and payload bytes it took and the exact time it ran.
func consumeFor(c *ring.Consumer, d time.Duration, batch bool, pr *Progress) (msgs, bytes uint64, elapsed time.Duration, err error) {
	count := func(b []byte) { msgs++; bytes += uint64(len(b)) }
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for i := 0; ; i++ {
		if batch {
			if _, err := c.RecvBatch(ctx, batchMax, count); err != nil {
				if ctx.Err() != nil {
					return msgs, bytes, time.Since(start), nil
				}
				return msgs, bytes, time.Since(start), err
			}
		} else if r, err := c.TryRead(); err == nil {
			msgs++
			bytes += uint64(len(r.Bytes())) // the length, not the payload bytes
			c.Release()
		} else if errors.Is(err, ring.ErrEmpty) {
			asm.Pause() // as the Rust workload's consumer does
		} else {
			return msgs, bytes, time.Since(start), err
		}
		if i%progressEvery == 0 {
			el := time.Since(start)
			if el >= d {
				return msgs, bytes, el, nil
			}
			pr.set(el.Milliseconds())
		}
	}
}

// chanThroughputBuffer is the baseline channel's buffer: about 2 MiB of
// mean-sized (516 B) payloads, the ring's capacity.
const chanThroughputBuffer = 4096

// throughputChan is the throughput workload over a channel of []byte, a
// fresh slice per message.
func throughputChan(cfg *Config, producers int, pr *Progress) (Throughput, error) {
	res := Throughput{Impl: "chan", Producers: producers, Producer: "send", Consumer: "recv"}
	ch := make(chan []byte, chanThroughputBuffer)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for id := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := make([]byte, MaxLen)
			lens := Lens(Seed + uint64(id))
			for !stop.Load() {
				n := lens.Next()
				m := make([]byte, n)
				copy(m, src[:n])
				ch <- m
			}
		}()
	}
	start := time.Now()
	for i := 0; ; i++ {
		m := <-ch
		res.Messages++
		res.Bytes += uint64(len(m))
		if i%progressEvery == 0 {
			el := time.Since(start)
			if el >= cfg.Duration {
				res.Elapsed = el
				break
			}
			pr.set(el.Milliseconds())
		}
	}
	stop.Store(true)
	go func() { wg.Wait(); close(ch) }()
	for range ch { // unblock producers waiting to send
	}
	res.finish()
	return res, nil
}
