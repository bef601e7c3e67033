package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/internal/natstest"
	"github.com/logbuf/logbuf/internal/testrec"
	"github.com/logbuf/logbuf/ring"
)

// The ship tests run the tool against a real nats-server (in this test
// process) with two "logbuf produce" processes writing into the ring.
// Their size: shipRecords.

// shipRecords is the number of records the two producers write in all:
// 1,000,000 (TestShipProcesses takes about 30 s on two cores), 50,000 under
// the race detector, 20,000 with -short; LOGBUF_SHIP_RECORDS overrides.
func shipRecords(t *testing.T) int {
	return natstest.Records(t, 1_000_000, 50_000, 20_000, raceEnabled)
}

// Record lengths of the ship tests' producers (produce --max): 16..64
// bytes, small, so that a million records stay a quick test.
const shipMin, shipMax = 16, 64

// shipRig is a server, a stream, a ring and two producers writing into it.
type shipRig struct {
	srv         *natstest.Server
	js          jetstream.JetStream
	ring        string
	perProducer int
	producers   []func() result
}

// newShipRig starts the server and the producers. The ring is at most
// maxCapacity bytes, and smaller than what each producer writes: neither
// can finish before a shipper drains the ring, so the shipper cannot see
// the end of the stream before the second producer attached.
func newShipRig(t *testing.T, total int, maxCapacity int) *shipRig {
	t.Helper()
	capacity := maxCapacity
	for capacity >= total/2*shipMin {
		capacity /= 2
	}
	if capacity < 64<<10 {
		t.Fatalf("%d records by two producers are too few to fill a ring", total)
	}
	r := &shipRig{srv: natstest.Start(t, nil), ring: createRing(t, "mpsc", fmt.Sprint(capacity)), perProducer: total / 2}
	_, r.js = r.srv.Connect(t)
	natstest.CreateStream(t, r.js, "LOGS", "logs.test", nil)
	for id := range 2 {
		_, w := start(t, "produce", "--count", fmt.Sprint(r.perProducer), "--id", fmt.Sprint(id),
			"--max", fmt.Sprint(shipMax), r.ring)
		r.producers = append(r.producers, w)
	}
	// The shipper ends when every producer that attached has gone: start
	// it once both have attached.
	waitFor(t, r.ring, "producers    2 attached")
	return r
}

// ship starts a shipper.
func (r *shipRig) ship(t *testing.T, extra ...string) (*exec.Cmd, func() result) {
	return start(t, append([]string{"ship", r.ring, "--nats", r.srv.URL(), "--stream", "LOGS", "--subject", "logs.test", "--max-backoff", "1s"}, extra...)...)
}

// waitProducers waits for the producers to finish.
func (r *shipRig) waitProducers(t *testing.T) {
	for _, w := range r.producers {
		want(t, w(), exitOK, "", "")
	}
}

// released is the number of records the ring's consumers have released.
func (r *shipRig) released(t *testing.T) uint64 {
	f, err := abi.OpenFile(r.ring)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return ring.ReadStats(f.Region()).RecordsRead
}

// waitReleased waits until the ring's consumers released n records.
func (r *shipRig) waitReleased(t *testing.T, n uint64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // a hang, not a measurement
	for r.released(t) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the shipper did not release %d records in 2 minutes (%d released)", n, r.released(t))
		}
		time.Sleep(time.Millisecond)
	}
}

// check reads the stream back and checks that it holds every record of
// both producers exactly once, byte for byte, each producer's in order.
func (r *shipRig) check(t *testing.T) {
	t.Helper()
	chk := testrec.NewChecker()
	for id := range uint32(2) {
		chk.Gens[id] = testrec.NewGen(uint64(id)+1, shipMax) // produce's default seed, --max shipMax
	}
	bad := 0
	got := natstest.ReadStream(t, r.js, "LOGS", func(n uint64, m jetstream.Msg) {
		if err := chk.Check(m.Data()); err != nil {
			if bad++; bad <= 10 {
				t.Errorf("message %d: %v", n, err)
			}
		}
	})
	if want := uint64(2 * r.perProducer); got != want {
		t.Errorf("stream holds %d messages, want %d", got, want)
	}
	for id := range uint32(2) {
		if n := chk.Next[id]; n != uint64(r.perProducer) {
			t.Errorf("producer %d: %d records in the stream in order, want %d", id, n, r.perProducer)
		}
	}
}

