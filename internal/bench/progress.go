package bench

import (
	"sync"
	"sync/atomic"
)

// Progress tells a watcher which workload runs and how far along it is. The
// workloads update it rarely (every few thousand operations) with one atomic
// store, so watching costs the measurement nothing; a nil *Progress is valid
// and ignores everything.
type Progress struct {
	mu     sync.Mutex
	stage  Stage
	done   atomic.Int64
	events chan struct{} // one value per stage change, dropped when full
}

// Stage is one workload of the run.
type Stage struct {
	Index int    // 1-based
	Of    int    // number of stages in the run
	Name  string // e.g. "throughput ring-spsc 1p"
	Total int64  // how much work: samples, messages or milliseconds
	Unit  string // "samples", "msgs" or "ms"
}

// NewProgress returns a Progress whose Changed channel signals each new stage.
func NewProgress() *Progress { return &Progress{events: make(chan struct{}, 1)} }

// Changed receives a value when a new stage starts.
func (p *Progress) Changed() <-chan struct{} { return p.events }

// Snapshot returns the current stage and how much of its Total is done.
func (p *Progress) Snapshot() (Stage, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stage, p.done.Load()
}

func (p *Progress) begin(s Stage) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.stage = s
	p.done.Store(0)
	p.mu.Unlock()
	select {
	case p.events <- struct{}{}:
	default:
	}
}

func (p *Progress) set(done int64) {
	if p != nil {
		p.done.Store(done)
	}
}
