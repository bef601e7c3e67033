package fuzz

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"testing"
	"unsafe"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/ring"
)

// input hands out the fuzzer's bytes one at a time; past the end it gives 0.
type input struct{ b []byte }

func (in *input) more() bool { return len(in.b) > 0 }

func (in *input) byte() byte {
	if len(in.b) == 0 {
		return 0
	}
	v := in.b[0]
	in.b = in.b[1:]
	return v
}

func (in *input) u16() uint16 { return uint16(in.byte()) | uint16(in.byte())<<8 }

func (in *input) u64() uint64 {
	var v uint64
	for i := range 8 {
		v |= uint64(in.byte()) << (8 * i)
	}
	return v
}

// Operation codes of FuzzSPSC and FuzzMPSC. Each is one byte, followed by
// its arguments (see rig.step).
const (
	opClaim    = iota // producer, length
	opWrite           // claim, offset, seed
	opCommit          // claim
	opAbort           // claim
	opRead            // TryRead
	opRelease         // Release
	opBatch           // max records
	opTryWrite        // producer, length, seed
	opReEnd           // ended claim, commit or abort
	opDrain           // TryRead until empty, no release
	opRecover         // claim (MPSC: the consumer recovers it, spec section 9)
	opClose           // producer
	numOps
)

// maxSteps bounds one input's operations, so an execution stays short.
const maxSteps = 600

// claim pairs a real claim with the model's entry for it.
type claim struct {
	c         ring.Claim
	e         *Entry
	recovered bool // the consumer took it back (opRecover)
}

// rig runs a ring and its model in lock step.
type rig struct {
	t      testing.TB
	m      *Model
	reg    *abi.Region
	cons   *ring.Consumer
	spsc   *ring.SPSCProducer
	mpsc   []*ring.MPSCProducer
	closed []bool
	open   []*claim // claims not yet ended, in claim order
	ended  []*claim // the last few ended claims
}

// newRig makes a ring of the given capacity with producers producers (0 for
// SPSC), and its model.
func newRig(t testing.TB, capacity uint64, producers int) *rig {
	mode := abi.SPSC
	if producers > 0 {
		mode = abi.MPSC
	}
	reg, err := abi.NewHeap(capacity, mode)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, m: NewModel(capacity), reg: reg}
	if producers == 0 {
		if r.spsc, err = ring.NewSPSCProducer(reg); err != nil {
			t.Fatal(err)
		}
		r.closed = make([]bool, 1)
	}
	for range producers {
		p, err := ring.NewMPSCProducer(reg)
		if err != nil {
			t.Fatal(err)
		}
		r.mpsc = append(r.mpsc, p)
		r.closed = append(r.closed, false)
	}
	if r.cons, err = ring.NewConsumer(reg); err != nil {
		t.Fatal(err)
	}
	return r
}

// capacityFrom maps a byte's low nibble to a capacity from 64 to 4096.
func capacityFrom(b byte) uint64 { return 64 << (b & 0x0F % 7) }

// runOps decodes in as a configuration byte and operations and runs them.
func runOps(t testing.TB, in []byte, mpsc bool) {
	src := &input{in}
	producers := 0
	cfg := src.byte()
	if mpsc {
		producers = 1 + int(cfg>>4)%4
	}
	r := newRig(t, capacityFrom(cfg), producers)
	for step := 0; step < maxSteps && src.more(); step++ {
		r.step(src)
		r.check()
	}
	r.finish()
}

// fail stops the run, naming the model's view.
func (r *rig) fail(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("capacity %d head %d next %d tail %d: %s", r.m.Capacity, r.m.Head, r.m.Next, r.m.Tail,
		fmt.Sprintf(format, args...))
}

// sameClaimErr compares a claim's error with the model's verdict.
func (r *rig) sameClaimErr(err, merr error, n int) bool {
	return err == want(merr)
}

// want maps a model verdict to the ring's sentinel.
func want(err error) error {
	switch err {
	case ErrFull:
		return ring.ErrFull
	case ErrZeroLength:
		return ring.ErrZeroLength
	case ErrTooLarge:
		return ring.ErrTooLarge
	case ErrEmpty:
		return ring.ErrEmpty
	case ErrDiscarded:
		return ring.ErrDiscarded
	case ErrClaimEnded:
		return ring.ErrClaimEnded
	case ErrClosed:
		return ring.ErrClosed
	}
	return err
}

