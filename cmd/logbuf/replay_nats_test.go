package main

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/logbuf/logbuf/drain"
	"github.com/logbuf/logbuf/internal/natstest"
	"github.com/logbuf/logbuf/ship"
)

// TestReplayNATS reads back what a sink shipped, then a stream with a
// duplicate, a record out of order and a missing one, which replay must
// report.
func TestReplayNATS(t *testing.T) {
	srv := natstest.Start(t, nil)
	nc, js := srv.Connect(t)
	natstest.CreateStream(t, js, "GOOD", "good", nil)
	natstest.CreateStream(t, js, "BAD", "bad", nil)
	s, err := ship.New(nc, ship.Options{Subject: "good", SeqHeader: true})
	if err != nil {
		t.Fatal(err)
	}
	ring := [16]byte{9: 7}
	b := &drain.Batch{RingID: ring, Records: []drain.Record{
		{Data: []byte("one "), Pos: 64, Seq: 5}, {Data: []byte("two "), Pos: 80, Seq: 6}, {Data: []byte("three"), Pos: 96, Seq: 7},
	}}
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	want(t, logbuf(t, "replay", "--nats", srv.URL(), "--stream", "GOOD"), exitOK, "one two three", "3 record(s) from 1 ring(s) in stream GOOD")
	want(t, logbuf(t, "replay", "--nats", srv.URL(), "--stream", "GOOD", "--subject", "other"), exitOK, "", "0 record(s)")

	// Position 80 twice (the second id written "080", so that the stream
	// does not drop it as a duplicate), then sequence 9 after 7.
	prefix := ship.MsgID(ring, 0)[:33]
	for _, m := range []struct{ pos, seq string }{{"64", "6"}, {"80", "7"}, {"080", "7"}, {"112", "9"}} {
		msg := &nats.Msg{Subject: "bad", Data: []byte("x"), Header: nats.Header{
			jetstream.MsgIDHeader: {prefix + m.pos},
			ship.HeaderSeq:        {m.seq},
		}}
		if _, err := js.PublishMsg(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	r := logbuf(t, "replay", "--nats", srv.URL(), "--stream", "BAD")
	want(t, r, exitDamaged, "xxxx", "ring 00000000000000000007000000000000 position 80 comes after position 80")
	want(t, r, exitDamaged, "", "sequence 9 follows 7: 1 record(s) missing")

	want(t, logbuf(t, "replay", "--nats", srv.URL()), exitUsage, "", "--nats needs --stream NAME")
	want(t, logbuf(t, "replay", "--nats", srv.URL(), "--stream", "GOOD", "dir"), exitUsage, "", "no DIR argument")
	want(t, logbuf(t, "replay", "--nats", srv.URL(), "--stream", "NOPE"), exitFailure, "", "stream NOPE")
}
