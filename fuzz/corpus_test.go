package fuzz

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/logbuf/logbuf/internal/testrig"

	"github.com/logbuf/logbuf/abi"
)

// The seed corpus: programs for FuzzSPSC and FuzzMPSC that walk into the
// ring's edge cases, and region images for FuzzHostile (the spec's test
// vectors among them). They are committed under testdata/fuzz/<Target>/
// as seed-*; LOGBUF_WRITE_CORPUS=1 go test -run TestWriteCorpus ./fuzz
// rewrites them. Inputs the fuzzer found are kept beside them under their
// hash names.

// prog builds an input for FuzzSPSC or FuzzMPSC.
type prog struct{ b []byte }

// newProg starts a program for a ring of 64<<capLog bytes and, for MPSC,
// producers producers (1 to 4).
func newProg(capLog, producers int) *prog {
	return &prog{[]byte{byte(capLog) | byte((producers-1)&3)<<4}}
}

func (p *prog) op(op byte, args ...byte) *prog {
	p.b = append(append(p.b, op), args...)
	return p
}

// n encodes an exact length (1 to MaxPayload); edge(k) one of rig.length's
// state-relative edges.
func ln(v int) []byte    { return []byte{byte((v - 1) >> 8), byte(v - 1)} }
func edge(k byte) []byte { return []byte{0xE0 | k} }

const (
	edgeZero = iota
	edgeTooLarge
	edgeMax
	edgeOne
	edgeNegative
	edgeExactEnd
	edgeOverEnd
	edgeExactFree
	edgeOverFree
	edgeWordBeforeEnd
)

func (p *prog) claim(prod byte, l []byte) *prog { return p.op(opClaim, append([]byte{prod}, l...)...) }
func (p *prog) write(i, at, seed byte) *prog    { return p.op(opWrite, i, at, seed) }
func (p *prog) commit(i byte) *prog             { return p.op(opCommit, i) }
func (p *prog) abort(i byte) *prog              { return p.op(opAbort, i) }
func (p *prog) read() *prog                     { return p.op(opRead) }
func (p *prog) release() *prog                  { return p.op(opRelease) }
func (p *prog) batch(k byte) *prog              { return p.op(opBatch, k) }
func (p *prog) drain() *prog                    { return p.op(opDrain) }
func (p *prog) reEnd(i byte) *prog              { return p.op(opReEnd, i) }
func (p *prog) recover(i byte) *prog            { return p.op(opRecover, i) }
func (p *prog) close(prod byte) *prog           { return p.op(opClose, 0, prod) }
func (p *prog) tryWrite(prod byte, l []byte, seed byte) *prog {
	return p.op(opTryWrite, append(append([]byte{prod}, l...), seed)...)
}

func (p *prog) times(k int, f func(p *prog)) *prog {
	for range k {
		f(p)
	}
	return p
}