// length picks a claim length: mostly valid, sometimes one of the edges of
// the ring's current state (exact fit at the end, one byte over, exactly the
// free space, zero, too large).
func (r *rig) length(in *input) int {
	b := in.byte()
	max := r.m.MaxPayload
	if b < 0xE0 {
		return 1 + int(uint16(b)<<8|uint16(in.byte()))%max
	}
	toEnd := int(r.m.Capacity - r.m.Tail%r.m.Capacity)
	free := int(r.m.Capacity - (r.m.Tail - r.m.Head))
	switch b & 0x1F {
	case 0:
		return 0
	case 1:
		return max + 1
	case 2:
		return max
	case 3:
		return 1
	case 4:
		return -1
	case 5:
		return toEnd - 8 // exact fit at the end: no padding
	case 6:
		return toEnd - 7 // one byte over: pads to the end
	case 7:
		return free - 8 // exactly the free space
	case 8:
		return free - 7 // one byte more than the free space
	case 9:
		return toEnd - 16 // leaves one word before the end
	case 10:
		return 8
	case 11:
		return 9
	case 12:
		return max - 7
	}
	return 1 + int(in.byte())%max
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)*29 + byte(i>>8)
	}
	return b
}

// producer picks a producer index (MPSC) or 0. It takes a byte either way,
// so that one input means the same operations to FuzzSPSC and FuzzMPSC.
func (r *rig) producer(in *input) int {
	b := in.byte()
	if r.spsc != nil {
		return 0
	}
	return int(b) % len(r.mpsc)
}

func (r *rig) tryClaim(i, n int) (ring.Claim, error) {
	if r.spsc != nil {
		return r.spsc.TryClaim(n)
	}
	return r.mpsc[i].TryClaim(n)
}

// owner is the owner id producer i stamps: its table slot + 1, in the order
// the rig attached them.
func owner(i int) uint8 { return uint8(i + 1) }

func (r *rig) pick(in *input) (int, *claim) {
	if len(r.open) == 0 {
		return -1, nil
	}
	i := int(in.byte()) % len(r.open)
	return i, r.open[i]
}

func (r *rig) retire(i int) {
	cl := r.open[i]
	r.open = append(r.open[:i], r.open[i+1:]...)
	r.ended = append(r.ended, cl)
	if len(r.ended) > 8 {
		r.ended = r.ended[1:]
	}
}

// claim makes a claim on both sides and compares.
func (r *rig) claim(p, n int) *claim {
	c, err := r.tryClaim(p, n)
	e, merr := r.m.Claim(owner(p), n)
	if !r.sameClaimErr(err, merr, n) {
		r.fail("TryClaim(%d) by producer %d = %v, model says %v", n, p, err, want(merr))
	}
	if err != nil {
		return nil
	}
	b := c.Bytes()
	off, ok := offsetIn(r.reg.Data(), b)
	if !ok || uint64(off) != e.Pos%r.m.Capacity+8 || len(b) != n || uint64(cap(b)) > e.Size-8 {
		r.fail("claim of %d: Bytes at offset %d (inside %v) len %d cap %d, model: offset %d",
			n, off, ok, len(b), cap(b), e.Pos%r.m.Capacity+8)
	}
	cl := &claim{c: c, e: e}
	r.open = append(r.open, cl)
	return cl
}

func (r *rig) write(cl *claim, at int, seed byte) {
	b := pattern(cl.e.N-at, seed)
	copy(cl.c.Bytes()[at:], b)
	r.m.Write(cl.e, at, b)
}

func (r *rig) commit(i int) {
	cl := r.open[i]
	err := cl.c.Commit()
	if merr := r.m.Commit(cl.e); err != want(merr) {
		r.fail("Commit of the claim at %d = %v, model says %v", cl.e.Pos, err, want(merr))
	}
	r.retire(i)
}

// checkRecord compares a record the ring delivered with the model's.
func (r *rig) checkRecord(b []byte, e *Entry) {
	off, ok := offsetIn(r.reg.Data(), b)
	if !ok || uint64(off) != e.Pos%r.m.Capacity+8 || !bytes.Equal(b, e.Payload) {
		r.fail("record of %d bytes at data offset %d (inside %v), model: %d bytes at %d; equal %v\n% x\n% x",
			len(b), off, ok, e.N, e.Pos%r.m.Capacity+8, bytes.Equal(b, e.Payload), b, e.Payload)
	}
}

