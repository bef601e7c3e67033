package bench

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logbuf/logbuf/ring"
)

// Latency is one latency table row.
type Latency struct {
	Op   string `json:"op"`   // "produce", "consume" or "roundtrip"
	Impl string `json:"impl"` // "ring-spsc", "ring-mpsc" or "chan"
	Size int    `json:"size"` // payload bytes
	Percentiles
}

// The loops below are written out per implementation, not behind an
// interface: a method call through an interface or a func value costs a
// few cycles, which would land in every sample.

// progressEvery is how many iterations pass between progress updates.
const progressEvery = 1024

// budget ends a latency row early, with the samples taken so far, when it
// runs past cfg.RowBudget: on a machine busy with other work a goroutine
// that spins for its peer can wait milliseconds per sample, and 100,000 of
// them would take minutes. Each row reports its sample count.
type budget struct {
	cfg   *Config
	pr    *Progress
	start time.Time
}

func newBudget(cfg *Config, pr *Progress) budget { return budget{cfg, pr, time.Now()} }

// over reports progress at iteration i and whether to stop there.
func (b budget) over(i int) bool {
	b.pr.set(int64(i))
	return b.cfg.RowBudget > 0 && i > b.cfg.Warmup && time.Since(b.start) > b.cfg.RowBudget
}

// clockPair measures the clock pair alone: what every sample includes.
func clockPair(cfg *Config, pr *Progress) Percentiles {
	h := newHist()
	budget := newBudget(cfg, pr)
	for i := range cfg.Warmup + cfg.Samples {
		t0 := now()
		t1 := now()
		if i >= cfg.Warmup {
			record(h, t1-t0)
		}
		if i%progressEvery == 0 && budget.over(i) {
			break
		}
	}
	return summarize(h)
}

// produceSPSC times claim + copy + commit; the record is consumed after the
// second clock read.
func produceSPSC(cfg *Config, size int, pr *Progress) (Percentiles, error) {
	p, c, err := ring.NewSPSC(cfg.LatencyRing)
	if err != nil {
		return Percentiles{}, err
	}
	src := make([]byte, size)
	h := newHist()
	budget := newBudget(cfg, pr)
	for i := range cfg.Warmup + cfg.Samples {
		t0 := now()
		cl, err := p.TryClaim(size)
		if err != nil {
			return Percentiles{}, fmt.Errorf("claim %d B: %w", size, err)
		}
		copy(cl.Bytes(), src)
		cl.Commit()
		t1 := now()
		if err := consumeOne(c); err != nil {
			return Percentiles{}, err
		}
		if i >= cfg.Warmup {
			record(h, t1-t0)
		}
		if i%progressEvery == 0 && budget.over(i) {
			break
		}
	}
	return summarize(h), nil
}

// produceMPSC is produceSPSC on an MPSC ring with one producer. The loop is
// written out again, not shared through an interface or a type parameter:
// either would put an indirect call between the two clock reads.
func produceMPSC(cfg *Config, size int, pr *Progress) (Percentiles, error) {
	p, c, err := ring.NewMPSC(cfg.LatencyRing)
	if err != nil {
		return Percentiles{}, err
	}
	src := make([]byte, size)
	h := newHist()
	budget := newBudget(cfg, pr)
	for i := range cfg.Warmup + cfg.Samples {
		t0 := now()
		cl, err := p.TryClaim(size)
		if err != nil {
			return Percentiles{}, fmt.Errorf("claim %d B: %w", size, err)
		}
		copy(cl.Bytes(), src)
		cl.Commit()
		t1 := now()
		if err := consumeOne(c); err != nil {
			return Percentiles{}, err
		}
		if i >= cfg.Warmup {
			record(h, t1-t0)
		}
		if i%progressEvery == 0 && budget.over(i) {
			break
		}
	}
	return summarize(h), nil
}

func consumeOne(c *ring.Consumer) error {
	if _, err := c.TryRead(); err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	c.Release()
	return nil
}

