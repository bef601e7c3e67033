package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/archive"
	"github.com/logbuf/logbuf/internal/testrec"
	"github.com/logbuf/logbuf/ring"
)

func init() {
	register(command{name: "demo", args: "[flags]", summary: "create a ring, run producer processes into it and archive it", run: runDemo, doc: `
The library's main job in one command: creates an MPSC ring file (under
/dev/shm when there is one), starts --producers producer processes ("logbuf
produce") that write --records test records each into it, archives the ring
into segment files while they run, printing progress, and finally reads the
archive back and checks that every record arrived exactly once, byte for
byte, in each producer's order.`})
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
		return usageError(e, "demo", "--capacity must be 8KiB..2GiB (test records are up to 1024 bytes)")
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
	defer f.Close()
	fmt.Fprintf(e.stderr, "demo: ring %s (mpsc, %d bytes), archive %s\n", ringPath, c, *out)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	procs, err := startProducers(e.stderr, ringPath, *producers, *records)
	if err != nil {
		return fail(e, "demo", err)
	}
	defer procs.kill()
	fmt.Fprintf(e.stderr, "demo: %d producer processes writing %d records each\n", *producers, *records)
	// The archive ends when every producer that attached has gone: start it
	// once all have attached, or the first to finish could end it before
	// the last one came.
	if err := procs.waitAttached(ctx, f.Region()); err != nil {
		return fail(e, "demo", err)
	}
	stats, err := archiveRing(ctx, ringPath, archiveOpts{
		out:      *out,
		writer:   archive.WriterOptions{MaxSize: int64(segSize), Sync: archive.SyncSegment, SyncInterval: time.Second},
		progress: e.stderr, stderr: e.stderr,
	})
	if err != nil {
		return fail(e, "demo", err)
	}
	fmt.Fprintf(e.stderr, "demo: archived %s\n", stats.doneLine())
	if ctx.Err() != nil {
		fmt.Fprintf(e.stderr, "demo: interrupted\n")
		return exitFailure
	}
	if err := procs.wait(); err != nil {
		return fail(e, "demo", err)
	}
	n, err := verifyArchive(*out, *producers, *records, f.Region().MaxPayload())
	if err != nil {
		return fail(e, "demo", fmt.Errorf("verify: %w", err))
	}
	fmt.Fprintf(e.stdout, "demo: %d producers wrote %d records; the archive holds exactly them, byte for byte, each producer's in order\n",
		*producers, n)
	if !*keep && tempOut {
		fmt.Fprintf(e.stderr, "demo: removing %s and %s (--keep keeps them)\n", ringDir, *out)
	}
	return exitOK
}

// producerProcs are demo's "logbuf produce" processes, ids 1..n.
type producerProcs struct {
	cmds   []*exec.Cmd
	done   chan struct{} // closed when every process has exited
	mu     sync.Mutex
	failed error // the first process that failed, once it has exited
}

func startProducers(stderr io.Writer, ringPath string, n int, records uint64) (*producerProcs, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	p := &producerProcs{done: make(chan struct{})}
	for id := 1; id <= n; id++ {
		cmd := exec.Command(exe, "produce", "--count", strconv.FormatUint(records, 10), "--id", strconv.Itoa(id), ringPath)
		cmd.Stdout, cmd.Stderr = stderr, stderr
		if err := cmd.Start(); err != nil {
			for _, c := range p.cmds {
				c.Process.Kill()
				c.Wait()
			}
			return nil, err
		}
		p.cmds = append(p.cmds, cmd)
	}
	var wg sync.WaitGroup
	for id, cmd := range p.cmds {
		wg.Go(func() {
			if err := cmd.Wait(); err != nil {
				p.mu.Lock()
				p.failed = errors.Join(p.failed, fmt.Errorf("producer %d: %w", id+1, err))
				p.mu.Unlock()
			}
		})
	}
	go func() { wg.Wait(); close(p.done) }()
	return p, nil
}

func (p *producerProcs) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed
}

// waitAttached waits until every producer has attached to the ring (its
// table entry is no longer FREE), or one failed.
func (p *producerProcs) waitAttached(ctx context.Context, r *abi.Region) error {
	for len(ring.ReadStats(r).Entries) < len(p.cmds) {
		if err := p.err(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// wait waits for every producer to exit and says which failed.
func (p *producerProcs) wait() error {
	<-p.done
	return p.err()
}

// kill ends the producers still running (after an error or an interrupt).
func (p *producerProcs) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	for _, c := range p.cmds {
		c.Process.Kill() // an error for one that has exited: nothing to do
	}
}

// verifyArchive reads the archive in dir and checks that it holds records
// 0..perProducer-1 of producers 1..producers, each intact and in order,
// with no damage, gap or duplicate, and nothing else.
func verifyArchive(dir string, producers int, perProducer, maxPayload uint64) (uint64, error) {
	r, err := archive.OpenReader(dir, nil)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	recs := testrec.NewChecker()
	for id := 1; id <= producers; id++ {
		recs.Gens[uint32(id)] = testrec.NewGen(uint64(id)+1, int(maxPayload)) // produce's default seed
	}
	var order archive.Checker
	var total uint64
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return total, err
		}
		if err := recs.Check(rec.Data); err != nil {
			return total, fmt.Errorf("record %d: %w", total, err)
		}
		order.Add(rec.RecordID)
		total++
	}
	for _, rc := range order.Rings() {
		if rc.Missing+rc.Duplicates+rc.Reordered > 0 {
			return total, fmt.Errorf("ring %s: %d missing, %d duplicates, %d out of order", abi.RingID(rc.RingID), rc.Missing, rc.Duplicates, rc.Reordered)
		}
	}
	if len(recs.Next) != producers {
		return total, fmt.Errorf("records of %d producers, want %d", len(recs.Next), producers)
	}
	for id := 1; id <= producers; id++ {
		if n := recs.Next[uint32(id)]; n != perProducer {
			return total, fmt.Errorf("producer %d: %d records archived, want %d", id, n, perProducer)
		}
	}
	return total, nil
}
