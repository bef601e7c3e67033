package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/logbuf/logbuf/ship"
)

// replayNATSOpts are replay --nats's settings.
type replayNATSOpts struct {
	conn    natsFlags
	stream  string
	subject string // filter; empty for the whole stream
	format  string
}

// natsReplayCheck follows each ring's records through the stream: their
// positions (from the message id) must rise, and their sequence numbers
// (the Logbuf-Seq header, when the shipper wrote it) rise by one.
type natsReplayCheck struct {
	rings   map[[16]byte]*ringTrack
	foreign uint64 // messages without a logbuf message id
	back    uint64 // positions at or before one already seen
	gaps    uint64 // missing sequence numbers
	w       io.Writer
	reports int
}

type ringTrack struct {
	pos, seq      uint64
	hasPos, hasSq bool
	records       uint64
}

func (c *natsReplayCheck) report(format string, args ...any) {
	if c.reports++; c.reports <= 20 {
		fmt.Fprintf(c.w, "logbuf replay: "+format+"\n", args...)
	}
}

func (c *natsReplayCheck) add(streamSeq uint64, h map[string][]string) {
	id := first(h[jetstream.MsgIDHeader])
	ringID, pos, err := ship.ParseMsgID(id)
	if err != nil {
		c.foreign++
		return
	}
	r := c.rings[ringID]
	if r == nil {
		r = &ringTrack{}
		c.rings[ringID] = r
	}
	r.records++
	if r.hasPos && pos <= r.pos {
		c.back++
		c.report("stream message %d: ring %x position %d comes after position %d (a duplicate or a record stored out of order)", streamSeq, ringID, pos, r.pos)
	} else {
		r.pos, r.hasPos = pos, true
	}
	if s := first(h[ship.HeaderSeq]); s != "" {
		seq, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			c.report("stream message %d: %s %q is not a number", streamSeq, ship.HeaderSeq, s)
			return
		}
		if r.hasSq && seq > r.seq+1 {
			c.gaps += seq - r.seq - 1
			c.report("stream message %d: ring %x sequence %d follows %d: %d record(s) missing (lost, or skipped as too large by the shipper)", streamSeq, ringID, seq, r.seq, seq-r.seq-1)
		}
		if !r.hasSq || seq > r.seq {
			r.seq, r.hasSq = seq, true
		}
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// replayNATS writes the records of a stream to stdout in stream order and
// checks them per ring; it returns exitDamaged when a check failed.
func replayNATS(ctx context.Context, e *env, o replayNATSOpts) (int, error) {
	nc, err := o.conn.connect(false)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	cfg := jetstream.OrderedConsumerConfig{}
	if o.subject != "" {
		cfg.FilterSubjects = []string{o.subject}
	}
	cons, err := js.OrderedConsumer(ctx, o.stream, cfg)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", o.stream, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", o.stream, err)
	}
	out := newRecordWriter(e.stdout, o.format)
	check := &natsReplayCheck{rings: map[[16]byte]*ringTrack{}, w: e.stderr}
	if info.NumPending > 0 {
		it, err := cons.Messages(jetstream.PullMaxMessages(1024))
		if err != nil {
			return 0, err
		}
		defer it.Stop()
		for {
			m, err := it.Next(jetstream.NextContext(ctx))
			if err != nil {
				out.flush()
				return 0, fmt.Errorf("after %d records: %w", out.n, err)
			}
			meta, err := m.Metadata()
			if err != nil {
				return 0, err
			}
			out.write(m.Data())
			check.add(meta.Sequence.Stream, m.Headers())
			if meta.NumPending == 0 {
				break // the end of the stream as it was when we started
			}
		}
	}
	if err := out.flush(); err != nil {
		return 0, err
	}
	fmt.Fprintf(e.stderr, "logbuf replay: %d record(s) from %d ring(s) in stream %s", out.n, len(check.rings), o.stream)
	if check.foreign > 0 {
		fmt.Fprintf(e.stderr, ", %d without a logbuf message id", check.foreign)
	}
	fmt.Fprintln(e.stderr)
	if check.back > 0 || check.gaps > 0 {
		fmt.Fprintf(e.stderr, "logbuf replay: %d record(s) out of order or duplicated, %d missing by sequence number\n", check.back, check.gaps)
		return exitDamaged, nil
	}
	return exitOK, nil
}
