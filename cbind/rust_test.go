package cbind

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/ring"
)

// Cross-process tests of the Rust crate cbind/rust/logbuf-shm (written from
// spec/PROTOCOL.md alone): its testprod program (spec/TEST-RECORDS.md) feeds
// the Go consumer, alone and beside C and Go producer processes, and its
// testcons program consumes what Go, C and Rust producers write.

const rustCrate = "rust/logbuf-shm"

var rustBuild struct {
	once sync.Once
	dir  string // where the copies of the binaries are
	took time.Duration
	err  error
}

// cargo returns the cargo command, or skips the test when there is none.
func cargo(t *testing.T) string {
	t.Helper()
	if path, err := exec.LookPath("cargo"); err == nil {
		return path
	}
	if home, err := os.UserHomeDir(); err == nil {
		path := filepath.Join(home, ".cargo", "bin", "cargo")
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return path
		}
	}
	t.Skip("skipping: cargo not found (neither on PATH nor at ~/.cargo/bin/cargo); " +
		"the Rust producer's cross-process tests need it (.ci/run puts ~/.cargo/bin on PATH)")
	return ""
}

// rustTargetDir is cargo's target directory for the crate at crate (an
// absolute path): a cache that outlives the test run, so that a rerun with
// unchanged sources costs one no-op cargo call instead of a release build
// with LTO, keyed by the crate's path so that two checkouts do not rebuild,
// and overwrite, each other's binaries.
func rustTargetDir(crate, fallback string) string {
	cache, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(fallback, "rust-target")
	}
	sum := sha256.Sum256([]byte(crate))
	return filepath.Join(cache, "logbuf-rust-target", hex.EncodeToString(sum[:8]))
}

// rustProg returns the crate's program name, built once per test binary
// with `cargo build --release --offline`. The binaries are copied out of
// cargo's target directory into this run's build directory, so that a build
// started by another run cannot replace them while they run.
func rustProg(t *testing.T, name string) string {
	t.Helper()
	cargoPath := cargo(t)
	dir := testBuildDir(t)
	rustBuild.once.Do(func() {
		crate, err := filepath.Abs(rustCrate)
		if err != nil {
			rustBuild.err = err
			return
		}
		target := rustTargetDir(crate, dir)
		cmd := exec.Command(cargoPath, "build", "--release", "--offline", "--locked", "--bins", "--quiet")
		cmd.Dir = crate
		cmd.Env = append(os.Environ(),
			"CARGO_TARGET_DIR="+target,
			"CARGO_TERM_COLOR=never",
			// cargo found at ~/.cargo/bin finds rustc beside it.
			"PATH="+filepath.Dir(cargoPath)+string(os.PathListSeparator)+os.Getenv("PATH"))
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		rustBuild.took = time.Since(t0)
		if err != nil {
			rustBuild.err = fmt.Errorf("cargo build --release --offline in %s (CARGO_TARGET_DIR=%s): %v\n%s", crate, target, err, out)
			return
		}
		rustBuild.dir = filepath.Join(dir, "rust")
		if err := os.MkdirAll(rustBuild.dir, 0o755); err != nil {
			rustBuild.err = err
			return
		}
		for _, bin := range []string{"testprod", "testcons", "bench64"} {
			b, err := os.ReadFile(filepath.Join(target, "release", bin))
			if err == nil {
				err = os.WriteFile(filepath.Join(rustBuild.dir, bin), b, 0o755)
			}
			if err != nil {
				rustBuild.err = err
				return
			}
		}
		t.Logf("cargo build --release: %v (target dir %s)", rustBuild.took.Round(time.Millisecond), target)
	})
	if rustBuild.err != nil {
		t.Fatal(rustBuild.err)
	}
	return filepath.Join(rustBuild.dir, name)
}

// TestRustProducerGoConsumer: one Rust testprod process writes 1e6 records
// of random length into an SPSC ring file from abi.Create (2e5 under -race
// or -short); the Go consumer reads them all, in order, intact, of the
// lengths the producer's generator gives, and the Rust producer's counters
// (section 3) add up and its table entry is closed.
func TestRustProducerGoConsumer(t *testing.T) {
	const seed = 0x2545F4914F6CDD1D
	count := scale(1_000_000)
	testprod := rustProg(t, "testprod")
	f, path := createRing(t, 1<<16, abi.SPSC)
	chk := newRecChecker()
	chk.gens[11] = newRecGen(seed, int(f.Region().MaxPayload()))
	p := start(t, procTimeout, testprod, path, "11", strconv.Itoa(count), "0x"+strconv.FormatUint(seed, 16))
	consumeGo(t, f.Region(), count, chk, p)
	p.mustSucceed(t)

	checkSoleProducerDone(t, f, count, "Rust")
}