// consumeSPSC times read + release (zeroing); the record is produced before
// the first clock read.
func consumeSPSC(cfg *Config, size int, pr *Progress) (Percentiles, error) {
	p, c, err := ring.NewSPSC(cfg.LatencyRing)
	if err != nil {
		return Percentiles{}, err
	}
	return consume(cfg, size, pr, p.TrySend, c)
}

// consumeMPSC is consumeSPSC on an MPSC ring.
func consumeMPSC(cfg *Config, size int, pr *Progress) (Percentiles, error) {
	p, c, err := ring.NewMPSC(cfg.LatencyRing)
	if err != nil {
		return Percentiles{}, err
	}
	return consume(cfg, size, pr, p.TrySend, c)
}

// consume is the loop of both: write, the indirect call, is outside the
// timing, and the consumer is the same type for both rings.
func consume(cfg *Config, size int, pr *Progress, write func([]byte) error, c *ring.Consumer) (Percentiles, error) {
	src := make([]byte, size)
	h := newHist()
	budget := newBudget(cfg, pr)
	sink := 0
	for i := range cfg.Warmup + cfg.Samples {
		if err := write(src); err != nil {
			return Percentiles{}, fmt.Errorf("write %d B: %w", size, err)
		}
		t0 := now()
		r, err := c.TryRead()
		sink += len(r.Bytes())
		c.Release()
		t1 := now()
		if err != nil {
			return Percentiles{}, fmt.Errorf("read %d B: %w", size, err)
		}
		if i >= cfg.Warmup {
			record(h, t1-t0)
		}
		if i%progressEvery == 0 && budget.over(i) {
			break
		}
	}
	_ = sink
	return summarize(h), nil
}

// produceChan times allocate + copy + send on a buffered channel; the
// message is received after the second clock read.
func produceChan(cfg *Config, size int, pr *Progress) (Percentiles, error) {
	ch := make(chan []byte, chanLatencyBuffer)
	src := make([]byte, size)
	h := newHist()
	budget := newBudget(cfg, pr)
	for i := range cfg.Warmup + cfg.Samples {
		t0 := now()
		m := make([]byte, size)
		copy(m, src)
		ch <- m
		t1 := now()
		<-ch
		if i >= cfg.Warmup {
			record(h, t1-t0)
		}
		if i%progressEvery == 0 && budget.over(i) {
			break
		}
	}
	return summarize(h), nil
}

// consumeChan times a receive from a buffered channel; the message was
// allocated and sent before the first clock read.
func consumeChan(cfg *Config, size int, pr *Progress) (Percentiles, error) {
	ch := make(chan []byte, chanLatencyBuffer)
	src := make([]byte, size)
	h := newHist()
	budget := newBudget(cfg, pr)
	sink := 0
	for i := range cfg.Warmup + cfg.Samples {
		m := make([]byte, size)
		copy(m, src)
		ch <- m
		t0 := now()
		m = <-ch
		t1 := now()
		sink += len(m)
		if i >= cfg.Warmup {
			record(h, t1-t0)
		}
		if i%progressEvery == 0 && budget.over(i) {
			break
		}
	}
	_ = sink
	return summarize(h), nil
}

// spinYield lets another goroutine run when a spinning goroutine would
// otherwise hold the only P until preempted (GOMAXPROCS 1): the
// workloads' spin loops then still finish, with figures that say little.
func spinYield() {
	if onlyOneP {
		runtime.Gosched()
	}
}

var onlyOneP = runtime.GOMAXPROCS(0) < 2

// chanLatencyBuffer is the channels' buffer in the latency workloads: a
// buffered channel, like a ring, so that a send does not wait for a receiver.
const chanLatencyBuffer = 64

