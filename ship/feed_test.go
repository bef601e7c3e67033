package ship_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/logbuf/logbuf/drain"
	"github.com/logbuf/logbuf/ship"
)

// feed is what a ring with two producers would hand a drainer: records of
// producer 0 and 1 interleaved at random, each numbered by its producer,
// at the positions a ring gives them. Payloads are made from (producer,
// number), so a reader of the stream can check every byte.
type feed struct {
	ringID   [16]byte
	producer []uint8
	pseq     []uint32 // the record's number within its producer
	size     []uint16 // payload length
	pos      []uint64
	buf      []byte // payloads of the batch being built
	batch    drain.Batch
}

const recordHeader = 1 + 4 // producer, number

func newFeed(n int, minSize, maxSize int, seed uint64) *feed {
	rng := rand.New(rand.NewPCG(seed, 1))
	f := &feed{producer: make([]uint8, n), pseq: make([]uint32, n), size: make([]uint16, n), pos: make([]uint64, n)}
	for i := range f.ringID {
		f.ringID[i] = byte(rng.Uint32())
	}
	var next [2]uint32
	pos := uint64(1 << 20) // not 0: a ring that has already wrapped
	for i := range n {
		p := uint8(rng.IntN(2))
		f.producer[i], f.pseq[i] = p, next[p]
		next[p]++
		f.size[i] = uint16(minSize + rng.IntN(maxSize-minSize+1))
		f.pos[i] = pos
		pos += 8 + (uint64(f.size[i])+7)&^7 // the ring's record size
	}
	return f
}

// payload appends record i's bytes to dst.
func (f *feed) payload(dst []byte, i int) []byte {
	end := len(dst) + int(f.size[i])
	dst = append(dst, f.producer[i])
	dst = binary.LittleEndian.AppendUint32(dst, f.pseq[i])
	x := f.pseq[i]*2654435761 + uint32(f.producer[i])
	for len(dst) < end {
		dst = append(dst, byte(x>>24))
		x = x*1664525 + 1013904223
	}
	return dst
}

// batchAt builds the batch of records [from, to).
func (f *feed) batchAt(from, to int) *drain.Batch {
	f.buf = f.buf[:0]
	f.batch.RingID = f.ringID
	f.batch.Records = f.batch.Records[:0]
	for i := from; i < to; i++ {
		f.buf = f.payload(f.buf, i)
		f.batch.Records = append(f.batch.Records, drain.Record{Pos: f.pos[i], Seq: uint64(i)})
	}
	// Data after the appends: f.buf may have moved while it grew.
	off := 0
	for k := range f.batch.Records {
		n := int(f.size[from+k])
		f.batch.Records[k].Data = f.buf[off : off+n : off+n]
		off += n
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
// producer's in its order), with the message id and sequence header the
// sink writes (and the sequence header if seqHeader). skip lists records
// that must be absent.
func checkStream(t *testing.T, js jetstream.JetStream, stream string, f *feed, seqHeader bool, skip map[int]bool) {
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
	want := len(f.pos) - len(skip)
	if info.State.Msgs != uint64(want) {
		t.Errorf("stream holds %d messages, want %d", info.State.Msgs, want)
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
	var next [2]uint32
	i, got, bad := 0, 0, 0
	var exp []byte
	report := func(format string, args ...any) {
		if bad++; bad <= 10 {
			t.Errorf("message %d: "+format, append([]any{got}, args...)...)
		}
	}
	for got < int(info.State.Msgs) {
		m, err := it.Next()
		if err != nil {
			t.Fatalf("after %d messages: %v", got, err)
		}
		for skip[i] {
			next[f.producer[i]]++
			i++
		}
		if i >= len(f.pos) {
			report("more messages than records")
			break
		}
		data := m.Data()
		if len(data) < recordHeader {
			report("%d bytes, shorter than a record header", len(data))
		} else if p, n := data[0], binary.LittleEndian.Uint32(data[1:]); p > 1 || n != next[p] {
			report("producer %d record %d, want record %d of that producer (ring order: producer %d record %d)", p, n, next[min(p, 1)], f.producer[i], f.pseq[i])
		} else if exp = f.payload(exp[:0], i); !bytes.Equal(data, exp) {
			report("producer %d record %d: payload differs from what was produced", p, n)
		}
		if id, want := m.Headers().Get(jetstream.MsgIDHeader), ship.MsgID(f.ringID, f.pos[i]); id != want {
			report("Nats-Msg-Id %q, want %q", id, want)
		}
		wantSeq := ""
		if seqHeader {
			wantSeq = strconv.Itoa(i)
		}
		if seq := m.Headers().Get(ship.HeaderSeq); seq != wantSeq {
			report("%s %q, want %q", ship.HeaderSeq, seq, wantSeq)
		}
		next[f.producer[i]]++
		i++
		got++
	}
	if bad > 10 {
		t.Errorf("... %d bad messages in all", bad)
	}
	if t.Failed() {
		t.FailNow()
	}
}
