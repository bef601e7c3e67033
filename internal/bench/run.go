package bench

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/logbuf/logbuf/abi"
)

// Config is what to run. DefaultConfig is the Rust original's workloads.
type Config struct {
	Latency    bool `json:"latency"`    // run the latency tables
	Throughput bool `json:"throughput"` // run the throughput table
	Rate       bool `json:"rate"`       // run the message-rate table
	Channels   bool `json:"channels"`   // run the channel baseline next to each ring row

	Sizes       []int `json:"sizes"`        // latency payload sizes, bytes
	Warmup      int   `json:"warmup"`       // latency iterations not recorded
	Samples     int   `json:"samples"`      // latency iterations recorded
	LatencyRing int   `json:"latency_ring"` // latency ring capacity, bytes
	// RowBudget ends a latency row early, with fewer samples, when it takes
	// longer than this (0: never); only a busy machine gets there.
	RowBudget time.Duration `json:"row_budget_ns"`

	Duration       time.Duration `json:"duration_ns"`     // per throughput run
	ThroughputRing int           `json:"throughput_ring"` // throughput and rate ring capacity
	Producers      []int         `json:"producers"`       // MPSC throughput producer counts
	Backoff        bool          `json:"backoff"`         // also run MPSC with backoff producers
	Batch          bool          `json:"batch"`           // also run SPSC with a batch consumer

	Messages      int   `json:"messages"`       // message rate: messages in all
	RateSize      int   `json:"rate_size"`      // message rate: payload bytes
	RateProducers []int `json:"rate_producers"` // message rate: producer counts
}

// DefaultConfig returns the workloads of ../shared/SEED-FACTS.md with the
// Rust original's parameters, plus the SPSC batch-consumer row.
func DefaultConfig() Config {
	return Config{
		Latency: true, Throughput: true, Rate: true, Channels: true,
		Sizes: []int{8, 64, 256, 1024}, Warmup: 10_000, Samples: 100_000, LatencyRing: 64 << 10, RowBudget: 2 * time.Second,
		Duration: 5 * time.Second, ThroughputRing: 2 << 20, Producers: []int{1, 2}, Batch: true,
		Messages: 1_000_000, RateSize: 64, RateProducers: []int{1, 2, 4},
	}
}

// Check reports the first parameter that cannot run.
func (c *Config) Check() error {
	maxPayload := func(ringSize int) int {
		capacity, err := abi.RoundCapacity(uint64(max(ringSize, 0)))
		if err != nil {
			return 0
		}
		return int(abi.MaxPayload(capacity))
	}
	switch {
	case c.Samples < 1:
		return errors.New("samples must be at least 1")
	case c.Warmup < 0:
		return errors.New("warmup must not be negative")
	case c.LatencyRing < abi.MinCapacity || c.LatencyRing > abi.MaxCapacity:
		return fmt.Errorf("latency ring must be %d..%d bytes", abi.MinCapacity, abi.MaxCapacity)
	case c.ThroughputRing < abi.MinCapacity || c.ThroughputRing > abi.MaxCapacity:
		return fmt.Errorf("throughput ring must be %d..%d bytes", abi.MinCapacity, abi.MaxCapacity)
	case c.Duration <= 0:
		return errors.New("duration must be positive")
	case c.Messages < 1:
		return errors.New("messages must be at least 1")
	}
	for _, s := range c.Sizes {
		if s < 1 || s > maxPayload(c.LatencyRing) {
			return fmt.Errorf("size %d is not in 1..%d (the latency ring's largest record)", s, maxPayload(c.LatencyRing))
		}
	}
	if c.Throughput && MaxLen > maxPayload(c.ThroughputRing) {
		return fmt.Errorf("throughput ring of %d bytes cannot hold %d-byte payloads", c.ThroughputRing, MaxLen)
	}
	if c.RateSize < 1 || c.RateSize > maxPayload(c.ThroughputRing) {
		return fmt.Errorf("rate size %d is not in 1..%d", c.RateSize, maxPayload(c.ThroughputRing))
	}
	for _, n := range append(slices.Clone(c.Producers), c.RateProducers...) {
		if n < 1 || n > abi.ProducerSlots {
			return fmt.Errorf("producer count %d is not in 1..%d", n, abi.ProducerSlots)
		}
	}
	return nil
}