// handOff measures the floor under every one-way round trip: one cache
// line written on this core and read on another, and back, with nothing
// else (two atomic words on lines of their own, an echo goroutine
// spinning), halved. A ring's one-way trip cannot beat it; the record's
// word and tail are two lines, so it costs about one to two hand-offs.
func handOff(cfg *Config, pr *Progress) Percentiles {
	type line struct {
		v atomic.Uint64
		_ [56]byte
	}
	lines := new([3]line) // [0] pings, [2] answers: a line apart
	ping, pong := &lines[0].v, &lines[2].v
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for seen := uint64(0); !stop.Load(); {
			if v := ping.Load(); v != seen {
				seen = v
				pong.Store(v)
				continue
			}
			spinYield()
		}
	}()
	defer func() { stop.Store(true); wg.Wait() }()
	h := newHist()
	budget := newBudget(cfg, pr)
	for i := range cfg.Warmup + cfg.Samples {
		v := uint64(i + 1)
		t0 := now()
		ping.Store(v)
		for pong.Load() != v {
			spinYield()
		}
		t1 := now()
		if i >= cfg.Warmup {
			record(h, (t1-t0)/2)
		}
		if i%progressEvery == 0 && budget.over(i) {
			break
		}
	}
	return summarize(h)
}

// roundTripRing sends a record on one SPSC ring to an echo goroutine, which
// copies it into a second ring; the sample is the time until it comes back,
// halved. Both goroutines spin when their ring is empty or full.
func roundTripRing(cfg *Config, size int, pr *Progress) (Percentiles, error) {
	pa, ca, err := ring.NewSPSC(cfg.LatencyRing)
	if err != nil {
		return Percentiles{}, err
	}
	pb, cb, err := ring.NewSPSC(cfg.LatencyRing)
	if err != nil {
		return Percentiles{}, err
	}
	var stop, failed atomic.Bool
	var wg sync.WaitGroup
	var echoErr error // set before failed
	fail := func(err error) { echoErr = err; failed.Store(true) }
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			r, err := ca.TryRead()
			if err != nil {
				if errors.Is(err, ring.ErrEmpty) {
					if stop.Load() {
						return
					}
					spinYield()
					continue
				}
				fail(err)
				return
			}
			b := r.Bytes()
			for {
				cl, err := pb.TryClaim(len(b))
				if err == nil {
					copy(cl.Bytes(), b)
					cl.Commit()
					break
				}
				if !errors.Is(err, ring.ErrFull) {
					fail(err)
					return
				}
				if stop.Load() {
					return
				}
			}
			ca.Release()
		}
	}()
	defer func() { stop.Store(true); wg.Wait() }()

	src := make([]byte, size)
	h := newHist()
	budget := newBudget(cfg, pr)
	for i := range cfg.Warmup + cfg.Samples {
		t0 := now()
		cl, err := pa.TryClaim(size)
		if err != nil {
			return Percentiles{}, fmt.Errorf("claim %d B: %w", size, err)
		}
		copy(cl.Bytes(), src)
		cl.Commit()
		for {
			_, err := cb.TryRead()
			if err == nil {
				break
			}
			if !errors.Is(err, ring.ErrEmpty) {
				return Percentiles{}, err
			}
			if failed.Load() {
				return Percentiles{}, fmt.Errorf("echo: %w", echoErr)
			}
			spinYield()
		}
		cb.Release()
		t1 := now()
		if i >= cfg.Warmup {
			record(h, (t1-t0)/2)
		}
		if i%progressEvery == 0 && budget.over(i) {
			break
		}
	}
	return summarize(h), nil
}

// roundTripChan is roundTripRing over two buffered channels, a fresh slice
// per message each way.
func roundTripChan(cfg *Config, size int, pr *Progress) (Percentiles, error) {
	a := make(chan []byte, chanLatencyBuffer)
	b := make(chan []byte, chanLatencyBuffer)
	go func() {
		for m := range a {
			c := make([]byte, len(m))
			copy(c, m)
			b <- c
		}
		close(b)
	}()
	defer func() {
		close(a)
		for range b {
		}
	}()
	src := make([]byte, size)
	h := newHist()
	budget := newBudget(cfg, pr)
	for i := range cfg.Warmup + cfg.Samples {
		t0 := now()
		m := make([]byte, size)
		copy(m, src)
		a <- m
		<-b
		t1 := now()
		if i >= cfg.Warmup {
			record(h, (t1-t0)/2)
		}
		if i%progressEvery == 0 && budget.over(i) {
			break
		}
	}
	return summarize(h), nil
}
