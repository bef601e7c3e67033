// Command feed writes records into a ring file as fast as the ring takes
// them: the Go producer of scripts/archive-throughput.sh. It uses only calls
// that the ring package had before protocol v2 as well as after
// (abi.OpenFile, ring.NewMPSCProducer, TryClaim, Commit, ErrFull), so that
// the script builds this same file against the tool of an older commit and
// both archivers are fed alike.
//
//	feed RING-FILE COUNT
//
// The payloads are 4096 records drawn once, 16..1024 bytes (xorshift64*
// lengths, the spread of spec/TEST-RECORDS.md), written over and over: the
// producer's cost per record is a claim, a copy and a commit.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/ring"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: feed RING-FILE COUNT")
		os.Exit(2)
	}
	count, err := strconv.ParseUint(os.Args[2], 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "feed: COUNT:", err)
		os.Exit(2)
	}
	if err := feed(os.Args[1], count); err != nil {
		fmt.Fprintln(os.Stderr, "feed:", err)
		os.Exit(1)
	}
}

func feed(path string, count uint64) error {
	f, err := abi.OpenFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := ring.NewMPSCProducer(f.Region())
	if err != nil {
		return err
	}
	defer p.Close()
	pool := payloads(4096, min(1024, int(f.Region().MaxPayload())))
	for i := range count {
		b := pool[i%uint64(len(pool))]
		for {
			c, err := p.TryClaim(len(b))
			if err == ring.ErrFull {
				runtime.Gosched()
				continue
			}
			if err != nil {
				return fmt.Errorf("after %d records: %w", i, err)
			}
			copy(c.Bytes(), b)
			if err := c.Commit(); err != nil {
				return fmt.Errorf("after %d records: %w", i, err)
			}
			break
		}
	}
	return nil
}

// payloads draws n records of 16..max bytes.
func payloads(n, max int) [][]byte {
	x := uint64(0x9E3779B97F4A7C15)
	out := make([][]byte, n)
	for i := range out {
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		r := x * 0x2545F4914F6CDD1D
		out[i] = make([]byte, 16+r%uint64(max-15))
		for k := range out[i] {
			out[i][k] = byte(i*31 + k*7)
		}
	}
	return out
}