// Results is everything one run measured.
type Results struct {
	Machine    Machine       `json:"machine"`
	Config     Config        `json:"config"`
	Started    time.Time     `json:"started"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	ClockPair  Percentiles   `json:"clock_pair"` // cost of the clock pair, in every latency figure
	HandOff    Percentiles   `json:"hand_off"`   // one cache line to another core and back, halved: the one-way floor
	Latency    []Latency     `json:"latency"`
	Throughput []Throughput  `json:"throughput"`
	Rate       []Rate        `json:"rate"`
}

// step is one workload of a run.
type step struct {
	name  string
	total int64
	unit  string
	run   func(*Progress) error
}

// Run runs the workloads cfg selects, one after another, reporting each to
// pr (which may be nil).
func Run(cfg Config, pr *Progress) (*Results, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	res := &Results{Machine: ReadMachine(), Config: cfg, Started: time.Now()}
	var steps []step
	samples := int64(cfg.Warmup + cfg.Samples)
	if cfg.Latency {
		steps = append(steps, step{"latency: clock pair", samples, "samples", func(pr *Progress) error {
			res.ClockPair = clockPair(&cfg, pr)
			return nil
		}})
		steps = append(steps, step{"latency: cache-line hand-off", samples, "samples", func(pr *Progress) error {
			res.HandOff = handOff(&cfg, pr)
			return nil
		}})
		type latFn func(*Config, int, *Progress) (Percentiles, error)
		add := func(op, impl string, fn latFn) {
			for _, size := range cfg.Sizes {
				steps = append(steps, step{fmt.Sprintf("latency: %s %s %d B", op, impl, size), samples, "samples",
					func(pr *Progress) error {
						p, err := fn(&cfg, size, pr)
						res.Latency = append(res.Latency, Latency{Op: op, Impl: impl, Size: size, Percentiles: p})
						return err
					}})
			}
		}
		add("produce", "ring-spsc", produceSPSC)
		add("produce", "ring-mpsc", produceMPSC)
		if cfg.Channels {
			add("produce", "chan", produceChan)
		}
		add("consume", "ring-spsc", consumeSPSC)
		add("consume", "ring-mpsc", consumeMPSC)
		if cfg.Channels {
			add("consume", "chan", consumeChan)
		}
		add("roundtrip", "ring-spsc", roundTripRing)
		if cfg.Channels {
			add("roundtrip", "chan", roundTripChan)
		}
	}
	if cfg.Throughput {
		ms := cfg.Duration.Milliseconds()
		addT := func(name string, fn func(*Progress) (Throughput, error)) {
			steps = append(steps, step{"throughput: " + name, ms, "ms", func(pr *Progress) error {
				t, err := fn(pr)
				res.Throughput = append(res.Throughput, t)
				return err
			}})
		}
		addT("ring-spsc 1p", func(pr *Progress) (Throughput, error) {
			return throughputRing(&cfg, abi.SPSC, 1, false, false, pr)
		})
		if cfg.Batch {
			addT("ring-spsc 1p, batch consumer", func(pr *Progress) (Throughput, error) {
				return throughputRing(&cfg, abi.SPSC, 1, false, true, pr)
			})
		}
		for _, n := range cfg.Producers {
			addT(fmt.Sprintf("ring-mpsc %dp", n), func(pr *Progress) (Throughput, error) {
				return throughputRing(&cfg, abi.MPSC, n, false, false, pr)
			})
			if cfg.Backoff {
				addT(fmt.Sprintf("ring-mpsc %dp, backoff", n), func(pr *Progress) (Throughput, error) {
					return throughputRing(&cfg, abi.MPSC, n, true, false, pr)
				})
			}
		}
		if cfg.Channels {
			chans := []int{1}
			for _, n := range cfg.Producers {
				if !slices.Contains(chans, n) {
					chans = append(chans, n)
				}
			}
			for _, n := range chans {
				addT(fmt.Sprintf("chan %dp", n), func(pr *Progress) (Throughput, error) {
					return throughputChan(&cfg, n, pr)
				})
			}
		}
	}
	if cfg.Rate {
		addR := func(name string, fn func(*Progress) (Rate, error)) {
			steps = append(steps, step{"message rate: " + name, int64(cfg.Messages), "msgs", func(pr *Progress) error {
				r, err := fn(pr)
				res.Rate = append(res.Rate, r)
				return err
			}})
		}
		for _, n := range cfg.RateProducers {
			addR(fmt.Sprintf("ring-mpsc %dp", n), func(pr *Progress) (Rate, error) { return rateRing(&cfg, n, pr) })
			if cfg.Channels {
				addR(fmt.Sprintf("chan %dp", n), func(pr *Progress) (Rate, error) { return rateChan(&cfg, n, pr) })
			}
		}
	}

	for i, s := range steps {
		pr.begin(Stage{Index: i + 1, Of: len(steps), Name: s.name, Total: s.total, Unit: s.unit})
		runtime.GC() // start each workload without the previous one's garbage
		if err := s.run(pr); err != nil {
			return res, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	res.Elapsed = time.Since(res.Started)
	return res, nil
}
