package ship_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/logbuf/logbuf/drain"
	"github.com/logbuf/logbuf/internal/natstest"
	"github.com/logbuf/logbuf/ship"
)

// TestTooLarge sends a batch whose middle record is larger than the server
// (max_payload) or the stream (max_msg_size) accepts, under each policy.
func TestTooLarge(t *testing.T) {
	for _, limit := range []string{"server max_payload", "stream max_msg_size"} {
		t.Run(limit, func(t *testing.T) {
			srv := natstest.Start(t, func(o *server.Options) {
				if limit == "server max_payload" {
					o.MaxPayload = 1024
				}
			})
			nc := connect(t, srv)
			js := newJS(t, nc)
			natstest.CreateStream(t, js, "LOGS", "logs.test", func(c *jetstream.StreamConfig) {
				if limit == "stream max_msg_size" {
					c.MaxMsgSize = 1024
				}
			})
			batch := &drain.Batch{RingID: [16]byte{1, 2, 3}, Records: []drain.Record{
				{Data: []byte("first"), Pos: 0, Seq: 0},
				{Data: bytes.Repeat([]byte{'x'}, 2000), Pos: 16, Seq: 1},
				{Data: []byte("third"), Pos: 2032, Seq: 2},
			}}

			s := newSink(t, nc, ship.Options{})
			err := s.Write(context.Background(), batch)
			if !errors.Is(err, ship.ErrTooLarge) || !strings.Contains(err.Error(), "position 16") {
				t.Fatalf("StopOnTooLarge: Write returned %v, want ErrTooLarge naming position 16", err)
			}

			var skips []ship.Skipped
			s = newSink(t, nc, ship.Options{TooLarge: ship.SkipTooLarge, OnSkip: func(k ship.Skipped) { skips = append(skips, k) }})
			if err := s.Write(context.Background(), batch); err != nil {
				t.Fatalf("SkipTooLarge: %v", err)
			}
			if len(skips) != 1 || skips[0].Pos != 16 || skips[0].Size != 2000 || skips[0].Err == nil {
				t.Errorf("OnSkip got %+v, want one report of the 2000-byte record at 16 with its error", skips)
			}
			if st := s.Stats(); st.Skipped != 1 || st.SkippedBytes != 2000 || st.Records != 2 {
				t.Errorf("stats %+v: want 1 skipped (2000 bytes) and 2 stored", st)
			}
			got := readAll(t, js, "LOGS")
			if len(got) != 2 || got[0] != "first" || got[1] != "third" {
				t.Errorf("stream holds %q, want [first third]", got)
			}
		})
	}
}

func readAll(t *testing.T, js jetstream.JetStream, stream string) []string {
	t.Helper()
	var out []string
	natstest.ReadStream(t, js, stream, func(_ uint64, m jetstream.Msg) { out = append(out, string(m.Data())) })
	return out
}

// TestNewRefusesBufferingConnection: a connection that buffers publishes
// while reconnecting could store records out of order.
func TestNewRefusesBufferingConnection(t *testing.T) {
	srv := natstest.Start(t, nil)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := ship.New(nc, ship.Options{Subject: "logs.test"}); err == nil || !strings.Contains(err.Error(), "ReconnectBufSize") {
		t.Errorf("New on a buffering connection: %v, want an error naming ReconnectBufSize", err)
	}
	if _, err := ship.New(connect(t, srv), ship.Options{}); err == nil {
		t.Error("New without a subject: no error")
	}
}

// TestWriteGivesUp: Write returns when the connection is closed for good,
// or when its context ends while the server is away, instead of retrying
// for ever.
func TestWriteGivesUp(t *testing.T) {
	srv := natstest.Start(t, nil)
	nc := connect(t, srv)
	natstest.CreateStream(t, newJS(t, nc), "LOGS", "logs.test", nil)
	batch := &drain.Batch{Records: []drain.Record{{Data: []byte("a")}}}

	s := newSink(t, nc, ship.Options{})
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := s.Write(ctx, batch); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("server down, context ended: Write returned %v, want context.DeadlineExceeded", err)
	}
	if st := s.Stats(); st.Records != 0 {
		t.Errorf("stats %+v: nothing can have been stored", st)
	}

	nc.Close()
	if err := s.Write(context.Background(), batch); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("closed connection: Write returned %v, want an error saying it is closed", err)
	}
}

func TestMsgID(t *testing.T) {
	id := [16]byte{0xde, 0xad, 0xbe, 0xef, 15: 0x01}
	s := ship.MsgID(id, 1234567)
	if want := "deadbeef000000000000000000000001-1234567"; s != want {
		t.Errorf("MsgID = %q, want %q", s, want)
	}
	gotID, pos, err := ship.ParseMsgID(s)
	if err != nil || gotID != id || pos != 1234567 {
		t.Errorf("ParseMsgID(%q) = %x, %d, %v", s, gotID, pos, err)
	}
	for _, bad := range []string{"", "deadbeef-1", "deadbeef000000000000000000000001", "deadbeef00000000000000000000000g-1", "deadbeef000000000000000000000001-x", "deadbeef000000000000000000000001--1"} {
		if _, _, err := ship.ParseMsgID(bad); err == nil {
			t.Errorf("ParseMsgID(%q): no error", bad)
		}
	}
}
