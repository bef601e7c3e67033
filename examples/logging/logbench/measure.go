package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// bench is the state of a whole run.
type bench struct {
	dir    string // scratch directory on /dev/shm
	logbuf string // the logbuf command
	seq    int    // names files
}

// config is one cell of the table.
type config struct {
	enc  encoder
	kind destKind
	g    int
	be   backend
}

func (c config) String() string {
	return fmt.Sprintf("%s/%s/G=%d/%s", c.enc.name, c.kind, c.g, c.be.short)
}

// result is what one run measured.
type result struct {
	calls     uint64        // log calls made
	wall      time.Duration // from the first call to the last one's return, all goroutines
	mallocs   uint64        // heap allocations in that time, every goroutine's
	said      uint64        // events the backend reported dropped
	delivered uint64        // events that reached the destination
	hist      *hdrhistogram.Histogram
}

// lost is the events neither delivered nor reported dropped.
func (r result) lost() int64 { return int64(r.calls) - int64(r.delivered) - int64(r.said) }

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, int64(10*time.Second), 3) }

// run makes one run of c: events log calls spread over the goroutines, or,
// when for > 0, as many as they make in that time. timed records each
// call's latency, which costs two clock reads per call: runs that report
// ns/op are not timed.
func (b *bench) run(c config, events int, timed bool, lasting time.Duration, rate float64) (result, error) {
	d := &dest{kind: c.kind}
	switch c.kind {
	case destFile:
		b.seq++
		d.path = filepath.Join(b.dir, fmt.Sprintf("dest-%d", b.seq))
		f, err := os.Create(d.path)
		if err != nil {
			return result{}, err
		}
		d.file = f
		defer os.Remove(d.path)
		defer f.Close()
	default:
		d.lines = &lineSink{rate: rate}
	}
	w, finish, err := c.be.start(b, d)
	if err != nil {
		return result{}, fmt.Errorf("%v: %w", c, err)
	}
	log := c.enc.make(w)

	var (
		wg    sync.WaitGroup
		go_   = make(chan struct{})
		stop  atomic.Bool
		calls = make([]uint64, c.g)
		hists = make([]*hdrhistogram.Histogram, c.g)
	)
	per := events / c.g
	for g := range c.g {
		if timed {
			hists[g] = newHist()
		}
		wg.Go(func() {
			<-go_
			h := hists[g]
			n := 0
			for ; lasting > 0 && !stop.Load() || lasting == 0 && n < per; n++ {
				if h != nil {
					t0 := time.Now()
					log(n)
					h.RecordValue(int64(time.Since(t0)))
				} else {
					log(n)
				}
			}
			calls[g] = uint64(n)
		})
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	close(go_)
	if lasting > 0 {
		time.Sleep(lasting)
		stop.Store(true)
	}
	wg.Wait()
	wall := time.Since(start)
	runtime.ReadMemStats(&after)

	said, delivered, err := finish()
	if err != nil {
		return result{}, fmt.Errorf("%v: %w", c, err)
	}
	r := result{wall: wall, mallocs: after.Mallocs - before.Mallocs, said: said}
	for _, n := range calls {
		r.calls += n
	}
	if delivered >= 0 {
		r.delivered = uint64(delivered)
	} else if r.delivered, err = d.delivered(); err != nil {
		return result{}, err
	}
	if timed {
		r.hist = newHist()
		for _, h := range hists {
			r.hist.Merge(h)
		}
	}
	return r, nil
}
