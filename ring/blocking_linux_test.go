package ring

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/logbuf/logbuf/abi"
)

// deadPID returns the pid of a process that has exited and been reaped.
func deadPID(t testing.TB) uint32 {
	t.Helper()
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Skip("cannot run /bin/true:", err)
	}
	return uint32(cmd.Process.Pid)
}

// processCPU is this process's user + system CPU time so far.
func processCPU() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:]) // f[0] is field 3
	ut, err1 := strconv.ParseUint(string(f[14-3]), 10, 64)
	st, err2 := strconv.ParseUint(string(f[15-3]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	// Clock ticks: USER_HZ is 100 on every Linux ABI Go supports.
	return time.Duration(ut+st) * 10 * time.Millisecond, true
}

// deadLeaseOf is an ATTACHED lease of a process that has exited.
func deadLeaseOf(t testing.TB) abi.Lease { return abi.MakeLease(abi.StateAttached, deadPID(t), 0) }

// TestConsumerGone: a producer whose consumer's process is gone keeps
// waiting for space until its context ends, and then says the consumer is
// absent, not that the ring is closed (spec section 8).
func TestConsumerGone(t *testing.T) {
	p, c := newMPSC(t, 1024)
	msg := make([]byte, 100)
	for p.TrySend(msg) == nil {
	}
	c.hdr.Consumer.Lease.Store(uint64(deadLeaseOf(t)))
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	err := p.Send(ctx, msg)
	if !errors.Is(err, ErrNoConsumer) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrRingClosed) {
		t.Fatalf("Send with a dead consumer = %v, want ErrNoConsumer and the deadline", err)
	}
	// A new consumer takes over and frees space: the producer goes on.
	c2, err := NewConsumer(c.reg)
	if err != nil {
		t.Fatalf("taking over from a dead consumer: %v", err)
	}
	if _, err := c2.ReadBatch(1, func([]byte) {}); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send after a new consumer freed space: %v", err)
	}
}

// TestIdleConsumerCPU: a consumer parked for a second uses almost no CPU.
func TestIdleConsumerCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("idles for a second")
	}
	_, c := newMPSC(t, 1024)
	var wg sync.WaitGroup
	before, ok := processCPU()
	if !ok {
		t.Skip("no /proc/self/stat")
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.RecvTimeout(time.Second)
	}()
	wg.Wait()
	after, _ := processCPU()
	t.Logf("CPU while parked for 1 s: %v (%d parks)", after-before, c.parks)
	if after-before > 200*time.Millisecond { // loose: busy-waiting would be ~1 s
		t.Fatalf("parked consumer used %v of CPU in 1 s", after-before)
	}
}

func TestAlive(t *testing.T) {
	pid, start := selfID()
	if start == 0 || !alive(pid, start) || !alive(pid, 0) {
		t.Fatalf("this process (%d, %d) is not alive", pid, start)
	}
	if alive(pid, start+1) {
		t.Fatal("a reused pid is alive")
	}
	dead := deadPID(t)
	if alive(dead, 0) {
		t.Fatalf("exited process %d is alive", dead)
	}
	if alive(1<<31, 0) || alive(^uint32(0), 0) {
		t.Fatal("impossible pids are alive")
	}
	if alive(0, 0) {
		t.Fatal("pid 0 is alive: an ATTACHED lease always names a process")
	}
	// A zombie is gone: kill it without reaping it.
	cmd := exec.Command("/bin/sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	zpid := uint32(cmd.Process.Pid)
	zstart, _, _ := procStat(int(zpid))
	if !alive(zpid, zstart) {
		t.Fatal("running child is not alive")
	}
	cmd.Process.Kill()
	for i := 0; alive(zpid, zstart); i++ {
		if i > 1000 {
			t.Fatal("killed child still alive")
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Wait()
}

// TestDeadOwnerSPSC: an SPSC claim whose producer's process is gone is
// recovered.
func TestDeadOwnerSPSC(t *testing.T) {
	p, c := newSPSC(t, 1024)
	var log stuckLog
	c.SetRecovery(20*time.Millisecond, log.add)
	if _, err := p.TryClaim(10); err != nil {
		t.Fatal(err)
	}
	write(t, p, []byte("behind"))
	p.party.Lease.Store(uint64(deadLeaseOf(t)))
	if r, err := c.Recv(context.Background()); err != nil || string(r.Bytes()) != "behind" {
		t.Fatalf("Recv = %q, %v", r.Bytes(), err)
	}
	if len(log) != 1 || !log[0].Recovered || log[0].Alive {
		t.Fatalf("reports %+v", log)
	}
	// Its producer is dead too, so the stream has ended.
	if _, err := c.Recv(context.Background()); err != io.EOF {
		t.Fatalf("Recv at the end = %v", err)
	}
}

// TestPreviousHolderClaimSPSC: a producer died holding a claim, and a new
// SPSC producer took entry 0 over. The entry is held by a live process, but
// the claim is older than the new holder's attach (its since), so it is the
// dead one's and is recovered (spec section 9); a v1 reading of "the owner
// is alive" would wait for ever.
func TestPreviousHolderClaimSPSC(t *testing.T) {
	p, c := newSPSC(t, 1024)
	var log stuckLog
	c.SetRecovery(20*time.Millisecond, log.add)
	if _, err := p.TryClaim(10); err != nil {
		t.Fatal(err)
	}
	p.party.Lease.Store(uint64(deadLeaseOf(t))) // the producer dies holding it
	p2, err := NewSPSCProducer(c.reg)
	if err != nil {
		t.Fatalf("taking over entry 0 from a dead producer: %v", err)
	}
	write(t, p2, []byte("after"))
	if r, err := c.Recv(context.Background()); err != nil || string(r.Bytes()) != "after" {
		t.Fatalf("Recv = %q, %v", r.Bytes(), err)
	}
	if len(log) != 1 || !log[0].Recovered {
		t.Fatalf("reports %+v", log)
	}
}

// TestCancelAfterUnmap: a Recv that parked with a context returns (here at
// its deadline); the ring file is then unmapped without a Close, and only
// then is the context cancelled. The wake-up that cancelling runs must not
// touch the unmapped header (it did, with a SIGSEGV, when the registration
// outlived the wait).
func TestCancelAfterUnmap(t *testing.T) {
	f, _ := createFile(t, 4096, abi.MPSC)
	c, err := NewConsumer(f.Region())
	if err != nil {
		t.Fatal(err)
	}
	c.spins, c.yields = 1, 1
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := c.RecvUntil(ctx, time.Now().Add(30*time.Millisecond)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("RecvUntil = %v", err)
	}
	if c.parks == 0 {
		t.Fatal("the consumer never parked: the test tests nothing")
	}
	f.Close()
	cancel()
	time.Sleep(20 * time.Millisecond) // time for a wake-up to run, and fault
}