// TestRustProducerGoRecv: the Go consumer blocks in RecvBatch on a small
// ring, so it parks on consumer_wait and depends on the Rust producer's
// wake-ups (section 7.3); it reads until io.EOF, which it may report only
// after the Rust producer detached from its table entry (section 8).
func TestRustProducerGoRecv(t *testing.T) {
	count := scale(100_000)
	testprod := rustProg(t, "testprod")
	f, path := createRing(t, 1<<12, abi.SPSC)
	chk := newRecChecker()
	chk.gens[12] = newRecGen(1212, int(f.Region().MaxPayload()))
	c, err := ring.NewConsumer(f.Region())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := start(t, procTimeout, testprod, path, "12", strconv.Itoa(count), "1212")
	ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
	defer cancel()
	got := 0
	var bad error
	for {
		n, err := c.RecvBatch(ctx, 256, func(b []byte) {
			if bad == nil {
				bad = chk.check(b)
			}
		})
		got += n
		if err == io.EOF {
			break
		}
		if err != nil {
			_, _, stderr := p.wait()
			t.Fatalf("after %d of %d records: %v (testprod: %s)", got, count, err, stderr)
		}
	}
	p.mustSucceed(t)
	if bad != nil {
		t.Fatal(bad)
	}
	if got != count {
		t.Fatalf("io.EOF after %d records, want %d", got, count)
	}
}

// TestMPSCRustCGo: a Rust, a C and a Go producer process write into one MPSC
// ring file; the Go consumer gets every record exactly once, in order per
// producer, intact, and the producers' counters add up.
func TestMPSCRustCGo(t *testing.T) {
	each := scale(100_000)
	testprod := rustProg(t, "testprod")
	cproducer := cprog(t, "tests/producer.c", false)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, path := createRing(t, 1<<15, abi.MPSC)
	maxPayload := int(f.Region().MaxPayload())
	chk := newRecChecker()
	n := strconv.Itoa(each)
	procs := []*proc{
		start(t, procTimeout, testprod, path, "1", n, "101"),
		start(t, procTimeout, cproducer, path, "2", n, "202"),
		startEnv(t, procTimeout, []string{fmt.Sprintf("%s=%s 3 %d 303", childEnv, path, each)}, exe, "-test.run=^$"),
	}
	for id := uint32(1); id <= 3; id++ {
		chk.gens[id] = newRecGen(uint64(101*id), maxPayload)
	}
	consumeGo(t, f.Region(), 3*each, chk, procs...)
	for _, p := range procs {
		p.mustSucceed(t)
	}
	for id := uint32(1); id <= 3; id++ {
		if chk.next[id] != uint64(each) {
			t.Errorf("producer %d: %d records, want %d", id, chk.next[id], each)
		}
	}
	s := ring.ReadStats(f.Region())
	if s.RecordsWritten != uint64(3*each) || s.RecordsRead != uint64(3*each) || s.BytesWritten != s.BytesRead {
		t.Errorf("counters: written %d records %d bytes, read %d records %d bytes; want %d records",
			s.RecordsWritten, s.BytesWritten, s.RecordsRead, s.BytesRead, 3*each)
	}
	if s.Producers != 0 || s.Used != 0 {
		t.Errorf("after the end: %d producers attached, %d bytes in the ring", s.Producers, s.Used)
	}
	t.Logf("%d records, %d full events", s.RecordsRead, s.FullEvents)
}

// TestRustSPSCOneProducer: the one-producer rule of section 8 holds between
// Go and Rust: while a Go producer is attached to an SPSC ring file, testprod
// refuses to attach, and it may once the Go one has closed.
func TestRustSPSCOneProducer(t *testing.T) {
	oneSPSCProducer(t, rustProg(t, "testprod"), 1)
}

// TestGoProducerRustConsumer: a Go producer writes into a small SPSC ring
// file that the Rust consumer (testcons) drains and checks; on a ring this
// small the consumer parks on consumer_wait and depends on the Go
// producer's wake-ups (section 7.1), and the Go producer on its releases.
func TestGoProducerRustConsumer(t *testing.T) {
	goProducerTo(t, "Rust", rustProg(t, "testcons"), 1<<12)
}

