package ring

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logbuf/logbuf/abi"
	"golang.org/x/sys/unix"
)

// Cross-process tests. Go producers in other processes are this test binary
// run again with LOGBUF_RING_CHILD naming their role (TestHelperProcess);
// the C producer is testdata/wake_producer.c, built with cbind/logbuf.h.

const childEnv = "LOGBUF_RING_CHILD"

// TestHelperProcess is not a test: it is the body of the child processes.
func TestHelperProcess(t *testing.T) {
	role := os.Getenv(childEnv)
	if role == "" {
		t.Skip("the child process of the cross-process tests")
	}
	err := runChild(role)
	if err != nil {
		fmt.Fprintf(os.Stderr, "child %s: %v\n", role, err)
		os.Exit(2)
	}
	os.Exit(0)
}

func envInt(name string) int {
	n, _ := strconv.Atoi(os.Getenv(name))
	return n
}

func runChild(role string) error {
	f, err := abi.OpenFile(os.Getenv("LOGBUF_RING"))
	if err != nil {
		return err
	}
	if role == "consumer" {
		return runConsumerChild(f.Region())
	}
	p, err := OpenProducer(f.Region())
	if err != nil {
		return err
	}
	ctx := context.Background()
	id := uint64(envInt("LOGBUF_ID"))
	switch role {
	case "pingpong":
		// TestNoLostWakeupsCrossProcess's producer; LOGBUF_SEQCST=1 forces
		// the sequentially consistent commits of a failed registration.
		if os.Getenv("LOGBUF_SEQCST") == "1" {
			forceSeqCstCommits()
		} else if !releaseCommits {
			return fmt.Errorf("membarrier registration failed: release commits are not tested")
		}
		if err := pingPongProduce(p.(claimer), f.Region().Header(), envInt("LOGBUF_COUNT")); err != nil {
			return err
		}
	case "wake":
		// COUNT records of 16 bytes: commit time (CLOCK_MONOTONIC) and
		// sequence number, GAP_US apart.
		gap := time.Duration(envInt("LOGBUF_GAP_US")) * time.Microsecond
		for seq := range envInt("LOGBUF_COUNT") {
			time.Sleep(gap)
			cl, err := p.Claim(ctx, 16)
			if err != nil {
				return err
			}
			binary.LittleEndian.PutUint64(cl.Bytes()[8:], uint64(seq))
			binary.LittleEndian.PutUint64(cl.Bytes(), monoNow())
			if err := cl.Commit(); err != nil {
				return err
			}
		}
	case "survivor":
		// Writes self-checking records until its stdin closes, then
		// closes and prints how many it committed.
		var stop atomic.Bool
		go func() {
			io.Copy(io.Discard, os.Stdin)
			stop.Store(true)
		}()
		buf := make([]byte, 64)
		seq := uint64(0)
		for !stop.Load() {
			b := buf[:24+seq%40]
			stressRecord(b, id, seq)
			cl, err := p.Claim(ctx, len(b))
			if err != nil {
				return err
			}
			copy(cl.Bytes(), b)
			switch err := cl.Commit(); err {
			case nil:
				seq++
			case ErrDiscarded: // stalled past the unblock timeout: send it again
			default:
				return err
			}
			if seq%16 == 0 {
				time.Sleep(200 * time.Microsecond)
			}
		}
		p.Close()
		fmt.Println(seq)
	case "victim":
		// Writes records until killed. With LOGBUF_HOLD=k, its record k
		// stops after a random part of its payload, says "claimed", and
		// waits there to be killed.
		fmt.Println("ready")
		rng := rand.New(rand.NewPCG(id, uint64(os.Getpid())))
		hold := uint64(envInt("LOGBUF_HOLD"))
		buf := make([]byte, 64)
		for seq := uint64(0); ; seq++ {
			b := buf[:24+rng.IntN(40)]
			stressRecord(b, id, seq)
			cl, err := p.Claim(ctx, len(b))
			if err != nil {
				return err
			}
			// The payload in two parts with a pause between, so that a
			// kill at a random time often lands inside a claim.
			half := rng.IntN(len(b) + 1)
			copy(cl.Bytes()[:half], b)
			if hold > 0 && seq == hold-1 {
				fmt.Println("claimed")
				time.Sleep(time.Minute)
			}
			time.Sleep(time.Duration(rng.IntN(300)) * time.Microsecond)
			copy(cl.Bytes()[half:], b[half:])
			if err := cl.Commit(); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("unknown role")
	}
	p.Close()
	return f.Close()
}

// needReexec skips a test that runs this test binary as a child process when
// the binary cannot be executed directly: under qemu-user without binfmt
// registration, as CI runs the arm64 build, exec fails with ENOEXEC.
func needReexec(t *testing.T) {
	t.Helper()
	reexecOnce.Do(func() {
		err := exec.Command(os.Args[0], "-test.run=^$").Run()
		reexecErr = err
	})
	if errors.Is(reexecErr, unix.ENOEXEC) {
		t.Skipf("cannot re-execute the test binary here: %v", reexecErr)
	}
}

var (
	reexecOnce sync.Once
	reexecErr  error
)

// child prepares this test binary as a child process in the given role.
func child(role, ring string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+role, "LOGBUF_RING="+ring)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	return cmd
}

