package testrig

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/archive"
	"github.com/logbuf/logbuf/drain"
	"github.com/logbuf/logbuf/internal/testrec"
	"github.com/logbuf/logbuf/ring"
)

// The consumer-kill rig: producers write TEST-RECORDS into a small ring file
// while its consumer, a drain into an archive, is killed and restarted
// again and again. A consumer that is gone is not one that closed: the
// producers wait and keep every record; the archive's resume makes the
// hand-over exactly once. The rig checks the archive holds each record once.

func init() {
	roles["drain-archive"] = runDrainArchive
	roles["test-producer"] = runTestProducer
}

// runDrainArchive is a consumer process: LOGBUF_RING drained into the
// archive in LOGBUF_ARCHIVE until the end of the stream, or until SIGTERM,
// when it detaches cleanly.
func runDrainArchive() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	f, err := abi.OpenFile(os.Getenv("LOGBUF_RING"))
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	c, err := ring.NewConsumer(f.Region())
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	os.Stdout.WriteString("attached\n")
	w, err := archive.OpenWriter(os.Getenv("LOGBUF_ARCHIVE"), &archive.WriterOptions{MaxSize: 1 << 20})
	if err != nil {
		return fail(err)
	}
	defer w.Close()
	if _, err := drain.Run(ctx, c, w, drain.Options{MaxRecords: 256}); err != nil {
		return fail(err)
	}
	return 0
}

// runTestProducer writes LOGBUF_COUNT records of producer LOGBUF_ID into
// LOGBUF_RING, waiting while the ring is full for as long as it takes.
func runTestProducer() int {
	f, err := abi.OpenFile(os.Getenv("LOGBUF_RING"))
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	p, err := ring.OpenProducer(f.Region())
	if err != nil {
		return fail(err)
	}
	defer p.Close()
	id, _ := strconv.ParseUint(os.Getenv("LOGBUF_ID"), 10, 32)
	n, _ := strconv.ParseUint(os.Getenv("LOGBUF_COUNT"), 10, 64)
	tp := testrec.NewProducer(uint32(id), 0, p.MaxPayload())
	for range n {
		if err := p.Send(context.Background(), tp.Next()); err != nil {
			return fail(err)
		}
	}
	return 0
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "testrig child:", err)
	return 1
}

// KillRun is one run of the rig.
type KillRun struct {
	Ring      string        // ring file, created by the caller
	Producers []*exec.Cmd   // started by the caller; the rig waits for them
	IDs       []uint32      // their producer ids
	Counts    []uint64      // how many records each writes
	Kills     int           // SIGKILLs of the consumer
	Terms     int           // SIGTERMs of the consumer
	Gap       time.Duration // longest life of a consumer between signals
	Log       func(string)  // progress, may be nil
	Seed      uint64        // for the signal schedule
	Archive   string        // archive directory; a temp dir when empty
	consumers int
}

// Run kills and restarts the consumer as asked while the producers write,
// then lets a last consumer drain to the end of the stream, and checks the
// archive: every record once, in order per producer, byte-exact.
func (k *KillRun) Run(t *testing.T) {
	t.Helper()
	NeedReexec(t)
	if k.Archive == "" {
		k.Archive = filepath.Join(t.TempDir(), "archive")
	}
	rng := rand.New(rand.NewPCG(k.Seed, 77))
	signals := make([]syscall.Signal, 0, k.Kills+k.Terms)
	for range k.Kills {
		signals = append(signals, syscall.SIGKILL)
	}
	for range k.Terms {
		signals = append(signals, syscall.SIGTERM)
	}
	rng.Shuffle(len(signals), func(i, j int) { signals[i], signals[j] = signals[j], signals[i] })
	for _, sig := range signals {
		cmd, attached := k.consumer(t)
		if sig == syscall.SIGTERM {
			// Only a process that has installed its handler can leave
			// cleanly; before that SIGTERM kills it as SIGKILL would.
			select {
			case <-attached:
			case <-time.After(10 * time.Second):
				t.Fatal("a consumer did not attach within 10 s")
			}
		}
		time.Sleep(time.Duration(rng.Int64N(int64(k.Gap) + 1)))
		cmd.Process.Signal(sig)
		err := cmd.Wait()
		if sig == syscall.SIGTERM && err != nil {
			t.Fatalf("consumer %d after SIGTERM: %v, want a clean exit", k.consumers, err)
		}
	}
	last, _ := k.consumer(t)
	for i, p := range k.Producers {
		if err := p.Wait(); err != nil {
			t.Fatalf("producer %d: %v", k.IDs[i], err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- last.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("last consumer: %v", err)
		}
	case <-time.After(2 * time.Minute):
		last.Process.Kill()
		t.Fatal("the last consumer did not reach the end of the stream")
	}
	k.check(t)
}

// consumer starts a consumer process; the channel is closed once it has
// attached (and installed its SIGTERM handler).
func (k *KillRun) consumer(t *testing.T) (*exec.Cmd, <-chan struct{}) {
	t.Helper()
	cmd := Child("drain-archive", "LOGBUF_RING="+k.Ring, "LOGBUF_ARCHIVE="+k.Archive)
	// A pipe of our own, not StdoutPipe: Wait must not close it while the
	// goroutine below still reads.
	out, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	err = cmd.Start()
	w.Close()
	if err != nil {
		out.Close()
		t.Fatal(err)
	}
	attached := make(chan struct{})
	go func() {
		defer out.Close()
		buf := make([]byte, 16)
		if n, _ := out.Read(buf); n > 0 {
			close(attached)
		}
		io.Copy(io.Discard, out)
	}()
	k.consumers++
	return cmd, attached
}

func (k *KillRun) logf(format string, args ...any) {
	if k.Log != nil {
		k.Log(fmt.Sprintf(format, args...))
	}
}

// check reads the archive back and compares it with what was produced.
func (k *KillRun) check(t *testing.T) {
	t.Helper()
	r, err := archive.OpenReader(k.Archive, &archive.ReaderOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	chk := testrec.NewChecker()
	var ids archive.Checker
	total := uint64(0)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("archive: %v", err)
		}
		if err := chk.Check(rec.Data); err != nil {
			t.Fatalf("record %d of the archive: %v", total, err)
		}
		ids.AddRecord(rec)
		total++
	}
	var want uint64
	for i, id := range k.IDs {
		want += k.Counts[i]
		if chk.Next[id] != k.Counts[i] {
			t.Errorf("producer %d: %d records archived, %d written", id, chk.Next[id], k.Counts[i])
		}
	}
	for _, rc := range ids.Rings() {
		if len(rc.Gaps) != 0 || rc.Duplicates != 0 || rc.Reordered != 0 || rc.FirstSeq != 0 {
			t.Errorf("archive check: %d gaps, %d duplicates, %d reordered, first seq %d",
				len(rc.Gaps), rc.Duplicates, rc.Reordered, rc.FirstSeq)
		}
	}
	k.logf("%d records archived exactly once through %d consumers", total, k.consumers)
	if total != want {
		t.Fatalf("%d records archived, %d written", total, want)
	}
}
