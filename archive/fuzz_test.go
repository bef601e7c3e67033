package archive

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"testing"
)

// FuzzReader feeds hostile bytes to the segment scanner that every reader
// of this package uses. fix helps the fuzzer past the checksums: 1 reseals
// the header, 2 also reseals each frame along the chain of length fields.
// It checks that the scanner never panics, always ends, allocates no more
// than the segment's size (a length field is checked before any
// allocation), and accounts for every byte: header, frames and skipped
// spans add up to the segment, in order, without overlap.
func FuzzReader(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed, byte(0), false)
		f.Add(seed, byte(2), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, fix byte, strict bool) {
		data = bytes.Clone(data)
		switch fix % 3 {
		case 2:
			sealChain(data)
			fallthrough
		case 1:
			if len(data) >= HeaderSize {
				copy(data, Magic)
				binary.LittleEndian.PutUint32(data[offVersion:], Version)
				sealHeader(data)
			}
		}
		size := int64(len(data))
		var sc scanner
		d, err := sc.reset(bytes.NewReader(data), size, "fuzz", strict)
		if err != nil {
			t.Fatal(err)
		}
		if d != nil {
			if d.Offset != 0 || d.Skipped != size {
				t.Fatalf("header damage %v does not cover the segment", d)
			}
			return
		}
		var c Checker
		at := int64(HeaderSize) // the scanner has accounted for every byte before at
		damaged := false
		for steps := 0; ; steps++ {
			if steps > len(data)+1 {
				t.Fatalf("%d steps over %d bytes", steps, len(data))
			}
			fr, d, err := sc.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if d != nil {
				if d.Offset != at || d.Skipped <= 0 {
					t.Fatalf("damage at %d, %d bytes skipped; the scanner was at %d", d.Offset, d.Skipped, at)
				}
				at += d.Skipped
				damaged = true
				continue
			}
			if strict && damaged {
				t.Fatal("strict scanner delivered a frame after damage")
			}
			end := fr.off + FrameHeaderSize + int64(len(fr.data))
			if fr.off != at || end > size || !bytes.Equal(fr.data, data[fr.off+FrameHeaderSize:end]) {
				t.Fatalf("frame at %d..%d (scanner at %d) does not match the segment", fr.off, end, at)
			}
			if frameCRC(data[fr.off+offLength:end], nil) != binary.LittleEndian.Uint32(data[fr.off:]) {
				t.Fatalf("frame at %d delivered with a wrong checksum", fr.off)
			}
			c.Add(RecordID{sc.hdr.ringID, fr.pos, fr.seq})
			at = end
		}
		if at != size {
			t.Fatalf("accounted for %d bytes of %d", at, size)
		}
		if int64(cap(sc.buf)) > max(size, window) {
			t.Fatalf("buffer of %d bytes for a %d-byte segment", cap(sc.buf), size)
		}
		c.Rings()
	})
}

// sealChain gives each frame along the chain of length fields a right
// checksum, as far as the lengths stay in range.
func sealChain(b []byte) {
	for o := HeaderSize; o+FrameHeaderSize <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[o+offLength:]))
		if n == 0 || n > len(b)-o-FrameHeaderSize {
			return
		}
		sealFrame(b[o : o+FrameHeaderSize+n])
		o += FrameHeaderSize + n
	}
}

// fuzzSeeds are a few real segments: whole, cut, with a byte flipped.
func fuzzSeeds(f *testing.F) [][]byte {
	dir := f.TempDir()
	recs := ringRecords(rand.New(rand.NewPCG(51, 51)), 12, 1000, 77, 40)
	writeArchive(f, dir, nil, batches(ringA, recs, 12))
	b, err := os.ReadFile(segments(f, dir)[0])
	if err != nil {
		f.Fatal(err)
	}
	flipped := bytes.Clone(b)
	flipped[HeaderSize+30] ^= 0x10
	return [][]byte{b, b[:len(b)-7], b[:HeaderSize+10], flipped, {}, b[:HeaderSize]}
}