// TestShipProcesses ships what two producer processes write, once.
func TestShipProcesses(t *testing.T) {
	n := shipRecords(t)
	r := newShipRig(t, n, 1<<20)
	_, wait := r.ship(t)
	r.waitProducers(t)
	res := wait()
	want(t, res, exitOK, "", fmt.Sprintf("ship: %d records", n))
	want(t, res, exitOK, "", "ended by end of stream")
	r.check(t)
}

// TestShipKilled SIGKILLs the shipper 20 times at random moments while the
// producers write, each time once it released a random share of what is
// left, and starts a new one; the stream must hold exactly what was
// produced. A small ring and small batches make each shipper's life several
// batches long, so that most kills land in the middle of one.
func TestShipKilled(t *testing.T) {
	n := max(shipRecords(t)/5, 40_000)
	r := newShipRig(t, n, 64<<10)
	rng := rand.New(rand.NewPCG(16, 16))
	for life := range 20 {
		cmd, wait := r.ship(t, "--batch", "256")
		before := r.released(t)
		target := before + 1 + uint64(rng.IntN(max(1, (n-int(before))/(2*(21-life)))))
		r.waitReleased(t, target)
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		if res := wait(); res.code != -1 {
			t.Fatalf("shipper %d was not killed (exit %d): too few records for 20 kills?\n%s", life+1, res.code, res.stderr)
		}
	}
	_, wait := r.ship(t)
	r.waitProducers(t)
	want(t, wait(), exitOK, "", "ended by end of stream")
	r.check(t)
}

// TestShipServerRestart stops the server for three seconds in the middle
// of the run and starts it again on its store: the shipper waits without
// spinning (its CPU time over the outage is measured), says so, resumes by
// itself, and the stream holds every record once.
func TestShipServerRestart(t *testing.T) {
	n := max(shipRecords(t)/2, 20_000)
	r := newShipRig(t, n, 1<<20)
	cmd, wait := r.ship(t)
	r.waitReleased(t, uint64(n/3))
	r.srv.Stop()
	cpu0, wall0 := natstest.ProcessCPU(t, cmd.Process.Pid), time.Now()
	time.Sleep(3 * time.Second)
	ratio := (natstest.ProcessCPU(t, cmd.Process.Pid) - cpu0).Seconds() / time.Since(wall0).Seconds()
	var snap snapshot
	if err := json.Unmarshal([]byte(logbuf(t, "stat", "--json", r.ring).stdout), &snap); err != nil {
		t.Fatal(err)
	}
	r.srv.Restart()
	r.waitProducers(t)
	res := wait()
	want(t, res, exitOK, "", "ended by end of stream")
	t.Logf("shipper CPU over the outage: %.1f%% of a core", 100*ratio)
	if ratio > 0.25 {
		t.Errorf("the shipper used %.0f%% of a core while the server was down: it should wait, not spin", 100*ratio)
	}
	for _, s := range []string{"disconnected from NATS", "not stored", "reconnected"} {
		if !strings.Contains(res.stderr, s) {
			t.Errorf("the shipper's stderr does not say %q:\n%s", s, res.stderr)
		}
	}
	if snap.Lag.Records == 0 || snap.Lag.Bytes == 0 {
		t.Errorf("stat during the outage shows no lag: %+v", snap.Lag)
	}
	r.check(t)
}

func TestShipUsage(t *testing.T) {
	ringFile := createRing(t, "mpsc", "64KiB")
	want(t, logbuf(t, "ship", ringFile, "--stream", "S", "--subject", "s"), exitUsage, "", "--nats URL is required")
	want(t, logbuf(t, "ship", ringFile, "--nats", "nats://127.0.0.1:1", "--subject", "s"), exitUsage, "", "--stream NAME and --subject SUBJ are required")
	want(t, logbuf(t, "ship", ringFile, "--nats", "nats://127.0.0.1:1", "--stream", "S", "--subject", "s", "--tls-cert", "c.pem"), exitUsage, "", "--tls-cert and --tls-key go together")
	want(t, logbuf(t, "ship", ringFile, "--nats", "nats://127.0.0.1:1", "--stream", "S", "--subject", "s", "--too-large", "drop"), exitUsage, "", "want one of stop, skip")
	want(t, logbuf(t, "ship", ringFile, "--nats", "nats://127.0.0.1:1", "--stream", "S", "--subject", "s"), exitFailure, "", "connect to nats://127.0.0.1:1")

	srv := natstest.Start(t, nil)
	want(t, logbuf(t, "ship", ringFile, "--nats", srv.URL(), "--stream", "S", "--subject", "s"), exitFailure, "", "no stream holds subject s")
}