// ringSeeds are the edge cases, each valid for SPSC and MPSC (the producer
// byte is ignored by SPSC).
func ringSeeds(producers int) map[string][]byte {
	w32 := func(p *prog) { p.tryWrite(0, ln(32), 1) }
	s := map[string]*prog{
		// 256 bytes: six records of 40 reach 240; 16 bytes remain.
		"exact-fit-at-end": newProg(2, producers).times(6, w32).batch(5).batch(5).
			claim(0, edge(edgeExactEnd)).write(0, 0, 7).commit(0).tryWrite(0, ln(8), 8).read().read().release(),
		"wrap-with-padding": newProg(2, producers).times(6, w32).batch(5).batch(5).
			claim(0, edge(edgeOverEnd)).write(0, 0, 7).commit(0).read().release().tryWrite(0, ln(32), 2).batch(5),
		"abort-next-to-padding": newProg(2, producers).times(6, w32).drain().release().
			claim(0, ln(24)).tryWrite(0, ln(8), 3).abort(0).read().read().release(),
		"abort-before-padding": newProg(2, producers).times(5, w32).batch(5).
			claim(0, ln(32)).claim(0, edge(edgeOverEnd)).abort(0).commit(0).drain().release(),
		// 64 bytes: four records of 16 fill the ring exactly.
		"full-ring-read-without-release": newProg(0, producers).times(4, func(p *prog) { p.tryWrite(0, ln(8), 4) }).
			drain().read().tryWrite(0, ln(1), 5).release().tryWrite(0, ln(1), 6).batch(5),
		// 128 bytes: four records of 24 and one of 16 leave 16 free.
		"full-then-exact-free": newProg(1, producers).times(4, func(p *prog) { p.tryWrite(0, edge(edgeMax), 1) }).
			tryWrite(0, ln(1), 2).claim(0, edge(edgeOverFree)).claim(0, edge(edgeExactFree)).commit(0).
			claim(0, edge(edgeOne)).batch(1).claim(0, edge(edgeOverFree)).claim(0, edge(edgeExactFree)).
			commit(0).commit(0).drain().release(),
		"max-payload": newProg(3, producers).times(12, func(p *prog) { p.tryWrite(0, edge(edgeMax), 9).batch(1) }),
		"bad-lengths": newProg(0, producers).claim(0, edge(edgeZero)).claim(0, edge(edgeTooLarge)).
			claim(0, edge(edgeNegative)).tryWrite(0, edge(edgeZero), 0).tryWrite(0, edge(edgeTooLarge), 0),
		"open-claims-out-of-order": newProg(2, producers).times(5, func(p *prog) { p.claim(0, ln(20)) }).
			write(4, 3, 1).commit(4).write(2, 0, 2).abort(2).read().commit(0).read().commit(1).commit(0).batch(0).drain().release(),
		"only-skips-then-claim": newProg(0, producers).times(4, func(p *prog) { p.claim(0, ln(8)).abort(0) }).
			claim(0, ln(8)).read().claim(0, ln(8)).commit(0),
		// 512 bytes: twelve records of 40 leave 32 before the end.
		"word-before-end": newProg(3, producers).times(12, w32).batch(5).batch(5).batch(5).
			claim(0, edge(edgeWordBeforeEnd)).commit(0).tryWrite(0, ln(1), 1).batch(5).tryWrite(0, ln(1), 1).batch(5),
		"ended-twice": newProg(1, producers).claim(0, ln(5)).commit(0).reEnd(0).reEnd(1).claim(0, ln(5)).abort(0).
			reEnd(2).reEnd(1).read().release(),
		"close-with-open-claim": newProg(1, producers).claim(0, ln(5)).close(0).claim(0, ln(5)).commit(0).
			tryWrite(0, edge(edgeZero), 0).batch(5),
		"many-laps-small": newProg(0, producers).times(40, func(p *prog) {
			p.tryWrite(0, ln(3), 1).tryWrite(0, ln(8), 2).batch(1).claim(0, ln(5)).batch(2).commit(0)
		}),
	}
	if producers > 1 {
		s["interleaved-producers"] = newProg(1, producers).claim(0, ln(10)).claim(1, ln(7)).claim(2, ln(16)).
			claim(3, ln(1)).write(1, 0, 1).commit(3).commit(1).tryWrite(1, ln(4), 2).read().commit(0).abort(0).
			batch(5).claim(2, edge(edgeOverEnd)).commit(0).commit(0).drain().release()
		s["recovered-claims"] = newProg(1, producers).claim(0, ln(10)).claim(1, ln(10)).recover(0).
			recover(1).commit(0).abort(0).read().release().times(6, func(p *prog) { p.tryWrite(2, ln(16), 3).batch(5) })
		s["recover-behind-padding"] = newProg(2, producers).times(6, w32).batch(5).batch(5).
			claim(1, edge(edgeOverEnd)).recover(0).tryWrite(2, ln(8), 1).batch(5).commit(0)
	}
	out := map[string][]byte{}
	for k, v := range s {
		out[k] = v.b
	}
	return out
}

// hostileSeeds are region images for FuzzHostile: the spec's vectors and a
// few structured regions.
func hostileSeeds(t *testing.T) map[string][]byte {
	seeds := map[string][]byte{
		// structured: capacity 64, SPSC, head 0, span 48, three chained words.
		"structured-chain":  {0x00, 0, 0, 0, 0, 0, 0, 0, 48, 0, 0, 3, 2, 8, 0, 0x82, 16, 0, 2, 1, 0},
		"structured-mpsc":   {0x00, 2, 0, 1, 0, 0, 8, 0, 0x10, 1, 0xE5, 4, 2, 100, 0, 0x81, 5, 0, 1, 3, 0, 2, 2, 0x22},
		"structured-wraps":  {0x00, 0, 0, 0, 0, 1, 0xff, 0xff, 64, 0, 0xE0, 2, 2, 8, 0, 2, 8, 0},
		"structured-hostil": {0x00, 1, 0, 1, 0, 0, 0, 0, 64, 0, 0, 2, 0xF8, 1, 2, 3, 4, 5, 6, 7, 8, 0xF0, 8, 0, 0, 0, 0x30, 0x10},
	}
	vs, err := testrig.LoadVectors("../spec/vectors")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		img := v.Image
		if len(img) < abi.HeaderSize || bytes.ContainsFunc(img[rawHeader:abi.HeaderSize], func(r rune) bool { return r != 0 }) {
			continue // needs header bytes past the raw form's (a party record): RunVector covers it
		}
		raw := append([]byte{0xF0}, img[:rawHeader]...)
		seeds["vector-"+v.Name] = append(raw, img[abi.HeaderSize:]...)
	}
	return seeds
}

