package ship_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logbuf/logbuf/internal/natstest"
	"github.com/logbuf/logbuf/ship"
)

// TestShipKilled runs the shipper as a process (this test binary again, in
// TestShipKilledChild) and SIGKILLs it 20 times at random moments once it
// has made progress, starting a new one each time, then lets the last one
// finish. The child keeps its "released" mark in a file, written after each
// Write returned nil, as a drainer moves the ring's head: a restarted child
// resumes there. The stream must hold every record exactly once, in order.
// (The same test with the real ring and the logbuf ship command is in
// cmd/logbuf.)
func TestShipKilled(t *testing.T) {
	n := records(t, 100_000) / 5
	srv := natstest.Start(t, nil)
	js := newJS(t, connect(t, srv))
	natstest.CreateStream(t, js, "LOGS", "logs.test", nil)
	state := filepath.Join(t.TempDir(), "released")
	rng := rand.New(rand.NewPCG(4, 4))
	for life := 0; ; life++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestShipKilledChild$", "-test.v")
		cmd.Env = append(os.Environ(), fmt.Sprintf("LOGBUF_SHIP_CHILD=%s,%s,%d", srv.URL(), state, n))
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if life == 20 {
			if err := cmd.Wait(); err != nil {
				t.Fatalf("last shipper: %v\n%s", err, out)
			}
			break
		}
		// Kill it a random moment after it released a random share of
		// what is left (at most a fortieth).
		before := readReleased(t, state)
		target := before + 1 + rng.IntN(max(1, (n-before)/(2*(21-life))))
		for readReleased(t, state) < target {
			time.Sleep(100 * time.Microsecond)
		}
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if readReleased(t, state) == n {
			t.Fatalf("shipper %d finished before it was killed: too few records for 20 kills", life+1)
		}
	}
	checkStream(t, js, "LOGS", f4(n), false, nil)
}

// f4 is the feed TestShipKilled ships.
func f4(n int) *feed { return newFeed(n, recordHeader, 200, 4) }

func readReleased(t *testing.T, path string) int {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatalf("%s: %q", path, b)
	}
	return v
}

// TestShipKilledChild is the shipper process of TestShipKilled.
func TestShipKilledChild(t *testing.T) {
	arg := os.Getenv("LOGBUF_SHIP_CHILD")
	if arg == "" {
		t.Skip("run by TestShipKilled")
	}
	parts := strings.Split(arg, ",")
	url, state := parts[0], parts[1]
	n, _ := strconv.Atoi(parts[2])
	nc, err := ship.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ship.New(nc, ship.Options{Subject: "logs.test"})
	if err != nil {
		t.Fatal(err)
	}
	f := f4(n)
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), 0))
	for from := readReleased(t, state); from < n; {
		to := min(n, from+1+rng.IntN(1024))
		if err := s.Write(context.Background(), f.batchAt(from, to)); err != nil {
			t.Fatal(err)
		}
		// The ring's head moves only now; rename makes the move atomic.
		tmp := state + ".tmp"
		if err := os.WriteFile(tmp, []byte(strconv.Itoa(to)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, state); err != nil {
			t.Fatal(err)
		}
		from = to
	}
}
