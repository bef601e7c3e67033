package ship_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// testServer is a real nats-server with JetStream, in this process, that a
// test can stop and start again on the same port with the same store.
type testServer struct {
	t    testing.TB
	opts server.Options
	srv  *server.Server
}

// startServer starts a server on a free loopback port with its store in a
// temporary directory; tweak, if set, adjusts the options first.
func startServer(t testing.TB, tweak func(*server.Options)) *testServer {
	t.Helper()
	s := &testServer{t: t, opts: server.Options{
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
	s.start()
	// Later starts listen where the first one did, so clients reconnect.
	s.opts.Port = s.srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(s.stop)
	return s
}

// start starts the server (again).
func (s *testServer) start() {
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

// stop shuts the server down; its store stays for the next start.
func (s *testServer) stop() {
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
		s.srv = nil
	}
}

// url is the address clients connect to.
func (s *testServer) url() string {
	return "nats://" + net.JoinHostPort(s.opts.Host, itoa(s.opts.Port))
}

// createStream makes the stream the tests ship to: file storage, the
// subject, and a duplicate window longer than any restart a test makes.
func createStream(t testing.TB, js jetstream.JetStream, name, subject string, tweak func(*jetstream.StreamConfig)) {
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