func (r *rig) read() error {
	rec, err := r.cons.TryRead()
	e, merr := r.m.TryRead()
	if err != want(merr) {
		r.fail("TryRead = %v, model says %v", err, want(merr))
	}
	if err == nil {
		r.checkRecord(rec.Bytes(), e)
	}
	return err
}

func (r *rig) batch(max int) {
	type delivered struct {
		b      []byte
		off    int
		inside bool
	}
	var got []delivered
	n, err := r.cons.ReadBatch(max, func(b []byte) {
		// Copy the bytes now: they are released when ReadBatch returns.
		off, inside := offsetIn(r.reg.Data(), b)
		got = append(got, delivered{bytes.Clone(b), off, inside})
	})
	es := r.m.ReadBatch(max)
	if err != nil || n != len(es) || len(got) != n {
		r.fail("ReadBatch(%d) = %d, %v (%d calls), model says %d", max, n, err, len(got), len(es))
	}
	for i, e := range es {
		g := got[i]
		if !g.inside || uint64(g.off) != e.Pos%r.m.Capacity+8 || !bytes.Equal(g.b, e.Payload) {
			r.fail("ReadBatch(%d): record %d: %d bytes at data offset %d (inside %v), model: %d bytes at %d; equal %v",
				max, i, len(g.b), g.off, g.inside, e.N, e.Pos%r.m.Capacity+8, bytes.Equal(g.b, e.Payload))
		}
	}
}

// trace logs every operation and the model's positions after it.
var trace = os.Getenv("LOGBUF_FUZZ_TRACE") != ""

var opNames = [numOps]string{"claim", "write", "commit", "abort", "read", "release", "batch",
	"trywrite", "reend", "drain", "recover", "close"}

// step decodes and runs one operation.
func (r *rig) step(in *input) {
	op := in.byte() % numOps
	if trace {
		defer func() {
			r.t.Logf("%-8s head %d next %d tail %d open %d", opNames[op], r.m.Head, r.m.Next, r.m.Tail, len(r.open))
		}()
	}
	switch op {
	case opClaim:
		p := r.producer(in)
		r.claim(p, r.length(in))
	case opWrite:
		// A recovered claim's space may be reused already: spec section 9
		// forbids writing it, and the model could not say whose bytes they are.
		if _, cl := r.pick(in); cl != nil && cl.e.Kind == KindClaimed {
			r.write(cl, int(in.byte())%(cl.e.N+1), in.byte())
		}
	case opCommit:
		if i, cl := r.pick(in); cl != nil {
			r.commit(i)
		}
	case opAbort:
		if i, cl := r.pick(in); cl != nil {
			cl.c.Abort()
			r.m.Abort(cl.e)
			r.retire(i)
		}
	case opRead:
		r.read()
	case opRelease:
		r.cons.Release()
		r.m.Release()
	case opBatch:
		r.batch(int(in.byte()) % 6)
	case opTryWrite:
		p, n, seed := r.producer(in), r.length(in), in.byte()
		b := pattern(max(n, 0), seed)
		var err error
		if r.spsc != nil {
			err = r.spsc.TrySend(b)
		} else {
			err = r.mpsc[p].TrySend(b)
		}
		e, merr := r.m.Claim(owner(p), len(b))
		if merr == nil {
			r.m.Write(e, 0, b)
			merr = r.m.Commit(e)
		}
		if merr == ErrClosed && !r.sameClaimErr(err, merr, len(b)) || merr != ErrClosed && err != want(merr) {
			r.fail("TryWrite(%d bytes) by producer %d = %v, model says %v", len(b), p, err, want(merr))
		}
	case opReEnd:
		if len(r.ended) == 0 {
			return
		}
		b := in.byte()
		cl := r.ended[int(b>>1)%len(r.ended)]
		if b&1 == 0 {
			// A claim ends once, by its word (spec 5.3). Once its record
			// is released, an MPSC ring cannot tell a second end from a
			// commit that lost to a recovery, and says discarded.
			want := ring.ErrClaimEnded
			if cl.recovered || r.spsc == nil && r.m.Head-cl.e.Pos-1 < 1<<63 {
				want = ring.ErrDiscarded
			}
			if err := cl.c.Commit(); err != want {
				r.fail("second Commit of the claim at %d = %v, want %v", cl.e.Pos, err, want)
			}
		} else {
			cl.c.Abort() // a no-op: check() sees any change
		}
	case opDrain:
		for range r.m.Capacity/8 + 2 {
			if r.read() != nil {
				break
			}
		}
	case opRecover:
		i, cl := r.pick(in)
		if cl == nil || r.spsc != nil {
			return // spec section 9: an SPSC ring is not recovered while its producer lives
		}
		off := cl.e.Pos % r.m.Capacity
		stamp := leWord(r.m.Data[off:])
		r.m.Recover(cl.e)
		if !r.reg.WordAt(off).CompareAndSwap(stamp, leWord(r.m.Data[off:])) {
			r.fail("recovery CAS at %d: word %#x is not the model's stamp %#x", cl.e.Pos, r.reg.WordAt(off).Load(), stamp)
		}
		cl.recovered = true
		_ = i // the claim stays open: its producer has not noticed yet
	case opClose:
		if in.byte()%8 != 0 {
			return // closing ends most of the run's interest: keep it rare
		}
		p := r.producer(in)
		if r.closed[p] {
			return
		}
		r.closed[p] = true
		r.m.Close(owner(p))
		if r.spsc != nil {
			r.spsc.Close()
		} else {
			r.mpsc[p].Close()
		}
	}
}