func createFile(t testing.TB, capacity uint64, mode abi.Mode) (*abi.File, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.ring")
	f, err := abi.Create(path, capacity, mode, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, path
}

var cWake struct {
	once sync.Once
	path string
	err  error
}

// cWakeProducer builds testdata/wake_producer.c once, or skips the test
// when there is no C compiler.
func cWakeProducer(t testing.TB) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) on PATH: the C producer is not tested")
	}
	cWake.once.Do(func() {
		dir, err := os.MkdirTemp("", "logbuf-ring-")
		if err != nil {
			cWake.err = err
			return
		}
		cWake.path = filepath.Join(dir, "wake_producer")
		out, err := exec.Command(cc, "-O2", "-std=c11", "-Wall", "-Werror", "-I", "../cbind",
			"-o", cWake.path, "testdata/wake_producer.c").CombinedOutput()
		if err != nil {
			cWake.err = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if cWake.err != nil {
		t.Fatal(cWake.err)
	}
	return cWake.path
}

// wakeProducer starts a Go or C producer process writing count timestamped
// records gap apart into the ring file at path.
func wakeProducer(t testing.TB, lang, path string, count int, gap time.Duration) *exec.Cmd {
	var cmd *exec.Cmd
	if lang == "c" {
		cmd = exec.Command(cWakeProducer(t), path, strconv.Itoa(count), strconv.Itoa(int(gap/time.Microsecond)))
		cmd.Stderr = os.Stderr
	} else {
		cmd = child("wake", path, "LOGBUF_COUNT="+strconv.Itoa(count),
			"LOGBUF_GAP_US="+strconv.Itoa(int(gap/time.Microsecond)))
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// TestCrossProcessWake: a consumer parked on a ring file is woken by a
// producer in another process, Go (MPSC) or C (SPSC), every time; after the
// producer exits, Recv ends with ErrClosed.
func TestCrossProcessWake(t *testing.T) {
	needReexec(t)
	for _, tc := range []struct {
		lang string
		mode abi.Mode
	}{{"go", abi.MPSC}, {"c", abi.SPSC}} {
		t.Run(tc.lang, func(t *testing.T) {
			f, path := createFile(t, 4096, tc.mode)
			c, err := NewConsumer(f.Region())
			if err != nil {
				t.Fatal(err)
			}
			const n = 100
			// 2 ms apart: the consumer parks before each record. A park
			// slice of 10 s: only a wake-up ends a park while records flow.
			c.slice = 10 * time.Second
			cmd := wakeProducer(t, tc.lang, path, n, 2*time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			for i := 0; i < n; i++ {
				r, err := c.Recv(ctx)
				if err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
				if seq := binary.LittleEndian.Uint64(r.Bytes()[8:]); seq != uint64(i) {
					t.Fatalf("record %d has seq %d", i, seq)
				}
			}
			parks, timeouts := c.parks, c.timeouts
			c.slice = 0 // the C producer's close does not wake: find it by the slice
			if err := cmd.Wait(); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Recv(ctx); err != io.EOF {
				t.Fatalf("Recv after the producer exited = %v", err)
			}
			t.Logf("%d records, %d parks, %d timeouts", n, parks, timeouts)
			if timeouts != 0 || parks < n/2 {
				t.Fatalf("%d parks, %d timed out", parks, timeouts)
			}
		})
	}
}

// BenchmarkWakeLatency is the time from a commit in another process to Recv
// returning it in a consumer that was parked: p50 and p99 over b.N records
// written 1 ms apart.
func BenchmarkWakeLatency(b *testing.B) {
	for _, lang := range []string{"go", "c"} {
		b.Run(lang, func(b *testing.B) {
			f, path := createFile(b, 1<<16, abi.SPSC)
			c, err := NewConsumer(f.Region())
			if err != nil {
				b.Fatal(err)
			}
			cmd := wakeProducer(b, lang, path, b.N, time.Millisecond)
			lat := make([]time.Duration, 0, b.N)
			parks := c.parks
			for range b.N {
				r, err := c.Recv(context.Background())
				now := monoNow()
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Duration(now-binary.LittleEndian.Uint64(r.Bytes())))
			}
			if err := cmd.Wait(); err != nil {
				b.Fatal(err)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
			b.ReportMetric(float64(c.parks-parks)/float64(b.N), "parks/op")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// TestKillProducerMidClaim kills producer processes with SIGKILL at random
// points, mostly between claim and commit, while two other producer
// processes keep writing into the same MPSC ring file. Every record the
// survivors committed arrives exactly once and in order, the victims'
// committed records arrive whole, and the consumer is never held up much
// longer than its unblock timeout.
func TestKillProducerMidClaim(t *testing.T) {
	needReexec(t)
	// Five of every six victims are killed while they hold a claim, after
	// a random number of records, a random part of the payload and a
	// random delay; the sixth at a random time.
	kills := 60
	if stressFull() {
		kills = 240
	}
	const timeout = 200 * time.Millisecond
	f, path := createFile(t, 1<<16, abi.MPSC)
	c, err := NewConsumer(f.Region())
	if err != nil {
		t.Fatal(err)
	}
	var unblocked, reported atomic.Int64
	c.SetRecovery(timeout, func(s Stuck) {
		reported.Add(1)
		if s.Recovered {
			unblocked.Add(1)
		}
	})

	// The survivors, ids 1 and 2.
	type survivor struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
		out   strings.Builder
	}
	var sv [2]*survivor
	for i := range sv {
		s := &survivor{cmd: child("survivor", path, "LOGBUF_ID="+strconv.Itoa(i+1))}
		s.stdin, _ = s.cmd.StdinPipe()
		s.cmd.Stdout = &s.out
		if err := s.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sv[i] = s
		defer s.cmd.Process.Kill()
	}

	// The consumer checks every record and measures the longest wait
	// between two records while the survivors write.
	var measuring atomic.Bool
	type result struct {
		got     map[uint64]uint64 // id -> next expected seq
		maxGap  time.Duration
		records int
		err     error
	}
	res := make(chan result, 1)
	go func() {
		r := result{got: map[uint64]uint64{}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		last := time.Now()
		for {
			rec, err := c.Recv(ctx)
			now := time.Now()
			if measuring.Load() {
				r.maxGap = max(r.maxGap, now.Sub(last))
			}
			last = now
			if err != nil {
				if err != io.EOF {
					r.err = err
				}
				res <- r
				return
			}
			b := rec.Bytes()
			id, seq := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
			if crc32.ChecksumIEEE(b[20:]) != binary.LittleEndian.Uint32(b[16:]) {
				r.err = fmt.Errorf("torn record from producer %d seq %d: %x", id, seq, b)
			} else if want := r.got[id]; seq != want {
				r.err = fmt.Errorf("producer %d: seq %d, want %d", id, seq, want)
			}
			if r.err != nil {
				res <- r
				return
			}
			r.got[id] = seq + 1
			r.records++
			if r.got[1] > 0 && r.got[2] > 0 {
				measuring.Store(true)
			}
		}
	}()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for k := 0; k < kills; k++ {
		hold := 0
		if k%6 != 0 {
			hold = 1 + rng.IntN(20)
		}
		cmd := child("victim", path, "LOGBUF_ID="+strconv.Itoa(100+k), "LOGBUF_HOLD="+strconv.Itoa(hold))
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		rd := bufio.NewReader(out)
		expect := func(want string) {
			if line, err := rd.ReadString('\n'); line != want+"\n" {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("victim %d: %q, %v", k, line, err)
			}
		}
		expect("ready")
		if hold > 0 {
			expect("claimed")
			time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
		} else {
			time.Sleep(time.Duration(rng.IntN(20_000)) * time.Microsecond)
		}
		cmd.Process.Kill()
		cmd.Wait() // reaped: a zombie would still count as alive to kill(pid, 0)
	}
	// Let the last victim's claim be recovered with the survivors writing,
	// then stop them.
	time.Sleep(2 * timeout)
	measuring.Store(false)
	want := map[uint64]uint64{}
	for i, s := range sv {
		s.stdin.Close()
		if err := s.cmd.Wait(); err != nil {
			t.Fatalf("survivor %d: %v", i+1, err)
		}
		n, err := strconv.ParseUint(strings.TrimSpace(s.out.String()), 10, 64)
		if err != nil {
			t.Fatalf("survivor %d said %q", i+1, s.out.String())
		}
		want[uint64(i+1)] = n
	}
	var r result
	select {
	case r = <-res:
	case <-time.After(2 * time.Minute):
		t.Fatal("the consumer did not reach the end of the ring")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	for id, n := range want {
		if r.got[id] != n {
			t.Errorf("survivor %d committed %d records, the consumer got %d", id, n, r.got[id])
		}
	}
	st := c.Stats()
	t.Logf("%d kills: %d records (survivors %d + %d), %d unblocks (%d reports), longest wait %v",
		kills, r.records, want[1], want[2], st.Unblocks, reported.Load(), r.maxGap)
	if st.Unblocks != uint64(unblocked.Load()) || st.Unblocks < uint64(kills*5/6) {
		t.Errorf("header unblocks %d, reported recoveries %d", st.Unblocks, unblocked.Load())
	}
	if r.maxGap > timeout+2*time.Second { // loose: a wedged consumer waits forever
		t.Errorf("the consumer waited %v for a record", r.maxGap)
	}
}

// runConsumerChild tries to attach a consumer and says how it went on
// stdout: "busy PID" when a live consumer holds the ring, "attached"
// otherwise (then it waits for stdin to close, holding the ring).
func runConsumerChild(r *abi.Region) error {
	c, err := NewConsumer(r)
	var busy *BusyError
	if errors.As(err, &busy) && errors.Is(err, ErrConsumerBusy) {
		fmt.Printf("busy %d\n", busy.Lease.PID())
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Println("attached")
	io.Copy(io.Discard, os.Stdin)
	return c.Close()
}

// TestConsumerExclusiveProcesses: a consumer in another process is refused
// while this one holds the ring, and told its pid; once this one detaches,
// the other attaches, and this process is then refused (spec section 8).
func TestConsumerExclusiveProcesses(t *testing.T) {
	needReexec(t)
	f, path := createFile(t, 4096, abi.MPSC)
	c, err := NewConsumer(f.Region())
	if err != nil {
		t.Fatal(err)
	}
	out, err := child("consumer", path).Output()
	if want := fmt.Sprintf("busy %d\n", os.Getpid()); err != nil || string(out) != want {
		t.Fatalf("second consumer in another process said %q, %v; want %q", out, err, want)
	}
	c.Close()
	cmd := child("consumer", path)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "attached\n" {
		t.Fatalf("consumer after this one detached said %q", line)
	}
	_, err = NewConsumer(f.Region())
	var busy *BusyError
	if !errors.As(err, &busy) || busy.Lease.PID() != uint32(cmd.Process.Pid) {
		t.Fatalf("NewConsumer beside the child's = %v, want busy naming pid %d", err, cmd.Process.Pid)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := NewConsumer(f.Region()); err != nil {
		t.Fatalf("NewConsumer after the child detached: %v", err)
	}
}
