package ring

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
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

// TestConsumerGone: a producer whose consumer's process is gone stops with
// ErrClosed.
func TestConsumerGone(t *testing.T) {
	p, c := newMPSC(t, 1024)
	msg := make([]byte, 100)
	for p.TryWrite(msg) == nil {
	}
	c.hdr.ConsumerPID.Store(deadPID(t))
	if err := p.Write(context.Background(), msg); err != ErrClosed {
		t.Fatalf("Write with a dead consumer = %v", err)
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
	t.Logf("CPU while parked for 1 s: %v (%d parks)", after-before, c.wait.parks)
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
	if !alive(0, 0) {
		t.Fatal("pid 0 (attaching) is not alive")
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

// TestDeadOwnerSPSC: an SPSC claim whose owner's process is gone is
// recovered.
func TestDeadOwnerSPSC(t *testing.T) {
	p, c := newSPSC(t, 1024)
	var log stuckLog
	c.SetRecovery(20*time.Millisecond, log.add)
	if _, err := p.TryClaim(10); err != nil {
		t.Fatal(err)
	}
	write(t, p, []byte("behind"))
	p.slot.PID.Store(deadPID(t))
	if r, err := c.Recv(context.Background()); err != nil || string(r.Bytes()) != "behind" {
		t.Fatalf("Recv = %q, %v", r.Bytes(), err)
	}
	if len(log) != 1 || !log[0].Recovered || log[0].Alive {
		t.Fatalf("reports %+v", log)
	}
	// Its producer is dead too, so the ring has ended.
	if _, err := c.Recv(context.Background()); err != ErrClosed {
		t.Fatalf("Recv at the end = %v", err)
	}
}
