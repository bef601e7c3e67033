package asm

import (
	"fmt"
	"math"
)

// A zeroPath is one way to clear memory; ok says whether this CPU can run
// it. The per-GOARCH init functions append their assembly paths and choose
// which serves which sizes.
type zeroPath struct {
	name string
	fn   func(b []byte)
	ok   bool
}

var (
	zeroPaths = []zeroPath{{"builtin", zeroBuiltin, true}, {"generic", zeroGeneric, true}}

	// Lengths in [zeroCut, zeroMax) go to zeroFn, all others to the built-in
	// clear. zeroCut = MaxInt means no kernel beat the built-in here.
	zeroCut = math.MaxInt
	zeroMax = math.MaxInt
	zeroFn  = zeroBuiltin
)

// forceZero routes every length of Zero through the named path, for tests and
// benchmarks. It reports false if the path does not exist or this CPU cannot
// run it. restore puts the init-time choice back.
func forceZero(name string) (restore func(), ok bool) {
	cut, max, fn := zeroCut, zeroMax, zeroFn
	restore = func() { zeroCut, zeroMax, zeroFn = cut, max, fn }
	for _, p := range zeroPaths {
		if p.name == name && p.ok {
			zeroCut, zeroMax, zeroFn = 0, math.MaxInt, p.fn
			return restore, true
		}
	}
	return restore, false
}

// zeroName names the path in zeroFn, for Kernels.
var zeroName = "builtin"

// Kernels says, for logs and benchmark reports, which path serves each
// kernel on this machine, as chosen at init.
func Kernels() string {
	zero := "Zero = built-in clear"
	if zeroCut != math.MaxInt {
		zero = fmt.Sprintf("Zero = %s for %d B..%d B, built-in clear otherwise", zeroName, zeroCut, zeroMax-1)
	}
	return fmt.Sprintf("%s; Pause = %s", zero, pauseName)
}