// TestRefWalkVectors checks the fuzzers' reference reader, refWalk, against
// the spec's test vectors, which were written from the spec independently.
func TestRefWalkVectors(t *testing.T) {
	vs, err := testrig.LoadVectors("../spec/vectors")
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	for _, v := range vs {
		img := v.Image
		if !v.Static() || le.Uint64(img[abi.OffReleasing:]) != le.Uint64(img[abi.OffHead:]) ||
			le.Uint64(img[abi.OffConsumer:]) != 0 {
			continue // refWalk reads a fixed image from head, no attach; RunVector covers the rest
		}
		var expect [][]string
		for _, s := range v.Steps {
			expect = append(expect, s.Expect)
		}
		var got [][]string
		capacity := le.Uint64(img[abi.OffCapacity:])
		if _, err := abi.Open(alignedCopy(img)); err != nil {
			var ce *abi.CorruptError
			errors.As(err, &ce)
			got = append(got, []string{"corrupt", ce.Field, fmt.Sprint(ce.Offset)})
		} else {
			head, tail := le.Uint64(img[abi.OffHead:]), le.Uint64(img[abi.OffTail:])
			mpsc := le.Uint32(img[abi.OffFlags:])&abi.FlagMPSC != 0
			data := img[abi.HeaderSize:]
			recs, stop, corrupt := refWalk(data, capacity, head, tail, mpsc)
			for _, r := range recs {
				off := r.pos%capacity + 8
				got = append(got, []string{"record", hex.EncodeToString(data[off : off+r.n])})
			}
			if corrupt {
				got = append(got, []string{"corrupt", "record", fmt.Sprint(stop)})
			} else {
				got = append(got, []string{"empty"}, []string{"head", fmt.Sprint(stop)})
			}
		}
		// "expect head" is optional after "expect empty".
		if len(expect) == len(got)-1 && got[len(got)-1][0] == "head" {
			got = got[:len(got)-1]
		}
		if testing.Verbose() {
			t.Logf("%s: %v", v.Name, got)
		}
		if fmt.Sprint(got) != fmt.Sprint(expect) {
			t.Errorf("%s:\n refWalk %v\n expect  %v", v.Name, got, expect)
		}
	}
}

// alignedCopy copies b to 128-byte aligned memory.
func alignedCopy(b []byte) []byte {
	buf := make([]byte, len(b)+128)
	lo := int((128 - uintptr(unsafe.Pointer(unsafe.SliceData(buf)))%128) % 128)
	copy(buf[lo:], b)
	return buf[lo : lo+len(b)]
}

func corpusFile(b []byte) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b)
}

// TestWriteCorpus writes the seeds; TestSeedsCommitted checks they are.
func TestWriteCorpus(t *testing.T) {
	if os.Getenv("LOGBUF_WRITE_CORPUS") == "" {
		t.Skip("set LOGBUF_WRITE_CORPUS=1 to rewrite testdata/fuzz/*/seed-*")
	}
	for target, seeds := range allSeeds(t) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		old, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
		for _, f := range old {
			os.Remove(f)
		}
		for name, b := range seeds {
			if err := os.WriteFile(filepath.Join(dir, "seed-"+name), corpusFile(b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func allSeeds(t *testing.T) map[string]map[string][]byte {
	return map[string]map[string][]byte{
		"FuzzSPSC":    ringSeeds(1),
		"FuzzMPSC":    ringSeeds(4),
		"FuzzHostile": hostileSeeds(t),
	}
}

// TestSeedsCommitted fails when a seed changed without the corpus being
// rewritten, so the committed files are the seeds this file describes.
func TestSeedsCommitted(t *testing.T) {
	for target, seeds := range allSeeds(t) {
		for name, b := range seeds {
			path := filepath.Join("testdata", "fuzz", target, "seed-"+name)
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, corpusFile(b)) {
				t.Errorf("%s is missing or stale: run LOGBUF_WRITE_CORPUS=1 go test -run TestWriteCorpus ./fuzz", path)
			}
		}
	}
}
