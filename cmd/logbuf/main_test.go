package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/internal/bench"
	"github.com/logbuf/logbuf/internal/testrec"
)

// The tests build the tool once and run it as a process, as a user would. It
// is built with the tag logbuf_faults, which lets LOGBUF_FAULTS make its
// archive files fail (faults.go); without that variable it is the tool.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func logbufBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		// Not t.TempDir: the binary outlives the first test that builds it.
		if binDir, buildErr = os.MkdirTemp("", "logbuf-test-bin-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "logbuf")
		args := []string{"build", "-o", binPath, "-tags", strings.Join(append(strings.Fields(buildTags), "logbuf_faults"), ",")}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type result struct {
	stdout, stderr string
	code           int
}

// logbuf runs the tool to completion.
func logbuf(t *testing.T, args ...string) result {
	t.Helper()
	_, wait := start(t, args...)
	return wait()
}

// start runs the tool in the background; wait returns its result.
func start(t *testing.T, args ...string) (cmd *exec.Cmd, wait func() result) {
	t.Helper()
	p := startEnv(t, nil, args...)
	return p.cmd, p.wait
}

// proc is the tool running in the background.
type proc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer // readable while it runs
	// wait waits for the process to exit and returns its result; a kill
	// is exit code -1.
	wait func() result
}

// startEnv runs the tool in the background with env added to the test's
// environment.
func startEnv(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(logbufBin(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := false
	t.Cleanup(func() {
		if !done {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return &proc{cmd: cmd, stderr: &stderr, wait: func() result {
		t.Helper()
		done = true
		return finish(t, cmd, &stdout, &stderr)
	}}
}

// finish waits for a started cmd and returns what it wrote and its exit
// status (-1 when killed), failing the test if it crashed.
func finish(t *testing.T, cmd *exec.Cmd, stdout, stderr fmt.Stringer) result {
	t.Helper()
	err := cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	r := result{stdout.String(), stderr.String(), code}
	noPanic(t, r.stderr)
	return r
}

// syncBuffer is a bytes.Buffer that a process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func noPanic(t *testing.T, stderr string) {
	t.Helper()
	for _, s := range []string{"panic:", "goroutine ", "DATA RACE", "fatal error"} {
		if strings.Contains(stderr, s) {
			t.Fatalf("the tool crashed:\n%s", stderr)
		}
	}
}

func want(t *testing.T, r result, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stdout, stdout) || !strings.Contains(r.stderr, stderr) {
		t.Fatalf("exit %d (want %d)\nstdout (want %q):\n%s\nstderr (want %q):\n%s", r.code, code, stdout, r.stdout, stderr, r.stderr)
	}
}

func TestUsage(t *testing.T) {
	want(t, logbuf(t), exitUsage, "", "Usage: logbuf <command>")
	want(t, logbuf(t, "help"), exitOK, "Commands:", "")
	want(t, logbuf(t, "nosuch"), exitUsage, "", `unknown command "nosuch"`)
	for _, c := range []string{"", "bench", "create", "stat", "tail", "archive", "ship", "replay", "demo", "produce"} {
		r := logbuf(t, strings.Fields("help "+c)...)
		want(t, r, exitOK, strings.TrimSpace("Usage: logbuf "+c), "")
		for _, line := range strings.Split(r.stdout, "\n") {
			if n := columns(line); n > 80 {
				t.Errorf("logbuf help %s: a line of %d columns, more than a terminal's 80:\n%s", c, n, line)
			}
		}
		if c == "" {
			continue
		}
		want(t, logbuf(t, c, "--no-such-flag"), exitUsage, "", "flag provided but not defined")
	}
	want(t, logbuf(t, "help", "tail"), exitOK, "--format", "")
	want(t, logbuf(t, "tail"), exitUsage, "", "want one argument, got 0")
	want(t, logbuf(t, "tail", "a", "b"), exitUsage, "", "want one argument, got 2 (a b)")
	want(t, logbuf(t, "tail", "--format", "xml", "f"), exitUsage, "", "want one of raw, len, hex")
	want(t, logbuf(t, "archive", "f"), exitUsage, "", "--out DIR is required")
	want(t, logbuf(t, "archive", "--out", "d", "--fsync", "interval", "f"), exitUsage, "", "want one of never, segment, always")
	want(t, logbuf(t, "archive", "--out", "d", "--perm", "0800", "f"), exitUsage, "", `--perm "0800" is not octal`)
	want(t, logbuf(t, "stat", "--watch", "--count", "-3", "f"), exitUsage, "", "--count must not be negative")
	want(t, logbuf(t, "produce", "--id", "4294967296", "f"), exitUsage, "", "does not fit in 32 bits")
	want(t, logbuf(t, "bench", "--sizes", "0"), exitUsage, "", "not a positive integer")
	want(t, logbuf(t, "bench", "--only", "speed"), exitUsage, "", "unknown table")
}

// columns is the width of a line on a terminal, tabs stopping every 8.
func columns(line string) int {
	n := 0
	for _, r := range line {
		if r == '\t' {
			n += 8 - n%8
		} else {
			n++
		}
	}
	return n
}

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.ring")
	want(t, logbuf(t, "create", path, "--capacity", "100000", "--mode", "mpsc"), exitOK,
		"mpsc ring, capacity 131072 bytes (rounded up from 100000), largest record 16384 bytes", "")
	st, err := os.Stat(path)
	if err != nil || st.Size() != abi.HeaderSize+131072 || st.Mode().Perm() != 0o600 {
		t.Fatalf("ring file: %v, %v", st, err)
	}
	want(t, logbuf(t, "create", "--mode", "spsc", path), exitFailure, "", "exists (--force replaces it)")
	want(t, logbuf(t, "create", "--mode", "spsc", "--force", "--capacity", "64KiB", "--perm", "0640", path), exitOK, "spsc ring, capacity 65536 bytes,", "")
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("perm %v, want 0640", st.Mode().Perm())
	}
	want(t, logbuf(t, "create", path), exitUsage, "", "--mode spsc|mpsc is required")
	want(t, logbuf(t, "create", "--mode", "both", path), exitUsage, "", "want one of spsc, mpsc")
	want(t, logbuf(t, "create", "--mode", "spsc", "--capacity", "4GiB", path), exitUsage, "", "--capacity")
	want(t, logbuf(t, "create", "--mode", "spsc", "--capacity", "lots", path), exitUsage, "", "not a byte count")
	want(t, logbuf(t, "create", "--mode", "spsc", filepath.Join(dir, "no", "such", "dir")), exitFailure, "", "no such file")
}

// createRing makes a ring file with the tool.
func createRing(t *testing.T, mode, capacity string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "r.ring")
	want(t, logbuf(t, "create", "--mode", mode, "--capacity", capacity, path), exitOK, "created", "")
	return path
}

