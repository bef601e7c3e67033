// Command _gen writes the amd64 kernels of the module: with -pkg asm, those
// of package asm (kernels_amd64.s and the Go declarations in
// kernels_amd64.go); with -pkg cycles, the benchmark clock of
// internal/cycles. Run it through regen.sh, which deletes the old outputs
// first so that CI can fail on any diff.
//
// Registers are physical (as in the runtime's memclr/memmove) so the printed
// assembly can be read beside Go's own kernels; every size class says why.
package main

import (
	"flag"
	"fmt"
	"os"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

//go:generate bash regen.sh

func main() {
	flag.Parse()
	ConstraintExpr("!purego")
	switch pkg := flag.Lookup("pkg").Value.String(); pkg {
	case "asm":
		zeroAVX2()
		pause()
	case "cycles":
		counter()
	default:
		fmt.Fprintf(os.Stderr, "_gen: -pkg %q: want asm or cycles\n", pkg)
		os.Exit(2)
	}
	Generate()
}

// m is shorthand for base+disp; mi for base+index+disp (index scale 1).
func m(base Register, disp int) Mem { return Mem{Base: base, Disp: disp} }
func mi(base, index Register, disp int) Mem {
	return Mem{Base: base, Index: index, Scale: 1, Disp: disp}
}

// zeroTiny clears 1..16 bytes at DI (length BX, AX = 0) with two possibly
// overlapping stores of the widest width that fits, as the runtime does:
// one compare per class, no loops, no byte-at-a-time tail.
func zeroTiny(prefix string) {
	l := func(s string) string { return prefix + s }
	Label(l("tiny"))
	CMPQ(RBX, U8(2))
	JBE(LabelRef(l("1or2")))
	CMPQ(RBX, U8(4))
	JBE(LabelRef(l("3or4")))
	CMPQ(RBX, U8(8))
	JB(LabelRef(l("5to7")))

	Comment("8..16: two quadwords, overlapping when n < 16.")
	MOVQ(RAX, m(RDI, 0))
	MOVQ(RAX, mi(RDI, RBX, -8))
	RET()

	Label(l("5to7"))
	MOVL(EAX, m(RDI, 0))
	MOVL(EAX, mi(RDI, RBX, -4))
	RET()

	Label(l("3or4"))
	MOVW(AX, m(RDI, 0))
	MOVW(AX, mi(RDI, RBX, -2))
	RET()

	Label(l("1or2"))
	MOVB(AL, m(RDI, 0))
	MOVB(AL, mi(RDI, RBX, -1))
	RET()
}

func zeroAVX2() {
	TEXT("zeroAVX2", NOSPLIT, "func(b []byte)")
	Pragma("noescape")
	Doc("zeroAVX2 clears b with 32-byte AVX2 stores: size classes of overlapping",
		"head and tail stores up to 256 bytes, then an aligned 128-byte loop whose",
		"last iteration is replaced by four stores ending exactly at the end of b.",
		"Unlike the runtime's memclr it never switches to REP STOSQ, which the",
		"runtime uses from 2 KiB and which on Zen3 is up to twice as slow as this",
		"loop at 2..16 KiB.")
	Load(Param("b").Base(), RDI)
	Load(Param("b").Len(), RBX)
	XORL(EAX, EAX)

	Comment("Tiny sizes never touch a vector register, so they need no VZEROUPPER.")
	TESTQ(RBX, RBX)
	JEQ(LabelRef("zavx_ret"))
	CMPQ(RBX, U8(16))
	JBE(LabelRef("zavx_tiny"))

	Comment("VPXOR with a VEX encoding clears all 256 bits of Y0.")
	VPXOR(X0, X0, X0)
	CMPQ(RBX, U8(32))
	JBE(LabelRef("zavx_17to32"))
	CMPQ(RBX, U8(64))
	JBE(LabelRef("zavx_33to64"))
	CMPQ(RBX, U8(128))
	JBE(LabelRef("zavx_65to128"))
	CMPQ(RBX, U32(256))
	JBE(LabelRef("zavx_129to256"))

	Comment("> 256: one unaligned store covers the head, then DI steps up to a",
		"32-byte boundary so no store in the loop splits a cache line (the ring's",
		"regions are only 8-byte aligned). 128 bytes (two lines) per iteration;",
		"the final 128 bytes are stored back from the end, so no remainder loop.")
	VMOVDQU(Y0, m(RDI, 0))
	LEAQ(mi(RDI, RBX, 0), RCX)
	ADDQ(U8(32), RDI)
	ANDQ(I8(-32), RDI)
	SUBQ(RDI, RCX)
	MOVQ(RCX, RBX)
	Label("zavx_loop")
	VMOVDQA(Y0, m(RDI, 0))
	VMOVDQA(Y0, m(RDI, 32))
	VMOVDQA(Y0, m(RDI, 64))
	VMOVDQA(Y0, m(RDI, 96))
	ADDQ(U8(128), RDI)
	SUBQ(U8(128), RBX)
	CMPQ(RBX, U8(128))
	JA(LabelRef("zavx_loop"))
	VMOVDQU(Y0, mi(RDI, RBX, -128))
	VMOVDQU(Y0, mi(RDI, RBX, -96))
	VMOVDQU(Y0, mi(RDI, RBX, -64))
	VMOVDQU(Y0, mi(RDI, RBX, -32))
	VZEROUPPER()
	RET()

	Label("zavx_129to256")
	Comment("129..256: four stores from the front, four from the back.")
	VMOVDQU(Y0, m(RDI, 0))
	VMOVDQU(Y0, m(RDI, 32))
	VMOVDQU(Y0, m(RDI, 64))
	VMOVDQU(Y0, m(RDI, 96))
	VMOVDQU(Y0, mi(RDI, RBX, -128))
	VMOVDQU(Y0, mi(RDI, RBX, -96))
	VMOVDQU(Y0, mi(RDI, RBX, -64))
	VMOVDQU(Y0, mi(RDI, RBX, -32))
	VZEROUPPER()
	RET()

	Label("zavx_65to128")
	VMOVDQU(Y0, m(RDI, 0))
	VMOVDQU(Y0, m(RDI, 32))
	VMOVDQU(Y0, mi(RDI, RBX, -64))
	VMOVDQU(Y0, mi(RDI, RBX, -32))
	VZEROUPPER()
	RET()

	Label("zavx_33to64")
	VMOVDQU(Y0, m(RDI, 0))
	VMOVDQU(Y0, mi(RDI, RBX, -32))
	VZEROUPPER()
	RET()

	Label("zavx_17to32")
	Comment("17..32: two 16-byte stores; X0 is the low half of the zeroed Y0.")
	VMOVDQU(X0, m(RDI, 0))
	VMOVDQU(X0, mi(RDI, RBX, -16))
	VZEROUPPER()
	RET()

	zeroTiny("zavx_")

	Label("zavx_ret")
	RET()
}

func counter() {
	TEXT("counter", NOSPLIT, "func() uint64")
	Doc("counter reads the time-stamp counter with RDTSCP, which waits for",
		"earlier instructions to finish (not for later ones to start): enough",
		"to bracket a measured region from the end.")
	RDTSCP()
	Comment("RDTSCP returns the counter in EDX:EAX (and the core id in ECX).")
	SHLQ(U8(32), RDX)
	ORQ(RDX, RAX)
	Store(RAX, ReturnIndex(0))
	RET()
}

func pause() {
	TEXT("pause", NOSPLIT, "func()")
	Doc("pause is one PAUSE: a spin-wait hint that delays the next loop",
		"iteration (about 28 ns on the Zen3 this was measured on) without",
		"leaving the core, so a polling loop reads the line it waits on less",
		"often and leaves the writer's store buffer alone in the meantime.")
	PAUSE()
	RET()
}
