package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/ring"
)

func init() {
	commandDocs["produce"] = `
Writes --count test records into a ring file as one producer, then closes it
(so tail and archive see the producer leave). Record i of producer --id has a
length drawn from a generator seeded with the id, and holds the id and i in
its first 16 bytes: a reader can check that every record arrived, in order.
On a full ring it waits (ring's blocking Write), and fails if the consumer
closes or dies meanwhile. demo runs it.`
}

// payloadGen makes the test records of one producer.
type payloadGen struct {
	id, i    uint64
	rng      uint64
	min, max int
	buf      []byte
}

func newPayloadGen(id uint64, min, max int) *payloadGen {
	return &payloadGen{id: id, rng: 0x9E3779B97F4A7C15 ^ (id+1)*0xBF58476D1CE4E5B9, min: min, max: max, buf: make([]byte, max)}
}

// next returns the next record; it is valid until the next call.
func (g *payloadGen) next() []byte {
	x := g.rng
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	g.rng = x
	n := g.min + int((x*0x2545F4914F6CDD1D)>>33%uint64(g.max-g.min+1))
	b := g.buf[:n]
	for k := range b {
		b[k] = byte(g.i + uint64(k)*7 + g.id)
	}
	if n >= 16 {
		binary.LittleEndian.PutUint64(b[0:], g.id)
		binary.LittleEndian.PutUint64(b[8:], g.i)
	}
	g.i++
	return b
}

func runProduce(e *env, args []string) (status int) {
	fs := newFlags(e, "produce")
	count := fs.Uint64("count", 1000, "records to write")
	id := fs.Uint64("id", 0, "producer id, written into each record")
	minLen := fs.Int("min", 16, "smallest payload in bytes (16 or more so each record names its producer and number)")
	maxLen := fs.Int("max", 1024, "largest payload in bytes")
	rate := fs.Float64("rate", 0, "records per second (0: as fast as the ring takes them)")
	pos, st, ok := parse(e, fs, args, 1)
	if !ok {
		return st
	}
	if *minLen < 1 || *maxLen < *minLen {
		return usageError(e, "produce", "want 1 <= --min <= --max")
	}
	var err error
	defer func() {
		if err != nil {
			status = fail(e, "produce", err)
		}
	}()
	defer guardFaults(&err)()
	f, err := abi.OpenFile(pos[0])
	if err != nil {
		return exitFailure
	}
	defer f.Close()
	if uint64(*maxLen) > f.Region().MaxPayload() {
		err = fmt.Errorf("--max %d is larger than the ring's largest record, %d", *maxLen, f.Region().MaxPayload())
		return exitFailure
	}
	// Send waits while the ring is full, for a consumer that is slow or
	// absent; it stops with ring.ErrRingClosed when the consumer closes the
	// ring for good.
	p, err := ring.OpenProducer(f.Region())
	if err != nil {
		return exitFailure
	}
	defer p.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	gen := newPayloadGen(*id, *minLen, *maxLen)
	start := time.Now()
	for i := range *count {
		if *rate > 0 {
			if d := time.Until(start.Add(time.Duration(float64(i) / *rate * 1e9))); d > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(d):
				}
			}
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("interrupted after %d records", i)
			return exitFailure
		}
		b := gen.next()
		if err = p.Send(ctx, b); err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("interrupted after %d records", i)
			} else {
				err = fmt.Errorf("after %d records: %w", i, err)
			}
			return exitFailure
		}
	}
	return exitOK
}
