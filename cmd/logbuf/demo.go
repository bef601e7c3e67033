package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/internal/segment"
)

func init() {
	commandDocs["demo"] = `
The library's main job in one command: creates an MPSC ring file (under
/dev/shm when there is one), starts --producers producer processes (this
binary's hidden "produce" command) that write --records records each into it,
archives the ring into segment files while they run, printing progress, and
finally replays the archive and checks that every record arrived exactly once
and in each producer's order.`
}

func runDemo(e *env, args []string) int {
	fs := newFlags(e, "demo")
	producers := fs.Int("producers", 2, "producer processes")
	records := fs.Uint64("records", 200_000, "records per producer")
	capacity := byteSize(1 << 20)
	fs.Var(&capacity, "capacity", "ring capacity")
	dir := fs.String("dir", "", "where to create the ring file (default /dev/shm, else the temp dir)")
	out := fs.String("out", "", "archive directory (default: a temporary one, removed unless --keep)")
	segSize := byteSize(16 << 20)
	fs.Var(&segSize, "segment-size", "archive segment size")
	keep := fs.Bool("keep", false, "keep the ring file and a temporary archive")
	if _, st, ok := parse(e, fs, args, 0); !ok {
		return st
	}
	if *producers < 1 || *producers > abi.ProducerSlots {
		return usageError(e, "demo", "--producers must be 1..%d", abi.ProducerSlots)
	}
	c, err := abi.RoundCapacity(uint64(capacity))
	if err != nil || abi.MaxPayload(c) < 1024 {
		return usageError(e, "demo", "--capacity must be 8KiB..2GiB (records are up to 1024 bytes)")
	}
	if segSize < 4096 {
		return usageError(e, "demo", "--segment-size must be at least 4KiB")
	}
	if *dir == "" {
		*dir = os.TempDir()
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
			*dir = "/dev/shm"
		}
	}
	ringDir, err := os.MkdirTemp(*dir, "logbuf-demo-")
	if err != nil {
		return fail(e, "demo", err)
	}
	ringPath := filepath.Join(ringDir, "demo.ring")
	tempOut := *out == ""
	if tempOut {
		if *out, err = os.MkdirTemp("", "logbuf-demo-archive-"); err != nil {
			return fail(e, "demo", err)
		}
		if !*keep {
			defer os.RemoveAll(*out)
		}
	}
	if !*keep {
		defer os.RemoveAll(ringDir)
	}
	f, err := abi.Create(ringPath, c, abi.MPSC, nil)
	if err != nil {
		return fail(e, "demo", err)
	}
	f.Close()
	fmt.Fprintf(e.stderr, "demo: ring %s (mpsc, %d bytes), archive %s\n", ringPath, c, *out)

	exe, err := os.Executable()
	if err != nil {
		return fail(e, "demo", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var cmds []*exec.Cmd
	for i := range *producers {
		cmd := exec.Command(exe, "produce", "--count", strconv.FormatUint(*records, 10), "--id", strconv.Itoa(i), ringPath)
		cmd.Stdout, cmd.Stderr = e.stderr, e.stderr
		if err := cmd.Start(); err != nil {
			for _, c := range cmds {
				c.Process.Kill()
				c.Wait()
			}
			return fail(e, "demo", err)
		}
		cmds = append(cmds, cmd)
	}
	fmt.Fprintf(e.stderr, "demo: %d producer processes writing %d records each\n", *producers, *records)
	var done atomic.Bool
	var waitErr error
	go func() {
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				waitErr = errors.Join(waitErr, fmt.Errorf("producer %d: %w", i, err))
			}
		}
		done.Store(true)
	}()
	stats, err := archive(ctx, ringPath, archiveOpts{
		out: *out, segSize: int64(segSize), sync: segment.SyncSegment, interval: time.Second,
		progress: e.stderr, stderr: e.stderr, finished: done.Load,
	})
	if err != nil {
		return fail(e, "demo", err)
	}
	fmt.Fprintf(e.stderr, "demo: archived %s\n", stats)
	if ctx.Err() != nil {
		fmt.Fprintf(e.stderr, "demo: interrupted\n")
		return exitFailure
	}
	if !done.Load() {
		return fail(e, "demo", errors.New("archive ended before the producers"))
	}
	if waitErr != nil {
		return fail(e, "demo", waitErr)
	}
	n, err := verifyArchive(*out, *producers, *records)
	if err != nil {
		return fail(e, "demo", fmt.Errorf("verify: %w", err))
	}
	fmt.Fprintf(e.stdout, "demo: %d producers wrote %d records; the archive holds exactly them, each producer's in order\n",
		*producers, n)
	if !*keep && tempOut {
		fmt.Fprintf(e.stderr, "demo: removing %s and %s (--keep keeps them)\n", ringDir, *out)
	}
	return exitOK
}

// verifyArchive replays dir and checks that it holds records 0..perProducer-1
// of each producer, in order per producer, and nothing else.
func verifyArchive(dir string, producers int, perProducer uint64) (uint64, error) {
	r, err := segment.Open(dir)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	gens := make([]*payloadGen, producers)
	for i := range gens {
		gens[i] = newPayloadGen(uint64(i), 16, 1024)
	}
	var total uint64
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return total, err
		}
		if len(rec) < 16 {
			return total, fmt.Errorf("record %d: %d bytes, too short to name its producer", total, len(rec))
		}
		id := binary.LittleEndian.Uint64(rec)
		if id >= uint64(producers) {
			return total, fmt.Errorf("record %d: unknown producer %d", total, id)
		}
		g := gens[id]
		if want := g.next(); !bytes.Equal(rec, want) {
			return total, fmt.Errorf("record %d: producer %d's record %d differs from what it wrote", total, id, g.i-1)
		}
		total++
	}
	for id, g := range gens {
		if g.i != perProducer {
			return total, fmt.Errorf("producer %d: %d records archived, want %d", id, g.i, perProducer)
		}
	}
	return total, nil
}