// TestShipCreateStream: --create-stream makes the stream with the window
// asked for, and a subject held by another stream is refused.
func TestShipCreateStream(t *testing.T) {
	srv := natstest.Start(t, nil)
	ringFile := createRing(t, "mpsc", "64KiB")
	want(t, logbuf(t, "produce", "--count", "3", ringFile), exitOK, "", "")
	r := logbuf(t, "ship", ringFile, "--nats", srv.URL(), "--stream", "S", "--subject", "logs.a", "--create-stream", "--stream-subject", "logs.>", "--dup-window", "5m")
	want(t, r, exitOK, "", "stream S, duplicate window 5m0s")
	want(t, r, exitOK, "", "ship: 3 records")
	// Another host's shipper finds the stream by its own subject.
	want(t, logbuf(t, "ship", ringFile, "--nats", srv.URL(), "--stream", "S", "--subject", "logs.b", "--create-stream", "--stream-subject", "logs.>"), exitOK, "", "ship: 0 records")
	want(t, logbuf(t, "ship", ringFile, "--nats", srv.URL(), "--stream", "OTHER", "--subject", "logs.c"), exitFailure, "", "subject logs.c is held by stream S, not OTHER")
	want(t, logbuf(t, "ship", ringFile, "--nats", srv.URL(), "--stream", "T", "--subject", "x", "--create-stream", "--stream-subject", "y"), exitFailure, "", "does not hold subject x")
	want(t, logbuf(t, "replay", "--nats", srv.URL(), "--stream", "S", "--subject", "logs.a"), exitOK, "", "3 record(s) from 1 ring(s)")
}

// TestShipTooLarge: records above the server's max_payload stop the
// shipper (and stay in the ring), or are skipped and reported.
func TestShipTooLarge(t *testing.T) {
	srv := natstest.Start(t, func(o *server.Options) { o.MaxPayload = 512 })
	_, js := srv.Connect(t)
	natstest.CreateStream(t, js, "S", "s", nil)
	ringFile := createRing(t, "mpsc", "256KiB")
	want(t, logbuf(t, "produce", "--count", "100", "--id", "3", ringFile), exitOK, "", "")
	// With the message id (about 60 bytes of header) a record of 400 bytes
	// fits under 512, one of more than 512 does not.
	var small, notLarge int
	for _, rec := range produced(3, 100) {
		if len(rec) < 400 {
			small++
		}
		if len(rec) <= 512 {
			notLarge++
		}
	}

	args := []string{"ship", ringFile, "--nats", srv.URL(), "--stream", "S", "--subject", "s", "--headers=false"}
	want(t, logbuf(t, args...), exitFailure, "", "too large")
	var snap snapshot
	if err := json.Unmarshal([]byte(logbuf(t, "stat", "--json", ringFile).stdout), &snap); err != nil {
		t.Fatal(err)
	}
	if snap.Lag.Records == 0 {
		t.Error("--too-large stop: the record that stopped the shipper left the ring")
	}

	r := logbuf(t, append(args, "--too-large", "skip")...)
	want(t, r, exitOK, "", "skipped the record at position")
	skipped := strings.Count(r.stderr, "skipped the record at position")
	want(t, r, exitOK, "", fmt.Sprintf("%d records (", skipped))
	var got int
	natstest.ReadStream(t, js, "S", func(uint64, jetstream.Msg) { got++ })
	if got+skipped != 100 || skipped == 0 {
		t.Errorf("stream holds %d records and %d were skipped: want 100 in all, some skipped", got, skipped)
	}
	if got < small || got > notLarge {
		t.Errorf("stream holds %d records: want at least the %d of less than 400 bytes, at most the %d of 512 or less", got, small, notLarge)
	}
}