// TestMPSCToRustConsumer: a Rust, a C and a Go producer process write into
// one MPSC ring file; the Rust consumer gets every record exactly once, in
// order per producer, intact.
func TestMPSCToRustConsumer(t *testing.T) {
	each := scale(50_000)
	testprod := rustProg(t, "testprod")
	testcons := rustProg(t, "testcons")
	cproducer := cprog(t, "tests/producer.c", false)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, path := createRing(t, 1<<13, abi.MPSC)
	n := strconv.Itoa(each)
	procs := []*proc{
		start(t, procTimeout, testprod, path, "1", n, "101"),
		start(t, procTimeout, cproducer, path, "2", n, "202"),
		startEnv(t, procTimeout, []string{fmt.Sprintf("%s=%s 3 %d 303", childEnv, path, each)}, exe, "-test.run=^$"),
	}
	// The consumer starts once all three have attached: a producer that
	// comes after the others left, with the ring drained, comes after the
	// end of the stream (spec section 8), which testcons would take as the
	// end. Until then the 8 KiB ring is full and they wait for a consumer.
	for deadline := time.Now().Add(procTimeout); len(ring.ReadStats(f.Region()).Entries) < 3; {
		if time.Now().After(deadline) {
			t.Fatal("the three producers did not attach")
		}
		time.Sleep(time.Millisecond)
	}
	c := start(t, procTimeout, testcons, path, strconv.Itoa(3*each))
	for _, p := range procs {
		p.mustSucceed(t)
	}
	out := c.mustSucceed(t)
	want := fmt.Sprintf("ok %d\nproducer 1 %d\nproducer 2 %d\nproducer 3 %d\n", 3*each, each, each, each)
	if out != want {
		t.Fatalf("Rust consumer said %q, want %q", out, want)
	}
	if s := ring.ReadStats(f.Region()); s.RecordsRead != s.RecordsWritten || s.BytesRead != s.BytesWritten || s.Used != 0 {
		t.Errorf("counters: written %d records %d bytes, read %d records %d bytes, %d bytes left",
			s.RecordsWritten, s.BytesWritten, s.RecordsRead, s.BytesRead, s.Used)
	}
}

// TestRustConsumerRefusesLiveGoConsumer: one consumer at a time (spec
// section 8). While a Go consumer holds the ring, the Rust consumer is
// refused (exit 6), naming the Go consumer's pid; once it detaches, the
// Rust consumer attaches.
func TestRustConsumerRefusesLiveGoConsumer(t *testing.T) {
	testcons := rustProg(t, "testcons")
	f, path := createRing(t, 1<<12, abi.SPSC)
	c, err := ring.NewConsumer(f.Region())
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr := start(t, procTimeout, testcons, path, "1").wait()
	want := fmt.Sprintf("already has a live consumer (pid %d)", os.Getpid())
	if code != 6 || !strings.Contains(stderr, want) {
		t.Fatalf("testcons with a live Go consumer exited %d (%q), want 6 and %q", code, stderr, want)
	}
	c.Close()
	produceOne(t, f.Region())
	if out := start(t, procTimeout, testcons, path, "1").mustSucceed(t); out != "ok 1\nproducer 1 1\n" {
		t.Fatalf("testcons said %q", out)
	}
}

// produceOne writes one test record (producer 1, sequence 0) with a Go SPSC
// producer, which then detaches.
func produceOne(t *testing.T, r *abi.Region) {
	t.Helper()
	p, err := ring.NewSPSCProducer(r)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := produceGo(p, 1, 1, 1); err != nil {
		t.Fatal(err)
	}
}

