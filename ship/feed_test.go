package ship_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/logbuf/logbuf/drain"
	"github.com/logbuf/logbuf/internal/natstest"
	"github.com/logbuf/logbuf/ship"
)

// feed is what a ring with two producers would hand a drainer: records of
// producer 0 and 1 interleaved at random, each numbered by its producer,
// at the positions a ring gives them. Payloads are made from (producer,
// number), so a reader of the stream can check every byte; they are made
// once, up front, as a ring holds them before the drainer reads.
type feed struct {
	ringID   [16]byte
	producer []uint8
	pseq     []uint32 // the record's number within its producer
	pos      []uint64
	off      []int  // record i is data[off[i]:off[i+1]]
	data     []byte // the payloads back to back
	batch    drain.Batch
}

const recordHeader = 1 + 4 // producer, number

func newFeed(n int, minSize, maxSize int, seed uint64) *feed {
	rng := rand.New(rand.NewPCG(seed, 1))
	f := &feed{producer: make([]uint8, n), pseq: make([]uint32, n), pos: make([]uint64, n), off: make([]int, n+1)}
	for i := range f.ringID {
		f.ringID[i] = byte(rng.Uint32())
	}
	var next [2]uint32
	pos := uint64(1 << 20) // not 0: a ring that has already wrapped
	for i := range n {
		p := uint8(rng.IntN(2))
		f.producer[i], f.pseq[i] = p, next[p]
		next[p]++
		size := minSize + rng.IntN(maxSize-minSize+1)
		f.data = payload(f.data, p, f.pseq[i], size)
		f.off[i+1] = len(f.data)
		f.pos[i] = pos
		pos += 8 + uint64(size+7)&^7 // the ring's record size
	}
	return f
}

// payload appends the bytes of record number pseq of producer p.
func payload(dst []byte, p uint8, pseq uint32, size int) []byte {
	end := len(dst) + size
	dst = append(dst, p)
	dst = binary.LittleEndian.AppendUint32(dst, pseq)
	x := pseq*2654435761 + uint32(p)
	for len(dst) < end {
		dst = append(dst, byte(x>>24))
		x = x*1664525 + 1013904223
	}
	return dst
}

// record is record i's payload.
func (f *feed) record(i int) []byte { return f.data[f.off[i]:f.off[i+1]:f.off[i+1]] }

// batchAt is the batch of records [from, to).
func (f *feed) batchAt(from, to int) *drain.Batch {
	f.batch.RingID = f.ringID
	f.batch.Records = f.batch.Records[:0]
	for i := from; i < to; i++ {
		f.batch.Records = append(f.batch.Records, drain.Record{Data: f.record(i), Pos: f.pos[i], Seq: uint64(i)})
	}
	return &f.batch
}

// shipRange writes records [from, to) in batches of batchSize and returns
// the index of the first record not written (to, unless Write failed, with
// its error).
func shipRange(ctx context.Context, s *ship.Sink, f *feed, from, to, batchSize int) (int, error) {
	for from < to {
		if err := ctx.Err(); err != nil {
			return from, err // as a drainer stops
		}
		end := min(from+batchSize, to)
		if err := s.Write(ctx, f.batchAt(from, end)); err != nil {
			return from, err
		}
		from = end
	}
	return from, nil
}

// checkStream reads the stream back in order and checks that it holds
// every record of f exactly once, byte for byte, in ring order (so each
// producer's in its order), with the message id the sink writes (and the
// sequence header if seqHeader).
func checkStream(t *testing.T, js jetstream.JetStream, stream string, f *feed, seqHeader bool) {
	t.Helper()
	var next [2]uint32
	bad := 0
	got := natstest.ReadStream(t, js, stream, func(i uint64, m jetstream.Msg) {
		report := func(format string, args ...any) {
			if bad++; bad <= 10 {
				t.Errorf("message %d: "+format, append([]any{i}, args...)...)
			}
		}
		if i >= uint64(len(f.pos)) {
			report("more messages than records")
			return
		}
		data := m.Data()
		if len(data) < recordHeader {
			report("%d bytes, shorter than a record header", len(data))
		} else if p, n := data[0], binary.LittleEndian.Uint32(data[1:]); p > 1 || n != next[p] {
			report("producer %d record %d, want record %d of that producer (ring order: producer %d record %d)", p, n, next[min(p, 1)], f.producer[i], f.pseq[i])
		} else if !bytes.Equal(data, f.record(int(i))) {
			report("producer %d record %d: payload differs from what was produced", p, n)
		}
		if id, want := m.Headers().Get(jetstream.MsgIDHeader), ship.MsgID(f.ringID, f.pos[i]); id != want {
			report("Nats-Msg-Id %q, want %q", id, want)
		}
		wantSeq := ""
		if seqHeader {
			wantSeq = strconv.FormatUint(i, 10)
		}
		if seq := m.Headers().Get(ship.HeaderSeq); seq != wantSeq {
			report("%s %q, want %q", ship.HeaderSeq, seq, wantSeq)
		}
		next[f.producer[i]]++
	})
	if got != uint64(len(f.pos)) {
		t.Errorf("stream holds %d messages, want %d", got, len(f.pos))
	}
	if bad > 10 {
		t.Errorf("... %d bad messages in all", bad)
	}
	if t.Failed() {
		t.FailNow()
	}
}
