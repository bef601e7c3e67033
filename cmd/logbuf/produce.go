package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/internal/testrec"
	"github.com/logbuf/logbuf/ring"
)

func init() {
	register(command{name: "produce", args: "[--count N] [--id N] FILE", summary: "write test records into a ring file, as one producer", run: runProduce, doc: `
Writes --count test records into a ring file as one producer, then leaves
(so that tail and archive see the producer go). The records are those of
spec/TEST-RECORDS.md, which every cross-process test writes: record seq of
producer --id holds the id, seq, an FNV-1a hash and a fill derived from both,
and its length (16..1024 bytes, at most the ring's largest record or --max)
is drawn from a generator seeded with --seed, so a reader can check each
record byte for byte and tell a lost, repeated or reordered one. On a full
ring it waits for the consumer, however long it is away; SIGINT or SIGTERM
stops it.`})
}

func runProduce(e *env, args []string) (status int) {
	fs := newFlags(e, "produce")
	count := fs.Uint64("count", 1000, "records to write")
	id := fs.Uint64("id", 0, "producer id, written into each record")
	seed := fs.Uint64("seed", 0, "seed of the record lengths (0: id+1)")
	rate := fs.Float64("rate", 0, "records per second (0: as fast as the ring takes them)")
	maxLen := fs.Int("max", 1024, "longest record, 16..1024: the lengths are those of a ring\nwhose largest record is this (or the ring's, if smaller)")
	pos, st, ok := parse(e, fs, args, 1)
	if !ok {
		return st
	}
	if *id > math.MaxUint32 {
		return usageError(e, "produce", "--id %d does not fit in 32 bits", *id)
	}
	if *maxLen < 16 || *maxLen > 1024 {
		return usageError(e, "produce", "--max %d: want 16..1024", *maxLen)
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
	if mp := f.Region().MaxPayload(); mp < 16 {
		err = fmt.Errorf("the ring's largest record is %d bytes, under the 16 of a test record (capacity 128 or more)", mp)
		return exitFailure
	}
	recs := testrec.NewProducer(uint32(*id), *seed, min(*maxLen, int(f.Region().MaxPayload())))
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

	start := time.Now()
	for seq := range *count {
		if *rate > 0 {
			if d := time.Until(start.Add(time.Duration(float64(seq) / *rate * 1e9))); d > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(d):
				}
			}
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("interrupted after %d records", seq)
			return exitFailure
		}
		if err = p.Send(ctx, recs.Next()); err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("interrupted after %d records", seq)
			} else {
				err = fmt.Errorf("after %d records: %w", seq, err)
			}
			return exitFailure
		}
	}
	return exitOK
}
