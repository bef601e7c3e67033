package cbind

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/ring"
)

// Cross-process tests: C producers, C consumer, Go producers in other
// processes, all on ring files. Each program runs with a deadline, so a lost
// record fails the test instead of hanging it.

const procTimeout = 90 * time.Second

// scale returns n, or n/5 under -race or -short: the race detector slows the
// Go consumer's per-byte checks about tenfold.
func scale(n int) int {
	if raceEnabled || testing.Short() {
		return n / 5
	}
	return n
}

func createRing(t *testing.T, capacity uint64, mode abi.Mode) (*abi.File, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.ring")
	f, err := abi.Create(path, capacity, mode, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, path
}

// claimer is what Producer and MPSCProducer have in common.
// produceGo writes count test records as producer id, retrying a full ring.
func produceGo(p ring.Producer, id uint32, count int, seed uint64) error {
	g := newRecGen(seed, p.MaxPayload())
	for seq := 0; seq < count; seq++ {
		n := g.NextLen()
		for {
			c, err := p.TryClaim(n)
			if err == ring.ErrFull {
				runtime.Gosched()
				continue
			}
			if err != nil {
				return fmt.Errorf("producer %d seq %d: %w", id, seq, err)
			}
			fillRecord(c.Bytes(), id, uint64(seq))
			if err := c.Commit(); err != nil {
				return fmt.Errorf("producer %d seq %d: commit: %w", id, seq, err)
			}
			break
		}
	}
	return nil
}

// consumeGo reads want records with a Go consumer and checks each. It fails
// if no record comes for 30 seconds, or if a producer process given in procs
// exits non-zero first.
func consumeGo(t *testing.T, r *abi.Region, want int, chk *recChecker, procs ...*proc) {
	t.Helper()
	c, err := ring.NewConsumer(r)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, idle := 0, 0
	last := time.Now()
	var bad error
	for got < want && bad == nil {
		n, err := c.ReadBatch(min(256, want-got), func(b []byte) {
			if bad == nil {
				bad = chk.check(b)
			}
		})
		got += n
		if err != nil {
			t.Fatalf("after %d of %d records: %v", got, want, err)
		}
		if n > 0 {
			idle, last = 0, time.Now()
			continue
		}
		if idle++; idle < 100 {
			runtime.Gosched()
			continue
		}
		if time.Since(last) > 30*time.Second {
			for _, p := range procs {
				p.cmd.Process.Kill()
				_, _, e := p.wait()
				t.Logf("%s: %s", p.cmd.Args[0], e)
			}
			t.Fatalf("no record for 30 s after %d of %d", got, want)
		}
		time.Sleep(50 * time.Microsecond)
	}
	if bad != nil {
		t.Fatalf("after %d records: %v", got, bad)
	}
}

// TestCProducerGoConsumer: one C producer process writes 1e6 records of
// random length into an SPSC ring file (2e5 under -race or -short); the Go
// consumer in the test process reads them all, in order, intact, of the
// lengths the producer's generator gives, and the C producer's counters
// (section 3) add up.
func TestCProducerGoConsumer(t *testing.T) {
	const seed = 0x9E3779B97F4A7C15
	count := scale(1_000_000)
	producer := cprog(t, "tests/producer.c", false)
	f, path := createRing(t, 1<<16, abi.SPSC)
	chk := newRecChecker()
	chk.gens[7] = newRecGen(seed, int(f.Region().MaxPayload()))
	p := start(t, procTimeout, producer, path, "7", strconv.Itoa(count), strconv.FormatUint(seed, 10))
	consumeGo(t, f.Region(), count, chk, p)
	p.mustSucceed(t)

	checkSoleProducerDone(t, f, count, "C")
}

// checkSoleProducerDone checks a drained ring that one producer process of
// the named language wrote count records into: the counters agree, and the
// producer closed its table entry (slot 0).
func checkSoleProducerDone(t *testing.T, f *abi.File, count int, lang string) {
	t.Helper()
	s := ring.ReadStats(f.Region())
	if s.RecordsWritten != uint64(count) || s.RecordsRead != uint64(count) || s.BytesWritten != s.BytesRead {
		t.Errorf("counters: written %d records %d bytes, read %d records %d bytes; want %d records",
			s.RecordsWritten, s.BytesWritten, s.RecordsRead, s.BytesRead, count)
	}
	if s.Producers != 0 || len(s.Entries) == 0 || s.Entries[0].Lease.State() != abi.StateDetached {
		t.Errorf("the %s producer did not close its table entry: %d attached", lang, s.Producers)
	}
	t.Logf("%d records, %d bytes, %d full events", s.RecordsRead, s.BytesRead, s.FullEvents)
}

// TestMPSCMixed: three C producer processes (one aborting a claim before every
// third record) and a Go producer goroutine write into one MPSC ring file;
// every record arrives exactly once, in order per producer, intact.
func TestMPSCMixed(t *testing.T) {
	each := scale(100_000)
	producer := cprog(t, "tests/producer.c", false)
	f, path := createRing(t, 1<<15, abi.MPSC)
	chk := newRecChecker()
	var procs []*proc
	for id := 1; id <= 3; id++ {
		args := []string{path, strconv.Itoa(id), strconv.Itoa(each), strconv.Itoa(1000 + id)}
		if id == 2 {
			args = append(args, "3")
		}
		procs = append(procs, start(t, procTimeout, producer, args...))
		chk.gens[uint32(id)] = newRecGen(uint64(1000+id), int(f.Region().MaxPayload()))
	}
	gp, err := ring.NewMPSCProducer(f.Region())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var goErr error
	wg.Go(func() {
		goErr = produceGo(gp, 4, each, 4004)
		gp.Close()
	})
	chk.gens[4] = newRecGen(4004, gp.MaxPayload())
	consumeGo(t, f.Region(), 4*each, chk, procs...)
	wg.Wait()
	if goErr != nil {
		t.Fatal(goErr)
	}
	for _, p := range procs {
		p.mustSucceed(t)
	}
	for id := uint32(1); id <= 4; id++ {
		if chk.next[id] != uint64(each) {
			t.Errorf("producer %d: %d records, want %d", id, chk.next[id], each)
		}
	}
	if s := ring.ReadStats(f.Region()); s.Aborts != uint64((each+2)/3) {
		t.Errorf("aborts counter %d, want %d", s.Aborts, (each+2)/3)
	}
}

// TestGoProducerCConsumer: a Go producer writes into an SPSC ring file that a
// C consumer process drains and checks.
func TestGoProducerCConsumer(t *testing.T) {
	goProducerTo(t, "C", cprog(t, "tests/consumer.c", false), 1<<16)
}

// goProducerTo writes test records from a Go producer into a new SPSC ring
// file of the given capacity while consumer, a program (tests/consumer.c or
// the Rust crate's testcons) that takes the ring file and a count, drains
// and checks them; then it checks that every record was read and released.
func goProducerTo(t *testing.T, lang, consumer string, capacity uint64) {
	t.Helper()
	count := scale(200_000)
	f, path := createRing(t, capacity, abi.SPSC)
	c := start(t, procTimeout, consumer, path, strconv.Itoa(count))
	p, err := ring.NewSPSCProducer(f.Region())
	if err != nil {
		t.Fatal(err)
	}
	if err := produceGo(p, 9, count, 99); err != nil {
		t.Fatal(err)
	}
	p.Close()
	out := c.mustSucceed(t)
	if want := fmt.Sprintf("ok %d\nproducer 9 %d\n", count, count); out != want {
		t.Fatalf("%s consumer said %q, want %q", lang, out, want)
	}
	if s := ring.ReadStats(f.Region()); s.RecordsRead != uint64(count) || s.Used != 0 {
		t.Errorf("after the %s consumer: %d records read, %d bytes in the ring; want %d, 0", lang, s.RecordsRead, s.Used, count)
	}
}

// TestSanitized runs C producers and the C consumer built with
// AddressSanitizer and UndefinedBehaviorSanitizer against each other on an
// MPSC ring, so that the consumer's parking and the producers' wake-ups
// (section 7.1) run too.
func TestSanitized(t *testing.T) {
	each := scale(50_000)
	producer := cprog(t, "tests/producer.c", true)
	consumer := cprog(t, "tests/consumer.c", true)
	_, path := createRing(t, 1<<12, abi.MPSC)
	c := start(t, procTimeout, consumer, path, strconv.Itoa(2*each))
	p1 := start(t, procTimeout, producer, path, "1", strconv.Itoa(each), "11", "5")
	p2 := start(t, procTimeout, producer, path, "2", strconv.Itoa(each), "22")
	p1.mustSucceed(t)
	p2.mustSucceed(t)
	out := c.mustSucceed(t)
	if want := fmt.Sprintf("ok %d\nproducer 1 %d\nproducer 2 %d\n", 2*each, each, each); out != want {
		t.Fatalf("C consumer said %q, want %q", out, want)
	}
}

// childEnv makes the test binary a Go producer process:
// "PATH ID COUNT SEED", for TestGoProcesses.
const childEnv = "LOGBUF_CBIND_CHILD_PRODUCER"

// childProducer is the re-executed test binary's job: open the ring file and
// write test records, as the C producer does.
func childProducer(spec string) int {
	f := strings.Fields(spec)
	if len(f) != 4 {
		fmt.Fprintf(os.Stderr, "child: bad %s=%q\n", childEnv, spec)
		return 1
	}
	id, _ := strconv.ParseUint(f[1], 10, 32)
	count, _ := strconv.Atoi(f[2])
	seed, _ := strconv.ParseUint(f[3], 10, 64)
	file, err := abi.OpenFile(f[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	defer file.Close()
	p, err := ring.OpenProducer(file.Region())
	if err == nil {
		err = produceGo(p, uint32(id), count, seed)
		p.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	return 0
}

// TestGoProcesses: a Go producer process (this test binary, re-executed) and
// the Go consumer in the test process share an SPSC ring file.
func TestGoProcesses(t *testing.T) {
	count := scale(200_000)
	f, path := createRing(t, 1<<16, abi.SPSC)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env := fmt.Sprintf("%s=%s 5 %d 55", childEnv, path, count)
	p := startEnv(t, procTimeout, []string{env}, exe, "-test.run=^$")
	chk := newRecChecker()
	chk.gens[5] = newRecGen(55, int(f.Region().MaxPayload()))
	consumeGo(t, f.Region(), count, chk, p)
	p.mustSucceed(t)
}

// TestSPSCOneProducer: while a Go producer is attached to an SPSC ring file, a
// C producer refuses to attach (spec section 8), and it may once the Go one
// has closed.
func TestSPSCOneProducer(t *testing.T) {
	oneSPSCProducer(t, cprog(t, "tests/producer.c", false), 2)
}

// oneSPSCProducer runs prog (a test producer taking RING-FILE ID COUNT SEED)
// against an SPSC ring file a Go producer holds: it must exit with code
// refused and say why, and succeed once the Go producer has closed.
func oneSPSCProducer(t *testing.T, prog string, refused int) {
	t.Helper()
	f, path := createRing(t, 1<<12, abi.SPSC)
	p, err := ring.NewSPSCProducer(f.Region())
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr := start(t, procTimeout, prog, path, "1", "1", "1").wait()
	if code != refused || !strings.Contains(stderr, "already has a live producer") {
		t.Fatalf("second SPSC producer exited %d (%q), want %d and a refusal", code, stderr, refused)
	}
	p.Close()
	start(t, procTimeout, prog, path, "1", "1", "1").mustSucceed(t)
}
