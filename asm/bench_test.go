package asm

import (
	"fmt"
	"testing"
	"unsafe"
)

// Benchmarks per size with b.SetBytes. "builtin" is the built-in clear
// called directly (inlined, as a caller would write it), "generic" the twin,
// and every other name is that path forced through Zero, so it pays the same
// dispatch a real call pays. "auto" is Zero as dispatched at init. off8 puts
// dst 8 bytes past a 64-byte boundary (the ring's regions are only 8-byte
// aligned).

var benchSizes = []int{8, 16, 32, 64, 128, 256, 1024, 4096, 65536}

// alignedBuf returns n bytes starting at a 64-byte boundary plus off.
func alignedBuf(n, off int) []byte {
	b := make([]byte, n+off+64)
	a := int(-uintptr(unsafe.Pointer(unsafe.SliceData(b))) & 63)
	return b[a+off : a+off+n : a+off+n]
}

func BenchmarkZero(b *testing.B) {
	for _, off := range []int{0, 8} {
		for _, n := range benchSizes {
			buf := alignedBuf(n, off)
			b.Run(fmt.Sprintf("off%d/%d/builtin", off, n), func(b *testing.B) {
				b.SetBytes(int64(n))
				for b.Loop() {
					clear(buf)
				}
			})
			b.Run(fmt.Sprintf("off%d/%d/generic", off, n), func(b *testing.B) {
				b.SetBytes(int64(n))
				for b.Loop() {
					zeroGeneric(buf)
				}
			})
			b.Run(fmt.Sprintf("off%d/%d/auto", off, n), func(b *testing.B) {
				b.SetBytes(int64(n))
				for b.Loop() {
					Zero(buf)
				}
			})
			for _, p := range zeroPaths[2:] {
				b.Run(fmt.Sprintf("off%d/%d/%s", off, n, p.name), func(b *testing.B) {
					restore, ok := forceZero(p.name)
					defer restore()
					if !ok {
						b.Skip("path not available")
					}
					b.SetBytes(int64(n))
					for b.Loop() {
						Zero(buf)
					}
				})
			}
		}
	}
}

// BenchmarkPause is the cost of one spin-wait hint, which sets how long the
// ring's wait loops linger (ring's lingerPauses).
func BenchmarkPause(b *testing.B) {
	for b.Loop() {
		Pause()
	}
}

// BenchmarkZeroRecords clears records the way the ring's consumer does:
// random 8..1024 B payloads laid out back to back (8-byte header, 8-byte
// alignment) over a 2 MiB ring, each record cleared on its own. Unlike
// BenchmarkZero, whose buffer stays in L1, the lines here come from L2 and
// L3, as they do in the ring.
func BenchmarkZeroRecords(b *testing.B) {
	ring := alignedBuf(2<<20, 0)
	var sizes [4096]int
	s := uint64(0x9E3779B97F4A7C15)
	for i := range sizes {
		s ^= s >> 12
		s ^= s << 25
		s ^= s >> 27
		sizes[i] = (8 + int(((s*0x2545F4914F6CDD1D)>>32*1017)>>32) + 15) &^ 7
	}
	paths := append([]zeroPath{{"auto", Zero, true}}, zeroPaths...)
	for _, p := range paths {
		if p.name == "generic" {
			continue
		}
		b.Run(p.name, func(b *testing.B) {
			if !p.ok {
				b.Skip("path not available")
			}
			var off, bytes int
			for i := 0; b.Loop(); i++ {
				n := sizes[i&4095]
				if off+n > len(ring) {
					off = 0
				}
				p.fn(ring[off : off+n])
				off += n
				bytes += n
			}
			b.ReportMetric(float64(bytes)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}
