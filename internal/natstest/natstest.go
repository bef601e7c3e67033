// Package natstest runs a real nats-server with JetStream inside a test
// process, for the tests of the shipper and the tool: it can be stopped and
// started again on the same port with the same store, as a server that
// restarts would be. Only tests import it, so only tests link the server.
package natstest

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is a nats-server with JetStream on a loopback port.
type Server struct {
	t    testing.TB
	opts server.Options
	srv  *server.Server
}

// Start starts a server on a free loopback port with its store in a
// temporary directory of t; tweak, if set, adjusts the options first. The
// server stops when the test ends.
func Start(t testing.TB, tweak func(*server.Options)) *Server {
	t.Helper()
	s := &Server{t: t, opts: server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: true,
		StoreDir:  t.TempDir(),
		NoLog:     true,
		NoSigs:    true,
	}}
	if tweak != nil {
		tweak(&s.opts)
	}
	s.Restart()
	// Later starts listen where the first one did, so clients reconnect.
	s.opts.Port = s.srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(s.Stop)
	return s
}

// Restart starts the stopped server again, on its port and its store.
func (s *Server) Restart() {
	s.t.Helper()
	opts := s.opts // the server keeps and changes its copy
	srv, err := server.NewServer(&opts)
	if err != nil {
		s.t.Fatalf("nats-server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		s.t.Fatal("nats-server did not accept connections within 30 s")
	}
	s.srv = srv
}

// Stop shuts the server down; its store stays for Restart.
func (s *Server) Stop() {
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
		s.srv = nil
	}
}

// URL is the address clients connect to.
func (s *Server) URL() string {
	return "nats://" + net.JoinHostPort(s.opts.Host, strconv.Itoa(s.opts.Port))
}

// CreateStream makes a stream as the tests ship to it: file storage, the
// subject, and a duplicate window (10 minutes) longer than any restart a
// test makes; tweak, if set, adjusts the configuration first.
func CreateStream(t testing.TB, js jetstream.JetStream, name, subject string, tweak func(*jetstream.StreamConfig)) {
	t.Helper()
	cfg := jetstream.StreamConfig{
		Name:       name,
		Subjects:   []string{subject},
		Storage:    jetstream.FileStorage,
		Duplicates: 10 * time.Minute,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, cfg); err != nil {
		t.Fatalf("create stream %s: %v", name, err)
	}
}

// ProcessCPU is the CPU time (user and system) process pid has used so far,
// from /proc: how the tests tell a shipper that waits for a server from one
// that spins, and how the comparison counts a server process's work.
func ProcessCPU(t testing.TB, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// utime and stime, in clock ticks, are fields 14 and 15; the command
	// name before them is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		t.Fatalf("/proc/%d/stat: %q is not a stat line", pid, b)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("/proc/%d/stat: %v", pid, err)
	}
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// ReadStream hands fn each message of the stream, in stream order, from
// the first to the last it holds now, and returns how many there were.
func ReadStream(t testing.TB, js jetstream.JetStream, stream string, fn func(n uint64, m jetstream.Msg)) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs == 0 {
		return 0
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(4096))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Stop()
	for n := range info.State.Msgs {
		m, err := it.Next()
		if err != nil {
			t.Fatalf("stream %s: after %d of %d messages: %v", stream, n, info.State.Msgs, err)
		}
		fn(n, m)
	}
	return info.State.Msgs
}

// Records is the size of a test's big run: LOGBUF_SHIP_RECORDS if set, else
// short under -short, race under the race detector (raceEnabled), else
// full.
func Records(t testing.TB, full, race, short int, raceEnabled bool) int {
	if s := os.Getenv("LOGBUF_SHIP_RECORDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 2 {
			t.Fatalf("LOGBUF_SHIP_RECORDS=%q: want a count of 2 or more", s)
		}
		return n
	}
	switch {
	case testing.Short():
		return short
	case raceEnabled:
		return race
	}
	return full
}

// Connect is a client of the server, as a shipper connects (reconnect for
// ever, no reconnect buffer, quick reconnects), with its JetStream context;
// it closes when the test ends.
func (s *Server) Connect(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(s.URL(), nats.MaxReconnects(-1), nats.ReconnectBufSize(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}