// produced returns the records producer id writes with "produce --count n"
// into a ring whose records may be 1024 bytes (capacity 8 KiB or more).
func produced(id uint32, n int) [][]byte {
	p := testrec.NewProducer(id, 0, 1024)
	out := make([][]byte, n)
	for i := range out {
		out[i] = bytes.Clone(p.Next())
	}
	return out
}

// splitLen parses the "len" output format.
func splitLen(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 4 {
			t.Fatalf("%d stray bytes at the end of len output", len(b))
		}
		n := int(binary.LittleEndian.Uint32(b))
		if len(b) < 4+n {
			t.Fatalf("record of %d bytes, %d left", n, len(b)-4)
		}
		out = append(out, b[4:4+n])
		b = b[4+n:]
	}
	return out
}

func sameRecords(t *testing.T, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("record %d differs: got %d bytes, want %d", i, len(got[i]), len(want[i]))
		}
	}
}

func TestStat(t *testing.T) {
	path := createRing(t, "mpsc", "64KiB")
	want(t, logbuf(t, "produce", "--count", "5", "--id", "7", path), exitOK, "", "")
	var total int
	for _, r := range produced(7, 5) {
		total += len(r)
	}
	r := logbuf(t, "stat", path)
	for _, s := range []string{"mode         mpsc", "capacity     65536 bytes", "head         0", "at head      COMMITTED",
		"consumer     free", "0 attached, 1 table entries used", fmt.Sprintf("detached, 5 records, %d bytes", total), "full events  0"} {
		want(t, r, exitOK, s, "")
	}

	r = logbuf(t, "stat", "--json", path)
	var s snapshot
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if s.Capacity != 65536 || s.Mode != "mpsc" || s.Head != 0 || s.Tail == 0 || s.Used != s.Tail ||
		s.Counters.RecordsWritten != 5 || s.Counters.BytesWritten != uint64(total) || len(s.Producers) != 1 ||
		s.Producers[0].State != "DETACHED" || s.Consumer.State != "FREE" || s.AtHead.Kind != "COMMITTED" {
		t.Fatalf("stat --json: %+v", s)
	}

	// Reading changed nothing.
	before, _ := os.ReadFile(path)
	r = logbuf(t, "stat", "--watch", "--json", "--interval", "10ms", "--count", "3", path)
	if n := strings.Count(r.stdout, "\n"); n != 3 || r.code != 0 {
		t.Fatalf("stat --watch --count 3: exit %d, %d lines:\n%s%s", r.code, n, r.stdout, r.stderr)
	}
	r = logbuf(t, "stat", "--watch", "--interval", "10ms", "--count", "2", path)
	want(t, r, exitOK, "rates", "")
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("stat changed the ring file")
	}

	// Interrupted --watch exits cleanly.
	cmd, wait := start(t, "stat", "--watch", "--interval", "10ms", path)
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	want(t, wait(), exitOK, "capacity", "")
}

