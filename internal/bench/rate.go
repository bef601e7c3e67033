package bench

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/ring"
)

// Rate is one message-rate table row.
type Rate struct {
	Impl      string        `json:"impl"` // "ring-mpsc" or "chan"
	Producers int           `json:"producers"`
	Size      int           `json:"size"`     // payload bytes, fixed
	Messages  int           `json:"messages"` // in all, split over the producers
	Elapsed   time.Duration `json:"elapsed_ns"`
	MMsgps    float64       `json:"m_msgs_per_s"`
}

func (r *Rate) finish() {
	if s := r.Elapsed.Seconds(); s > 0 {
		r.MMsgps = float64(r.Messages) / s / 1e6
	}
}

// share is producer id's part of n messages over producers.
func share(n, producers, id int) int {
	s := n / producers
	if id < n%producers {
		s++
	}
	return s
}

// rateRing sends cfg.Messages fixed-size records over an MPSC ring from
// producers goroutines, retrying at once when full; this goroutine reads
// and releases each record. The time runs from spawning the producers to
// joining them, after the last record was read.
func rateRing(cfg *Config, producers int, pr *Progress) (Rate, error) {
	res := Rate{Impl: "ring-mpsc", Producers: producers, Size: cfg.RateSize, Messages: cfg.Messages}
	reg, c, err := throughputRegion(cfg, abi.MPSC)
	if err != nil {
		return res, err
	}
	defer c.Close()
	ps := make([]*ring.MPSCProducer, producers)
	for i := range ps {
		if ps[i], err = ring.NewMPSCProducer(reg); err != nil {
			return res, err
		}
	}
	var stop atomic.Bool // set only when the consumer fails
	var wg sync.WaitGroup
	start := time.Now()
	for id, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer p.Close()
			src := make([]byte, cfg.RateSize)
			for range share(cfg.Messages, producers, id) {
				for {
					cl, err := p.TryClaim(len(src))
					if err == nil {
						copy(cl.Bytes(), src)
						cl.Commit()
						break
					}
					if stop.Load() || !errors.Is(err, ring.ErrFull) {
						return
					}
					spinYield()
				}
			}
		}()
	}
	for got := 0; got < cfg.Messages; {
		if _, err := c.TryRead(); err == nil {
			c.Release()
			if got++; got%progressEvery == 0 {
				pr.set(int64(got))
			}
		} else if !errors.Is(err, ring.ErrEmpty) {
			stop.Store(true)
			wg.Wait()
			return res, err
		} else {
			spinYield()
		}
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.finish()
	return res, nil
}

// rateChan is rateRing over a channel of freshly allocated slices.
func rateChan(cfg *Config, producers int, pr *Progress) (Rate, error) {
	res := Rate{Impl: "chan", Producers: producers, Size: cfg.RateSize, Messages: cfg.Messages}
	ch := make(chan []byte, chanThroughputBuffer)
	var wg sync.WaitGroup
	start := time.Now()
	for id := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := make([]byte, cfg.RateSize)
			for range share(cfg.Messages, producers, id) {
				m := make([]byte, len(src))
				copy(m, src)
				ch <- m
			}
		}()
	}
	sink := 0
	for got := 1; got <= cfg.Messages; got++ {
		sink += len(<-ch)
		if got%progressEvery == 0 {
			pr.set(int64(got))
		}
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.finish()
	_ = sink
	return res, nil
}
