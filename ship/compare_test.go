package ship_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/logbuf/logbuf/internal/natstest"
	"github.com/logbuf/logbuf/ship"
)

// TestCompareHandLoop measures the sink against what a user would write by
// hand: a loop of jetstream PublishAsync calls and one wait for all acks at
// the end, with the same in-flight limit, on the same server, in
// interleaved rounds (the order alternating each round), at 64 B, 512 B and
// 4 KiB. It also runs the hand loop with a Nats-Msg-Id on every message, to
// show what the id (and the server's duplicate check) costs by itself, and
// the sink with batches four times as large, to show what waiting for each
// batch's acks before the next costs. The
// server is a separate nats-server process (built from the module) with a
// file store, so client and server do not share a Go runtime.
//
//	LOGBUF_SHIP_BENCH=1 go test ./ship -run TestCompareHandLoop -v -timeout 30m
//
// LOGBUF_SHIP_BENCH_ROUNDS (default 5) and LOGBUF_SHIP_BENCH_MB (payload MB
// per run, default 32) size it.
func TestCompareHandLoop(t *testing.T) {
	if os.Getenv("LOGBUF_SHIP_BENCH") == "" {
		t.Skip("a measurement, not a test: set LOGBUF_SHIP_BENCH=1")
	}
	rounds := envInt(t, "LOGBUF_SHIP_BENCH_ROUNDS", 5)
	mb := envInt(t, "LOGBUF_SHIP_BENCH_MB", 32)
	url, serverPID := startServerProcess(t)
	nc, err := ship.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js := newJS(t, nc)
	const inFlight, batchRecords, batchBytes = 4096, 4096, 4 << 20

	type method struct {
		name string
		run  func(f *feed) error
	}
	methods := []method{
		{"hand loop", func(f *feed) error { return handLoop(nc, f, inFlight, false) }},
		{"hand loop + msg id", func(f *feed) error { return handLoop(nc, f, inFlight, true) }},
		{"ship.Sink", func(f *feed) error { return sinkBatches(nc, f, inFlight, batchRecords, batchBytes) }},
		// Batches four times as large: what waiting for each batch's acks
		// before the next costs shows as a difference.
		{"ship.Sink 4x batch", func(f *feed) error { return sinkBatches(nc, f, inFlight, 4*batchRecords, 4*batchBytes) }},
	}
	fmt.Printf("%-6s %-18s %8s %10s %12s %12s\n", "size", "method", "round", "MB/s", "records/s", "CPU µs/rec")
	for _, size := range []int{64, 512, 4096} {
		n := mb << 20 / size
		f := newFeed(n, size, size, uint64(size))
		rates := make([][]float64, len(methods))
		cpus := make([][]float64, len(methods)) // client and server CPU µs per record
		for r := range rounds {
			for k := range methods {
				if r%2 == 1 {
					k = len(methods) - 1 - k
				}
				m := methods[k]
				natstest.CreateStream(t, js, "BENCH", "bench.x", nil)
				start, cpu0, scpu0 := time.Now(), natstest.ProcessCPU(t, os.Getpid()), natstest.ProcessCPU(t, serverPID)
				if err := m.run(f); err != nil {
					t.Fatalf("%s: %v", m.name, err)
				}
				el := time.Since(start).Seconds()
				cpu := (natstest.ProcessCPU(t, os.Getpid()) - cpu0 + natstest.ProcessCPU(t, serverPID) - scpu0).Seconds()
				if got := streamMsgs(t, js, "BENCH"); got != uint64(n) {
					t.Fatalf("%s: stream holds %d messages, want %d", m.name, got, n)
				}
				if err := js.DeleteStream(context.Background(), "BENCH"); err != nil {
					t.Fatal(err)
				}
				rates[k] = append(rates[k], float64(n)/el)
				cpus[k] = append(cpus[k], cpu/float64(n)*1e6)
				fmt.Printf("%-6d %-18s %8d %10.1f %12.0f %12.2f\n", size, m.name, r+1, float64(n*size)/el/1e6, float64(n)/el, cpu/float64(n)*1e6)
			}
		}
		for k, m := range methods {
			ratios := make([]float64, rounds)
			for r := range rounds {
				ratios[r] = rates[k][r] / rates[0][r]
			}
			fmt.Printf("%-6d %-18s median %7.1f MB/s %8.0f records/s %6.2f CPU µs/record; ratio to hand loop per round: median %.2f (%s)\n",
				size, m.name, median(rates[k])*float64(size)/1e6, median(rates[k]), median(cpus[k]), median(ratios), fmtRatios(ratios))
		}
	}
}

// sinkBatches ships f through a Sink in batches of at most batchRecords
// records and batchBytes bytes, as a drainer would.
func sinkBatches(nc *nats.Conn, f *feed, inFlight, batchRecords, batchBytes int) error {
	s, err := ship.New(nc, ship.Options{Subject: "bench.x", MaxInFlight: inFlight})
	if err != nil {
		return err
	}
	for from := 0; from < len(f.pos); {
		to := from
		for size := 0; to < len(f.pos) && to-from < batchRecords && size < batchBytes; to++ {
			size += len(f.record(to))
		}
		if err := s.Write(context.Background(), f.batchAt(from, to)); err != nil {
			return err
		}
		from = to
	}
	return nil
}

// handLoop publishes f's records the way a user would by hand.
func handLoop(nc *nats.Conn, f *feed, inFlight int, msgID bool) error {
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(inFlight))
	if err != nil {
		return err
	}
	var opts []jetstream.PublishOpt
	for i := range f.pos {
		if msgID {
			opts = []jetstream.PublishOpt{jetstream.WithMsgID(ship.MsgID(f.ringID, f.pos[i]))}
		}
		for {
			_, err := js.PublishAsync("bench.x", f.record(i), opts...)
			if errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
				continue // 200 ms without a free slot: the server is busy
			}
			if err != nil {
				return err
			}
			break
		}
	}
	select {
	case <-js.PublishAsyncComplete():
		return nil
	case <-time.After(time.Minute):
		return fmt.Errorf("acks missing after a minute")
	}
}

func streamMsgs(t *testing.T, js jetstream.JetStream, name string) uint64 {
	st, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// startServerProcess builds nats-server from the module and runs it with
// JetStream on a free loopback port.
func startServerProcess(t *testing.T) (url string, pid int) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "nats-server")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput(); err != nil {
		t.Fatalf("go build nats-server: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", filepath.Join(dir, "store"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url = "nats://127.0.0.1:" + strconv.Itoa(port)
	for range 100 {
		if nc, err := nats.Connect(url); err == nil {
			nc.Close()
			return url, cmd.Process.Pid
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("nats-server did not accept connections in 10 s")
	return "", 0
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtRatios(x []float64) string {
	s := ""
	for i, v := range x {
		if i > 0 {
			s += " "
		}
		s += strconv.FormatFloat(v, 'f', 2, 64)
	}
	return s
}
