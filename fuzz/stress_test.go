package fuzz

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/ring"
)

// TestStress runs real MPSC producers, in goroutines, against one consumer
// for LOGBUF_STRESS_DURATION (e.g. 30s; off when unset), on a ring small
// enough to wrap all the time and on a larger one. Producers hold two claims
// open at once, end them in random order and abort some. Every record
// carries its producer's id, its claim's sequence number and a CRC-32 of the
// rest; the consumer checks each, sees every producer's numbers strictly
// increase (claim order is position order), and in the end the count and
// the sum of the numbers it read equal those the producer committed: nothing
// lost, repeated or reordered.
func TestStress(t *testing.T) {
	env := os.Getenv("LOGBUF_STRESS_DURATION")
	if env == "" {
		t.Skip("set LOGBUF_STRESS_DURATION (e.g. 30s) to run")
	}
	d, err := time.ParseDuration(env)
	if err != nil {
		t.Fatalf("LOGBUF_STRESS_DURATION: %v", err)
	}
	configs := []struct {
		capacity  uint64
		producers int // goroutines
		handles   int // MPSCProducer values they share
	}{{1024, 3, 2}, {64 << 10, 2, 2}}
	for _, c := range configs {
		stress(t, d/time.Duration(len(configs)), c.capacity, c.producers, c.handles)
	}
}

// stressHeader is id (8 bytes), seq (8) and the CRC-32 of the payload after
// it (4).
const stressHeader = 20

func stressFill(b []byte, id, seq uint64) {
	binary.LittleEndian.PutUint64(b, id)
	binary.LittleEndian.PutUint64(b[8:], seq)
	for i := stressHeader; i < len(b); i++ {
		b[i] = byte(seq*13 + uint64(i)*id + uint64(i>>3))
	}
	binary.LittleEndian.PutUint32(b[16:], crc32.ChecksumIEEE(b[stressHeader:]))
}

func stress(t *testing.T, d time.Duration, capacity uint64, producers, handles int) {
	reg, err := abi.NewHeap(capacity, abi.MPSC)
	if err != nil {
		t.Fatal(err)
	}
	ps := make([]*ring.MPSCProducer, handles)
	for i := range ps {
		if ps[i], err = ring.NewMPSCProducer(reg); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := ring.NewConsumer(reg)
	if err != nil {
		t.Fatal(err)
	}
	maxLen := min(int(reg.MaxPayload()), 2048)
	var stop atomic.Bool
	var wg sync.WaitGroup
	type tally struct{ records, seqSum uint64 }
	committed := make([]tally, producers) // per producer, read after wg.Wait
	var aborts, fulls atomic.Uint64
	errs := make(chan error, producers+1)
	for id := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := ps[id%handles]
			rng := rand.New(rand.NewPCG(uint64(id), uint64(time.Now().UnixNano())))
			type held struct {
				c   ring.Claim
				seq uint64
			}
			var seq uint64
			var open []held // claims not yet ended, ended in random order
			var mine tally
			for !stop.Load() || len(open) > 0 {
				if len(open) < 2 && !stop.Load() {
					c, err := p.TryClaim(stressHeader + rng.IntN(maxLen-stressHeader+1))
					switch err {
					case nil:
						open = append(open, held{c, seq})
						seq++
						continue
					case ring.ErrFull:
						fulls.Add(1)
						if len(open) == 0 {
							runtime.Gosched()
							continue
						}
					default:
						errs <- err
						return
					}
				}
				i := rng.IntN(len(open))
				h := open[i]
				open = append(open[:i], open[i+1:]...)
				if rng.IntN(32) == 0 {
					h.c.Abort()
					aborts.Add(1)
					continue
				}
				stressFill(h.c.Bytes(), uint64(id), h.seq)
				if err := h.c.Commit(); err != nil {
					errs <- err
					return
				}
				mine.records++
				mine.seqSum += h.seq
			}
			committed[id] = mine
		}()
	}
	read := make([]tally, producers)
	last := make([]int64, producers) // the last seq read, -1 before any
	for i := range last {
		last[i] = -1
	}
	var total uint64
	var bad error
	want := make([]byte, maxLen)
	check := func(b []byte) {
		if bad != nil {
			return
		}
		id, seq := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
		switch {
		case len(b) < stressHeader || id >= uint64(producers):
			bad = fmt.Errorf("record %d: id %d, length %d", total, id, len(b))
		case int64(seq) <= last[id]:
			bad = fmt.Errorf("producer %d: seq %d after %d (repeated or reordered)", id, seq, last[id])
		case crc32.ChecksumIEEE(b[stressHeader:]) != binary.LittleEndian.Uint32(b[16:]):
			bad = fmt.Errorf("producer %d seq %d: checksum differs (torn record)", id, seq)
		default:
			w := want[:len(b)]
			stressFill(w, id, seq)
			if string(w) != string(b) {
				bad = fmt.Errorf("producer %d seq %d: payload differs", id, seq)
			}
			last[id] = int64(seq)
			read[id].records++
			read[id].seqSum += seq
		}
		total++
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	deadline := time.After(d)
	finished := false
	for !finished && bad == nil {
		select {
		case <-deadline:
			stop.Store(true)
		case err := <-errs:
			t.Fatal(err)
		case <-done:
			finished = true
		default:
		}
		if _, err := cons.ReadBatch(64, check); err != nil {
			t.Fatal(err)
		}
	}
	for bad == nil { // what was committed after the last read
		n, err := cons.ReadBatch(64, check)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if bad != nil {
		stop.Store(true)
		t.Fatal(bad)
	}
	var records uint64
	for id := range producers {
		records += committed[id].records
		if read[id] != committed[id] {
			t.Errorf("producer %d committed %+v (records, sum of seqs), read %+v", id, committed[id], read[id])
		}
	}
	s := ring.ReadStats(reg)
	if s.RecordsRead != records || s.RecordsWritten != records || s.Aborts != aborts.Load() || s.Used != 0 {
		t.Errorf("stats %+v: want %d records, %d aborts", s, records, aborts.Load())
	}
	t.Logf("capacity %d, %d producers on %d handles, %v: %d records, %d aborts, %d full",
		capacity, producers, handles, d, records, aborts.Load(), fulls.Load())
}