func leWord(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// check compares the ring's counters and data area with the model's.
func (r *rig) check() {
	if err := r.m.Check(); err != nil {
		r.fail("%v", err)
	}
	got := ring.ReadStats(r.reg)
	exp := ring.Stats{
		Mode: r.reg.Mode(), Capacity: r.m.Capacity,
		Head: r.m.Head, Tail: r.m.Tail, Used: r.m.Tail - r.m.Head, Free: r.m.Capacity - (r.m.Tail - r.m.Head),
		RecordsWritten: r.m.RecordsWritten, BytesWritten: r.m.BytesWritten,
		RecordsRead: r.m.RecordsRead, BytesRead: r.m.BytesRead,
		FullEvents: r.m.FullEvents, Aborts: r.m.Aborts,
	}
	for _, c := range r.closed {
		if !c {
			exp.Producers++
		}
	}
	// An SPSC producer closed with claims open stays attached until the
	// last one ends (spec section 8).
	spscAttached := r.spsc != nil && (!r.closed[0] || len(r.open) > 0)
	if r.spsc != nil && r.closed[0] && len(r.open) > 0 {
		exp.Producers++
	}
	if spscAttached &&
		got.RecordsWritten <= exp.RecordsWritten && got.BytesWritten <= exp.BytesWritten {
		// An SPSC producer publishes its counts in batches (spec section 3).
		exp.RecordsWritten, exp.BytesWritten = got.RecordsWritten, got.BytesWritten
	}
	// What the model does not track: the ring's id, the parties and
	// their counters, (the data area check covers the words).
	exp.ID, exp.ConsumerParty, exp.Dropped, exp.Refused = got.ID, got.ConsumerParty, got.Dropped, got.Refused
	got.Entries = nil
	if !reflect.DeepEqual(got, exp) {
		r.fail("stats\n got  %+v\n want %+v", got, exp)
	}
	if data := r.reg.Data(); !bytes.Equal(data, r.m.Data) {
		i := 0
		for data[i] == r.m.Data[i] {
			i++
		}
		r.fail("data area differs from offset %d: % x, model % x", i, data[i:min(i+16, len(data))], r.m.Data[i:min(i+16, len(data))])
	}
}

// finish commits every open claim, closes the producers and drains the ring:
// everything must be read, the data area all zero, the counters exact.
func (r *rig) finish() {
	for len(r.open) > 0 {
		r.commit(0)
	}
	for p := range r.closed {
		if !r.closed[p] {
			r.closed[p] = true
			r.m.Close(owner(p))
			if r.spsc != nil {
				r.spsc.Close()
			} else {
				r.mpsc[p].Close()
			}
		}
	}
	r.batch(int(r.m.Capacity))
	r.check()
	if r.m.Head != r.m.Tail {
		r.fail("not drained")
	}
	for i, b := range r.reg.Data() {
		if b != 0 {
			r.fail("data[%d] = %#x after the final release", i, b)
		}
	}
	if _, err := r.cons.TryRead(); err != ring.ErrEmpty {
		r.fail("TryRead on the drained ring = %v", err)
	}
}

// offsetIn reports where b starts inside data, and whether it lies wholly
// inside it. It checks len(b), not cap(b): see TestRecordCapInsideRecord.
func offsetIn(data, b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, true // nothing to read or write, wherever it points
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if p < base || p+uintptr(len(b)) > base+uintptr(len(data)) {
		return int(p - base), false
	}
	return int(p - base), true
}