// waitRustConsumer waits until the Rust consumer process p holds the
// ring's consumer record and has released at least released records.
func waitRustConsumer(t *testing.T, r *abi.Region, p *proc, released uint64) {
	t.Helper()
	deadline := time.Now().Add(procTimeout)
	for {
		s := ring.ReadStats(r)
		if s.ConsumerParty.Held && int(s.ConsumerParty.Lease.PID()) == p.cmd.Process.Pid && s.RecordsRead >= released {
			return
		}
		if time.Now().After(deadline) {
			p.cmd.Process.Kill()
			_, out, e := p.wait()
			t.Fatalf("the Rust consumer never held the ring with %d records read (consumer %v, %d read): %s %s",
				released, s.ConsumerParty.Lease, s.RecordsRead, out, e)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGoConsumerRefusesLiveRustConsumer: while the Rust consumer holds the
// ring, ring.NewConsumer is refused with ErrConsumerBusy naming its pid.
func TestGoConsumerRefusesLiveRustConsumer(t *testing.T) {
	testcons := rustProg(t, "testcons")
	f, path := createRing(t, 1<<12, abi.SPSC)
	rc := start(t, procTimeout, testcons, path, "1")
	waitRustConsumer(t, f.Region(), rc, 0)
	_, err := ring.NewConsumer(f.Region())
	if !errors.Is(err, ring.ErrConsumerBusy) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", rc.cmd.Process.Pid)) {
		t.Fatalf("NewConsumer beside a live Rust consumer: %v, want ErrConsumerBusy naming pid %d", err, rc.cmd.Process.Pid)
	}
	produceOne(t, f.Region())
	rc.mustSucceed(t)
}

// takeOverAndRead attaches a Go consumer to a ring whose Rust consumer was
// killed (a take-over, spec section 8; it finishes the dead consumer's
// release, 7.2) and reads until the Go producer is done and the ring
// drained. Every record must be the next of the producer's sequence, and
// the ring's sequence number too: the records the dead consumer released
// are not seen again, and none is skipped. It returns the sequence number
// of the first record it read.
func takeOverAndRead(t *testing.T, r *abi.Region, count int, produced <-chan error) uint64 {
	t.Helper()
	c, err := ring.NewConsumer(r)
	if err != nil {
		t.Fatalf("taking over from a killed Rust consumer: %v", err)
	}
	defer c.Close()
	first := r.Header().ReadRecords.Load()
	next := first
	ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
	defer cancel()
	for {
		rec, err := c.Recv(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after sequence %d: %v", next, err)
		}
		id, seq, err := checkRecord(rec.Bytes())
		if err != nil || id != 1 || seq != next || rec.Seq() != next {
			t.Fatalf("record %d: producer %d seq %d, ring seq %d (%v)", next, id, seq, rec.Seq(), err)
		}
		next++
	}
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	if next != uint64(count) {
		t.Fatalf("end of stream after sequence %d, want %d", next, count)
	}
	return first
}

// produceInBackground runs a Go SPSC producer of count records (id 1) in a
// goroutine; the channel gets its error once it has detached.
func produceInBackground(t *testing.T, r *abi.Region, count int) <-chan error {
	t.Helper()
	p, err := ring.NewSPSCProducer(r)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		err := produceGo(p, 1, count, 7)
		p.Close()
		done <- err
	}()
	return done
}

// TestRustConsumerKilledTakenOver: a Rust consumer reads and releases
// exactly STOP records and is SIGKILLed while attached; a Go consumer takes
// the dead consumer's record over and reads every record from sequence
// STOP on: nothing lost, nothing read twice.
func TestRustConsumerKilledTakenOver(t *testing.T) {
	const count, stop = 20_000, 5_000
	testcons := rustProg(t, "testcons")
	f, path := createRing(t, 1<<12, abi.SPSC)
	produced := produceInBackground(t, f.Region(), count)
	rc := start(t, procTimeout, testcons, path, strconv.Itoa(count), strconv.Itoa(stop))
	waitRustConsumer(t, f.Region(), rc, stop)
	rc.cmd.Process.Kill()
	rc.wait()
	if first := takeOverAndRead(t, f.Region(), count, produced); first != stop {
		t.Fatalf("the Go consumer started at sequence %d, want %d", first, stop)
	}
}

// TestRustConsumerKilledAnyTime: the Rust consumer is SIGKILLed at a random
// moment while it reads a stream, several times: in a batch, between its
// records, or while it zeroes one (spec 7.2's releasing words then describe
// a release it began). The Go consumer that takes over must continue the
// sequence exactly where the dead one's releases ended.
func TestRustConsumerKilledAnyTime(t *testing.T) {
	testcons := rustProg(t, "testcons")
	rounds, count := 20, 50_000
	if testing.Short() {
		rounds = 5
	}
	midRelease := 0
	for round := range rounds {
		f, path := createRing(t, 1<<12, abi.SPSC)
		produced := produceInBackground(t, f.Region(), count)
		rc := start(t, procTimeout, testcons, path, strconv.Itoa(count))
		waitRustConsumer(t, f.Region(), rc, 1)
		time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
		rc.cmd.Process.Kill()
		rc.wait()
		h := f.Region().Header()
		if h.Releasing.Load() != h.Head.Load() {
			midRelease++
		}
		first := takeOverAndRead(t, f.Region(), count, produced)
		t.Logf("round %d: killed after %d records", round, first)
	}
	t.Logf("%d of %d kills left a release under way for the next consumer to finish", midRelease, rounds)
}
