package cbind

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/internal/testrig"
	"github.com/logbuf/logbuf/ring"
)

// Cross-process tests of spec section 8 between C and Go: one consumer at a
// time, and a consumer killed by SIGKILL taken over by the next, with nothing
// lost and nothing read twice (section 7.2).

// exitBusy is tests/consumer.c's exit status when the ring has a live
// consumer.
const exitBusy = 5

// TestCConsumerRefusesGo: while a Go consumer holds a ring, a C consumer is
// refused and names the Go process; while a C consumer holds it, a Go
// consumer is refused with ErrConsumerBusy naming the C process.
func TestCConsumerRefusesGo(t *testing.T) {
	consumer := cprog(t, "tests/consumer.c", true)
	f, path := createRing(t, 1<<12, abi.SPSC)

	gc, err := ring.NewConsumer(f.Region())
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr := start(t, procTimeout, consumer, path, "1").wait()
	if want := fmt.Sprintf("live consumer (pid %d)", os.Getpid()); code != exitBusy || !strings.Contains(stderr, want) {
		t.Fatalf("C consumer beside a Go one exited %d saying %q; want %d and %q", code, stderr, exitBusy, want)
	}
	gc.Close()

	// A C consumer that waits for one record holds the ring meanwhile.
	p := start(t, procTimeout, consumer, path, "1")
	waitFor(t, "the C consumer to attach", func() bool {
		l := ring.ReadStats(f.Region()).ConsumerParty.Lease
		return l.State() == abi.StateAttached && int(l.PID()) == p.cmd.Process.Pid
	})
	_, err = ring.NewConsumer(f.Region())
	var busy *ring.BusyError
	if !errors.Is(err, ring.ErrConsumerBusy) || !errors.As(err, &busy) || int(busy.Lease.PID()) != p.cmd.Process.Pid {
		t.Fatalf("Go consumer beside a C one (pid %d): %v; want ErrConsumerBusy naming it", p.cmd.Process.Pid, err)
	}
	gp, err := ring.NewSPSCProducer(f.Region())
	if err != nil {
		t.Fatal(err)
	}
	defer gp.Close()
	if err := produceGo(gp, 3, 1, 33); err != nil {
		t.Fatal(err)
	}
	if out := p.mustSucceed(t); out != "ok 1\nproducer 3 1\n" {
		t.Fatalf("C consumer said %q", out)
	}
}

// waitFor polls cond every millisecond for up to procTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(procTimeout); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// TestCConsumerKilled: a C producer writes records into a small SPSC ring
// while C consumers read them, each killed with SIGKILL after a random
// moment (in the middle of a read, a callback, a release or a park), and
// the next one takes over the dead one's consumer record. Each new C
// consumer checks that the first record it reads is the ring's sequence
// read_records (nothing lost, nothing delivered twice: spec 7.2); a Go
// consumer takes over the last one and reads the rest. The producer keeps
// waiting whenever no consumer is attached (section 8). 300000 records
// (60000 under -race or -short), 30 kills.
func TestCConsumerKilled(t *testing.T) {
	count := scale(300_000)
	producer := cprog(t, "tests/producer.c", false)
	consumer := cprog(t, "tests/consumer.c", false)
	f, path := createRing(t, 1<<12, abi.SPSC)
	prod := start(t, procTimeout, producer, path, "1", strconv.Itoa(count), "77")
	rng := rand.New(rand.NewPCG(7, 7))
	kills := 0
	for ; kills < 30; kills++ {
		c := start(t, procTimeout, consumer, path, strconv.Itoa(count), "resume")
		// Up to 30 ms: the consumer must have attached by then, or it is
		// killed before its first record, which tests attaching too.
		time.Sleep(time.Duration(rng.IntN(30_000)) * time.Microsecond)
		c.cmd.Process.Signal(syscall.SIGKILL)
		code, out, stderr := c.wait()
		if code == 0 {
			t.Logf("consumer %d finished before its kill: %s", kills, out)
			break
		}
		if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("consumer %d exited %d: %s%s", kills, code, out, stderr)
		}
	}
	before := ring.ReadStats(f.Region()).RecordsRead

	// A Go consumer takes over the last C consumer's record (finishing its
	// release if it died in one) and reads on from read_records.
	gc, err := ring.NewConsumer(f.Region())
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()
	from := ring.ReadStats(f.Region()).RecordsRead
	t.Logf("%d consumers killed; read_records %d of %d (%d more after finishing a release)", kills, from, count, from-before)
	for seq := from; seq < uint64(count); {
		rec, err := gc.RecvTimeout(30 * time.Second)
		if err != nil {
			t.Fatalf("after sequence %d: %v", seq, err)
		}
		id, pseq, err := checkRecord(rec.Bytes())
		if err == nil && (id != 1 || pseq != seq || rec.Seq() != seq) {
			err = fmt.Errorf("producer %d record %d at ring sequence %d, want producer 1 record %d", id, pseq, rec.Seq(), seq)
		}
		if err != nil {
			t.Fatal(err)
		}
		seq++
	}
	prod.mustSucceed(t)
	if _, err := gc.RecvTimeout(30 * time.Second); err != io.EOF {
		t.Fatalf("after the last record: %v, want io.EOF", err)
	}
	if s := ring.ReadStats(f.Region()); s.RecordsRead != uint64(count) || s.Head != s.Tail {
		t.Errorf("read_records %d, head %d, tail %d; want %d records, all released", s.RecordsRead, s.Head, s.Tail, count)
	}
}

// TestCProducerKilledGoConsumer: a C producer process writes 1,000,000
// records into a 64 KiB SPSC ring (full most of the time) while its
// consumer, a Go drain into an archive, is SIGKILLed and restarted 20
// times and SIGTERMed and restarted 5 times (drain's TestKillConsumer with
// the producer in C). The C producer waits for each new consumer and
// writes every record; the archive holds each exactly once, in order.
func TestCProducerKilledGoConsumer(t *testing.T) {
	count := scale(1_000_000)
	producer := cprog(t, "tests/producer.c", false)
	_, path := createRing(t, 64<<10, abi.SPSC)
	prod := exec.Command(producer, path, "1", strconv.Itoa(count), "91")
	prod.Stderr = os.Stderr
	if err := prod.Start(); err != nil {
		t.Fatal(err)
	}
	k := &testrig.KillRun{Ring: path, Kills: 20, Terms: 5, Gap: 60 * time.Millisecond, Seed: 91,
		Producers: []*exec.Cmd{prod}, IDs: []uint32{1}, Counts: []uint64{uint64(count)},
		Log: func(s string) { t.Log(s) }}
	k.Run(t)
}
