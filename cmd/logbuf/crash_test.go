package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/internal/testrec"
)

// killScale is how hard TestArchiveKilled works, per fsync policy: records
// from two producers, SIGKILLs of the archiver, and runs with a file error.
// By default it is the figure, 1,000,000 records and 100 kills
// (16 to 25 s for the three policies on the development machine, quiet and
// busy); under -race, where that took 116 s, a fifth of the records and 40
// kills (24 to 33 s) unless LOGBUF_STRESS=full; under -short, 100,000 and
// 10 (about 2 s; fewer
// records leave too few for ten kills to find the archiver at work: it
// archives a few thousand records in the millisecond the test takes to see
// its target passed and kill it).
// LOGBUF_STRESS_SEED repeats a run's random choices.
type killScale struct{ records, kills, failures int }

func killConfig() killScale {
	full := killScale{1_000_000, 100, 6}
	switch {
	case os.Getenv("LOGBUF_STRESS") == "full":
		return full
	case testing.Short():
		return killScale{100_000, 10, 2}
	case raceEnabled:
		return killScale{200_000, 40, 4}
	}
	return full
}

// A run of the archiver in TestArchiveKilled ends in one of these ways.
type killKind int

const (
	killAfterRecords killKind = iota // SIGKILL once the ring released so many more records, and a little later
	killAfterTime                    // SIGKILL a few milliseconds after start (in its start-up, repair, first batches), or sooner
	killStalled                      // SIGKILL while it stalls inside a segment write (LOGBUF_FAULTS stall)
	failWrite                        // a segment write fails (ENOSPC or EIO): it must exit with the error
	failSync                         // an fsync fails with EIO: likewise
)

type killAction struct {
	kind    killKind
	records uint64        // killAfterRecords, killAfterTime
	delay   time.Duration // before the SIGKILL
	faults  string        // LOGBUF_FAULTS
	msg     string        // failWrite, failSync: what the error must say
}

// killPlan draws the runs: sc.kills SIGKILLs (a tenth while stalled in a
// write, a tenth early, the rest after a random number of records) and
// sc.failures runs with a file error, shuffled.
func killPlan(rng *rand.Rand, sc killScale, fsync string) []killAction {
	// Each kill comes after 0..2x avg records, and a little later: about
	// half the stream is archived under kills (more, with the records
	// archived before a file error and in the moments before each kill),
	// and the last run takes the rest.
	avg := uint64(sc.records) / 2 / uint64(sc.kills)
	// Stalls and file errors come after 0..span bytes written (test records
	// average 520 bytes): together at most a quarter of the stream.
	span := min(2<<20, sc.records*520/4/(sc.kills/10+sc.failures+1))
	syncs := max(1, min(4, span>>20)) // a segment is fsynced every MiB at least
	var plan []killAction
	for i := range sc.kills {
		switch {
		case i%10 == 3:
			plan = append(plan, killAction{kind: killStalled, faults: fmt.Sprintf("write=%d:stall", rng.IntN(span))})
		case i%10 == 7:
			plan = append(plan, killAction{kind: killAfterTime, delay: time.Duration(rng.IntN(15_000)) * time.Microsecond, records: avg})
		default:
			plan = append(plan, killAction{kind: killAfterRecords, records: rng.Uint64N(2*avg + 1),
				delay: time.Duration(rng.IntN(300)) * time.Microsecond})
		}
	}
	for i := range sc.failures {
		switch {
		case i%3 == 0:
			plan = append(plan, killAction{kind: failWrite, faults: fmt.Sprintf("write=%d:enospc", rng.IntN(span)), msg: "no space left on device"})
		case i%3 == 1 || fsync == "never": // no fsync to fail
			plan = append(plan, killAction{kind: failWrite, faults: fmt.Sprintf("write=%d:eio", rng.IntN(span)), msg: "input/output error"})
		default:
			plan = append(plan, killAction{kind: failSync, faults: fmt.Sprintf("sync=%d:eio", 1+rng.IntN(syncs)), msg: "fsync segment"})
		}
	}
	rng.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })
	return plan
}