func TestStatLiveness(t *testing.T) {
	path := createRing(t, "mpsc", "64KiB")
	prod, waitProd := start(t, "produce", "--count", "1000000", "--rate", "200", "--id", "2", path)
	waitFor(t, path, "attached, alive")
	waitFor(t, path, "at head      COMMITTED") // attached is not yet written
	// A producer killed outright stays attached in the table, but stat sees
	// that its process is gone, and tail ends once it has read the rest.
	prod.Process.Kill()
	waitProd()
	want(t, logbuf(t, "stat", path), exitOK, "attached, gone", "")
	r := logbuf(t, "tail", "--format", "len", path)
	want(t, r, exitOK, "", "")
	recs := splitLen(t, []byte(r.stdout))
	if len(recs) == 0 {
		t.Fatal("no records")
	}
	sameRecords(t, recs, produced(2, len(recs)))
}

// waitFor polls stat until its output holds s.
func waitFor(t *testing.T, path, s string) {
	t.Helper()
	for i := 0; ; i++ {
		r := logbuf(t, "stat", path)
		if strings.Contains(r.stdout, s) {
			return
		}
		if i == 500 {
			t.Fatalf("stat never said %q:\n%s", s, r.stdout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStatBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := createRing(t, "spsc", "64KiB")
	img, _ := os.ReadFile(good)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o600)
		return p
	}
	badMagic := bytes.Clone(img)
	badMagic[0] = 'X'
	badCap := bytes.Clone(img)
	binary.LittleEndian.PutUint64(badCap[abi.OffCapacity:], 1000)
	badTail := bytes.Clone(img)
	binary.LittleEndian.PutUint64(badTail[abi.OffTail:], 1<<40)
	for _, c := range []struct{ path, msg string }{
		{write("empty", nil), "shorter than the 4096-byte region header"},
		{write("garbage", []byte("not a ring at all")), "shorter than the 4096-byte region header"},
		{write("short", img[:8192]), "truncated"},
		{write("magic", badMagic), "not a logbuf ring"},
		{write("capacity", badCap), "capacity"},
		{write("tail", badTail), "tail"},
		{dir, "is a directory"},
		{filepath.Join(dir, "missing"), "no such file"},
	} {
		for _, cmd := range []string{"stat", "tail", "archive"} {
			args := []string{cmd, c.path}
			if cmd == "archive" {
				args = append(args, "--out", filepath.Join(dir, "arch"))
			}
			want(t, logbuf(t, args...), exitFailure, "", c.msg)
		}
	}
}

func TestTail(t *testing.T) {
	path := createRing(t, "spsc", "64KiB")
	recs := produced(0, 300) // about 150 KiB through a 64 KiB ring: it fills
	_, waitProducer := start(t, "produce", "--count", "300", path)
	// tail waits for the producer to come, drains while it writes, and
	// ends when it has closed and the ring is empty.
	r := logbuf(t, "tail", "--format", "len", path)
	want(t, waitProducer(), exitOK, "", "")
	want(t, r, exitOK, "", "")
	sameRecords(t, splitLen(t, []byte(r.stdout)), recs)

	// The ring is drained: stat says so.
	want(t, logbuf(t, "stat", path), exitOK, "(ring empty)", "")
	want(t, logbuf(t, "stat", path), exitOK, "read         300 records", "")

	// raw, hex and --count.
	want(t, logbuf(t, "produce", "--count", "10", "--id", "1", path), exitOK, "", "")
	r = logbuf(t, "tail", "--count", "3", path)
	want(t, r, exitOK, "", "")
	if want := bytes.Join(produced(1, 3), nil); r.stdout != string(want) {
		t.Fatalf("tail --format raw: %d bytes, want %d", len(r.stdout), len(want))
	}
	r = logbuf(t, "tail", "--format", "hex", path)
	want(t, r, exitOK, "record 1, ", "")
	if n := strings.Count(r.stdout, "record "); n != 7 {
		t.Fatalf("hex: %d records, want the 7 left\n%s", n, r.stdout)
	}
	want(t, r, exitOK, "00000000  01 00 00 00 03 00 00 00  00 00 00 00 ", "") // id 1, seq 3
}

// TestTailPoll: with --poll, tail naps instead of parking, so it never
// raises the ring's consumer_wait word and producers never pay a wake-up
// (without --poll it parks as soon as the ring is empty); it still delivers
// every record and ends with the stream.
func TestTailPoll(t *testing.T) {
	for _, poll := range []bool{false, true} {
		path := createRing(t, "spsc", "64KiB")
		args := []string{"tail", "--format", "len", path}
		if poll {
			args = []string{"tail", "--poll", "2ms", "--format", "len", path}
		}
		_, wait := start(t, args...)
		waitFor(t, path, "consumer     attached, pid")
		f, err := abi.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		parked := false
		for i := 0; i < 200 && !parked; i++ { // up to about 200 ms
			parked = f.Region().Header().ConsumerWait.Load() != 0
			time.Sleep(time.Millisecond)
		}
		f.Close()
		if parked == poll {
			t.Fatalf("tail (poll %v): consumer_wait raised %v", poll, parked)
		}
		want(t, logbuf(t, "produce", "--count", "300", path), exitOK, "", "")
		r := wait()
		want(t, r, exitOK, "", "")
		sameRecords(t, splitLen(t, []byte(r.stdout)), produced(0, 300))
	}
}

func TestTailOneConsumer(t *testing.T) {
	path := createRing(t, "mpsc", "64KiB")
	first, wait := start(t, "tail", path)
	waitFor(t, path, "consumer     attached, pid")
	want(t, logbuf(t, "tail", path), exitFailure, "", "already has a consumer (pid")
	first.Process.Signal(syscall.SIGINT)
	want(t, wait(), exitOK, "", "")
	want(t, logbuf(t, "stat", path), exitOK, "consumer     detached", "")
}

func TestTailCorruptRecord(t *testing.T) {
	path := createRing(t, "spsc", "64KiB")
	want(t, logbuf(t, "produce", "--count", "3", path), exitOK, "", "")
	img, _ := os.ReadFile(path)
	// Turn the second record's header word into an unknown kind.
	first := binary.LittleEndian.Uint64(img[abi.HeaderSize:])
	off := abi.HeaderSize + abi.RecordSize(uint64(abi.Word(first).Len()))
	binary.LittleEndian.PutUint64(img[off:], 0x55<<56|64)
	os.WriteFile(path, img, 0o600)
	for _, cmd := range [][]string{{"tail", "--format", "len"}, {"archive", "--out", filepath.Join(t.TempDir(), "a")}} {
		r := logbuf(t, append(cmd, path)...)
		want(t, r, exitFailure, "", "corrupt record at position")
		if cmd[0] == "tail" {
			sameRecords(t, splitLen(t, []byte(r.stdout)), produced(0, 1))
		}
	}
}

func TestTailRecoversStuckClaim(t *testing.T) {
	path := createRing(t, "mpsc", "64KiB")
	want(t, logbuf(t, "produce", "--count", "3", "--id", "4", path), exitOK, "", "")
	img, _ := os.ReadFile(path)
	// Turn the first record back into a claim by producer slot 1 (which has
	// closed): as if it had died between claim and commit.
	w := abi.Word(binary.LittleEndian.Uint64(img[abi.HeaderSize:]))
	binary.LittleEndian.PutUint64(img[abi.HeaderSize:], uint64(abi.ClaimedWord(w.Len(), 0, 1)))
	os.WriteFile(path, img, 0o600)
	want(t, logbuf(t, "stat", path), exitOK, "at head      CLAIMED", "")

	r := logbuf(t, "tail", "--format", "len", "--unblock-after", "50ms", path)
	want(t, r, exitOK, "", "uncommitted for")
	want(t, r, exitOK, "", "recovered (skipped)")
	sameRecords(t, splitLen(t, []byte(r.stdout)), produced(4, 3)[1:])
	want(t, logbuf(t, "stat", path), exitOK, "unblocks     1", "")
}

func TestBench(t *testing.T) {
	args := []string{"bench", "--duration", "20ms", "--warmup", "10", "--samples", "200", "--messages", "2000",
		"--sizes", "8,64", "--producers", "1,2", "--rate-producers", "1,2", "--backoff"}
	r := logbuf(t, append(args, "--json")...)
	want(t, r, exitOK, "", "[1/")
	var res struct {
		Command string `json:"command"`
		bench.Results
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	m := res.Machine
	if m.Cores < 1 || m.Go == "" || m.CPU == "" || m.Kernels == "" || m.ClockUnit == "" || !strings.HasPrefix(res.Command, "logbuf bench") {
		t.Errorf("machine: %+v, command %q", m, res.Command)
	}
	// 3 ops x (ring-spsc, ring-mpsc, chan) x 2 sizes, less the MPSC round trip.
	if len(res.Latency) != 2*3*2+2*2 {
		t.Errorf("%d latency rows", len(res.Latency))
	}
	for _, l := range res.Latency {
		if l.Samples != 200 || l.P50 <= 0 || l.P50 > l.P99 || l.P99 > l.P999 || l.P999 > l.Max {
			t.Errorf("latency row %+v", l)
		}
	}
	// spsc, spsc batch, mpsc 1p and 2p spin and backoff, chan 1p and 2p.
	if len(res.Throughput) != 8 {
		t.Errorf("%d throughput rows: %+v", len(res.Throughput), res.Throughput)
	}
	for _, tp := range res.Throughput {
		if tp.Messages == 0 || tp.Bytes < 8*tp.Messages || tp.Bytes > 1024*tp.Messages || tp.GBps <= 0 {
			t.Errorf("throughput row %+v", tp)
		}
	}
	if len(res.Rate) != 4 {
		t.Errorf("%d rate rows", len(res.Rate))
	}
	for _, rt := range res.Rate {
		if rt.Messages != 2000 || rt.MMsgps <= 0 {
			t.Errorf("rate row %+v", rt)
		}
	}

	r = logbuf(t, append(args, "--only", "throughput", "--no-chan", "--quiet")...)
	want(t, r, exitOK, "ring-mpsc          2    backoff", "")
	if r.stderr != "" || strings.Contains(r.stdout, "Latency") || strings.Contains(r.stdout, "recv") {
		t.Errorf("--only throughput --no-chan --quiet:\n%s\n%s", r.stdout, r.stderr)
	}
	r = logbuf(t, append(args, "--only", "latency,rate")...)
	for _, s := range []string{"machine:", "kernels:", "clock:", "The clock pair alone costs", "roundtrip", "Message rate", "vs chan"} {
		want(t, r, exitOK, s, "")
	}
}

func TestDemo(t *testing.T) {
	r := logbuf(t, "demo", "--records", "3000", "--producers", "3", "--capacity", "64KiB", "--dir", t.TempDir(), "--segment-size", "64KiB")
	want(t, r, exitOK, "demo: 3 producers wrote 9000 records; the archive holds exactly them", "demo: archived 9000 records")
}
