//go:build !purego

// Hand-written arm64 kernels of package asm; see kernels_arm64.go for the
// declarations and _gen/main.go for the amd64 zeroAVX2 whose size classes
// these mirror (16-byte STP pairs where amd64 has 32-byte stores). Lengths
// below 16 are split by testing bits of n (as the runtime's memclr_arm64.s
// does); above that, stores overlap at both ends so no class needs a
// remainder loop.

#include "textflag.h"

#define P R0	// destination pointer
#define N R1	// length in bytes
#define END R7	// P + N

// func zeroSTP(b []byte)
TEXT ·zeroSTP(SB), NOSPLIT, $0-24
	MOVD	b_base+0(FP), P
	MOVD	b_len+8(FP), N
	ADD	N, P, END
	CMP	$16, N
	BLO	tiny

	// 16..32: one pair from the front, one from the back.
	CMP	$32, N
	BHI	over32
	STP	(ZR, ZR), (P)
	STP	(ZR, ZR), -16(END)
	RET

over32:
	// 33..64: two pairs from each end.
	CMP	$64, N
	BHI	over64
	STP	(ZR, ZR), (P)
	STP	(ZR, ZR), 16(P)
	STP	(ZR, ZR), -32(END)
	STP	(ZR, ZR), -16(END)
	RET

over64:
	// 65..128: four pairs from each end.
	CMP	$128, N
	BHI	loop64
	STP	(ZR, ZR), (P)
	STP	(ZR, ZR), 16(P)
	STP	(ZR, ZR), 32(P)
	STP	(ZR, ZR), 48(P)
	STP	(ZR, ZR), -64(END)
	STP	(ZR, ZR), -48(END)
	STP	(ZR, ZR), -32(END)
	STP	(ZR, ZR), -16(END)
	RET

loop64:
	// > 128: a 64-byte line per iteration while more than 64 bytes remain,
	// then the last 64 bytes stored back from END.
	STP	(ZR, ZR), (P)
	STP	(ZR, ZR), 16(P)
	STP	(ZR, ZR), 32(P)
	STP	(ZR, ZR), 48(P)
	ADD	$64, P
	SUB	$64, N
	CMP	$64, N
	BHI	loop64
	STP	(ZR, ZR), -64(END)
	STP	(ZR, ZR), -48(END)
	STP	(ZR, ZR), -32(END)
	STP	(ZR, ZR), -16(END)
	RET

tiny:
	// 8..15: two doublewords, overlapping when n < 16.
	TBZ	$3, N, lt8
	MOVD	ZR, (P)
	MOVD	ZR, -8(END)
	RET
lt8:
	// 4..7: two words.
	TBZ	$2, N, lt4
	MOVW	ZR, (P)
	MOVW	ZR, -4(END)
	RET
lt4:
	// 1..3: the first byte, and a halfword at the end when n is 2 or 3.
	CBZ	N, done
	MOVB	ZR, (P)
	TBZ	$1, N, done
	MOVH	ZR, -2(END)
done:
	RET

#define BS R5	// DC ZVA block size in bytes (64 or 128)

// func zeroZVA(b []byte)
TEXT ·zeroZVA(SB), NOSPLIT, $0-24
	MOVD	b_base+0(FP), P
	MOVD	b_len+8(FP), N
	// Below 256 bytes the alignment head and the tail cost more than DC ZVA
	// saves: use the STP classes (a tail call; the arguments are in place).
	CMP	$256, N
	BLO	stp
	MOVD	·zvaBlock(SB), BS
	ADD	N, P, END

	// Head: 128 bytes of STP from P covers up to the first block boundary
	// (BS <= 128, and n >= 256 keeps every store inside b).
	STP	(ZR, ZR), (P)
	STP	(ZR, ZR), 16(P)
	STP	(ZR, ZR), 32(P)
	STP	(ZR, ZR), 48(P)
	STP	(ZR, ZR), 64(P)
	STP	(ZR, ZR), 80(P)
	STP	(ZR, ZR), 96(P)
	STP	(ZR, ZR), 112(P)
	// P = P rounded up to BS; N = bytes from there to END.
	SUB	$1, BS, R6
	ADD	R6, P
	BIC	R6, P
	SUB	P, END, N

zva:
	// Whole blocks: DC ZVA allocates each line zeroed without reading it.
	CMP	BS, N
	BLO	tail
	DC	ZVA, P
	ADD	BS, P
	SUB	BS, N
	B	zva

tail:
	// Fewer than BS <= 128 bytes remain: 128 bytes stored back from END.
	CBZ	N, zdone
	STP	(ZR, ZR), -128(END)
	STP	(ZR, ZR), -112(END)
	STP	(ZR, ZR), -96(END)
	STP	(ZR, ZR), -80(END)
	STP	(ZR, ZR), -64(END)
	STP	(ZR, ZR), -48(END)
	STP	(ZR, ZR), -32(END)
	STP	(ZR, ZR), -16(END)
zdone:
	RET

stp:
	B	·zeroSTP(SB)

// func dczid() uint64
TEXT ·dczid(SB), NOSPLIT, $0-8
	MRS	DCZID_EL0, R0
	MOVD	R0, ret+0(FP)
	RET

// func pause()
TEXT ·pause(SB), NOSPLIT, $0-0
	// YIELD is the architecture's spin-wait hint, as PAUSE is on amd64.
	YIELD
	RET