// TestArchiveKilled SIGKILLs the archiver over and over at random moments
// (in its start-up, between and inside batches, inside a segment write) and
// makes its segment writes and fsyncs fail now and then, while two producer
// processes write test records (spec/TEST-RECORDS.md) into an MPSC ring;
// a new archiver is started after each. In the end replay must hold every
// record exactly once, in order per producer, byte for byte, report no
// damage, gap or duplicate, and hold everything the ring released. Each
// fsync policy runs; killConfig says how many records and kills.
func TestArchiveKilled(t *testing.T) {
	sc := killConfig()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("LOGBUF_STRESS_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("%d records, %d kills, %d file errors per policy; LOGBUF_STRESS_SEED=%d", sc.records, sc.kills, sc.failures, seed)
	for i, fsync := range []string{"never", "segment", "always"} {
		t.Run(fsync, func(t *testing.T) {
			killRun(t, sc, fsync, rand.New(rand.NewPCG(seed, uint64(i))))
		})
	}
}

func killRun(t *testing.T, sc killScale, fsync string, rng *rand.Rand) {
	path := createRing(t, "mpsc", "1MiB")
	out := filepath.Join(t.TempDir(), "archive")
	perProducer := sc.records / 2
	var producers []*spawned
	for id := 1; id <= 2; id++ {
		producers = append(producers, spawn(t, nil, "produce", "--count", strconv.Itoa(perProducer), "--id", strconv.Itoa(id), path))
	}
	rf, err := abi.OpenFileReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	released := func() uint64 { return rf.Region().Header().ReadRecords.Load() }

	args := []string{"archive", "--fsync", fsync, "--fsync-interval", "10ms", "--segment-size", "1MiB", "--out", out, path}
	var kills, stalls, repairs, failures int
	// A run killed inside a segment write leaves a torn frame at the end
	// of that segment, which the next run to open the archive must cut,
	// and say so.
	var torn *tornWrite
	for _, a := range killPlan(rng, sc, fsync) {
		var env []string
		if a.faults != "" {
			env = []string{"LOGBUF_FAULTS=" + a.faults}
		}
		before := released()
		p := spawn(t, env, args...)
		switch a.kind {
		case killAfterRecords:
			target := before + a.records
			for released() < target && !p.exited() {
				time.Sleep(200 * time.Microsecond)
			}
			time.Sleep(a.delay)
		case killAfterTime: // or after avg records, which a fast archiver passes first
			for end := time.Now().Add(a.delay); time.Now().Before(end) && released() < before+a.records && !p.exited(); {
				time.Sleep(200 * time.Microsecond)
			}
		case killStalled:
			for !strings.Contains(p.stderr.String(), "logbuf: fault: stalled") && !p.exited() {
				time.Sleep(time.Millisecond)
			}
		}
		if a.kind <= killStalled {
			p.cmd.Process.Kill()
		}
		code := p.wait()
		stderr := p.stderr.String()
		noPanic(t, stderr)
		stalled := strings.Contains(stderr, "logbuf: fault: stalled")
		switch {
		case code == -1:
			kills++
			if stalled {
				stalls++
			}
		case a.kind >= failWrite && code == exitFailure:
			failures++
			if !strings.Contains(stderr, a.msg) {
				t.Fatalf("LOGBUF_FAULTS=%s: the archiver's error does not say %q:\n%s", a.faults, a.msg, stderr)
			}
		case code != exitOK:
			t.Fatalf("archiver (%+v) exited %d:\n%s", a, code, stderr)
		}
		if strings.Contains(stderr, "logbuf archive: repaired") {
			repairs++
		}
		if torn != nil {
			// The run opened the archive if it wrote or released records
			// (no release was left half done: the run that stalled was in
			// a write, not a release), or ended by itself.
			opened := released() > before || stalled || code == exitOK
			// It may not have said so if it was killed between the repair
			// and the report, or if the fsync that follows the cut failed.
			silent := code == -1 || a.kind == failSync
			switch repaired := torn.repaired(); {
			case !repaired && opened:
				t.Fatalf("a run (%+v, exit %d) opened the archive and left the torn write of the run before it in %s:\n%s", a, code, torn.path, stderr)
			case repaired && !silent && !strings.Contains(stderr, "logbuf archive: repaired"):
				t.Fatalf("a run (%+v, exit %d) cut the torn write in %s without saying so:\n%s", a, code, torn.path, stderr)
			case repaired:
				torn = nil
			}
		}
		if stalled {
			torn = newTornWrite(t, stderr)
		}
	}
	// The last run takes the rest, to the end of the stream.
	last := spawn(t, nil, args...)
	if code := last.wait(); code != exitOK {
		t.Fatalf("last archiver exited %d:\n%s", code, last.stderr.String())
	}
	if torn != nil && (!torn.repaired() || !strings.Contains(last.stderr.String(), "logbuf archive: repaired")) {
		t.Fatalf("the run after a kill inside a segment write repaired nothing:\n%s", last.stderr.String())
	}
	for i, p := range producers {
		if code := p.wait(); code != exitOK {
			t.Fatalf("producer %d exited %d:\n%s", i+1, code, p.stderr.String())
		}
	}
	t.Logf("%s: %d archivers killed (%d inside a segment write), %d failed on a file error, %d repairs",
		fsync, kills, stalls, failures, repairs)
	if kills < sc.kills*9/10 {
		t.Errorf("only %d of %d kills hit a running archiver", kills, sc.kills)
	}
	checkReplay(t, out, path, perProducer, rf.Region().MaxPayload())
}

// tornWrite is what a run killed inside a segment write left: the segment
// and its size then.
type tornWrite struct {
	path string
	size int64
}

// newTornWrite reads the segment from the stall report of the fault
// injection ("stalled in a write to PATH after N of M bytes"); nil when the
// stall wrote nothing.
func newTornWrite(t *testing.T, stderr string) *tornWrite {
	t.Helper()
	m := regexp.MustCompile(`stalled in a write to (\S+) after (\d+) of`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no stall report:\n%s", stderr)
	}
	if m[2] == "0" {
		return nil
	}
	st, err := os.Stat(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return &tornWrite{m[1], st.Size()}
}

// repaired reports whether the torn segment was cut, removed or set aside.
func (w *tornWrite) repaired() bool {
	st, err := os.Stat(w.path)
	return err != nil || st.Size() != w.size
}

// checkReplay replays the archive, streaming, and checks that it holds
// records 0..perProducer-1 of producers 1 and 2, each once, in order, byte
// for byte, that replay found nothing wrong, and that it holds all the ring
// released.
func checkReplay(t *testing.T, out, ringPath string, perProducer int, maxPayload uint64) {
	t.Helper()
	cmd := exec.Command(logbufBin(t), "replay", "--format", "len", "--ring", ringPath, out)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	chk := testrec.NewChecker()
	for id := range uint32(2) {
		chk.Gens[id+1] = testrec.NewGen(uint64(id)+2, int(maxPayload)) // produce's default seed, id+1
	}
	in := bufio.NewReaderSize(stdout, 1<<20)
	buf := make([]byte, 1024) // the longest test record
	var hdr [4]byte
	for n := 0; ; n++ {
		if _, err := io.ReadFull(in, hdr[:]); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("replay output after %d records: %v", n, err)
		}
		size := int(binary.LittleEndian.Uint32(hdr[:]))
		if size > len(buf) {
			t.Fatalf("record %d of replay: %d bytes, longer than any test record", n, size)
		}
		if _, err := io.ReadFull(in, buf[:size]); err != nil {
			t.Fatalf("replay output, record %d: %v", n, err)
		}
		if err := chk.Check(buf[:size]); err != nil {
			cmd.Process.Kill()
			t.Fatalf("replay record %d: %v", n, err)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("replay: %v\n%s", err, stderr.String())
	}
	for _, s := range []string{"no damage, no gap, no duplicate", "the archive holds every record it released"} {
		if !strings.Contains(stderr.String(), s) {
			t.Fatalf("replay does not say %q:\n%s", s, stderr.String())
		}
	}
	if len(chk.Next) != 2 || chk.Next[1] != uint64(perProducer) || chk.Next[2] != uint64(perProducer) {
		t.Fatalf("replay: %d and %d records of producers 1 and 2 (of %d producers), want %d each",
			chk.Next[1], chk.Next[2], len(chk.Next), perProducer)
	}
}

// spawned is the tool running in the background, waited for by a goroutine
// of its own so that the test can see whether it has exited.
type spawned struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
	code   int // exit status once done is closed; -1 when killed
}

func spawn(t *testing.T, env []string, args ...string) *spawned {
	t.Helper()
	p := &spawned{cmd: exec.Command(logbufBin(t), args...), stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		p.code = 0
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
		} else if err != nil {
			p.code = -2
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *spawned) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *spawned) wait() int {
	<-p.done
	return p.code
}
