package abi

import (
	"structs"
	"sync/atomic"
)

// Identity of a region (spec section 3).
const (
	// Magic is the region's first 8 bytes, "LOGBUF\x00\x01", read as a
	// little-endian uint64.
	Magic uint64 = 0x0100465542474F4C
	// Version is the protocol version this package implements.
	Version = 1
	// HeaderSize is the size of the region header: the data area starts here.
	HeaderSize = 4096
	// LineSize is the unit that separates fields written by different parties.
	// It is 128 bytes on every architecture (not cpu.CacheLinePad) because it is
	// part of the wire format.
	LineSize = 128
	// ProducerSlots is the number of entries in the producer table.
	ProducerSlots = 32
	// SlotSize is the size of one producer table entry.
	SlotSize = 64
	// MinCapacity and MaxCapacity bound the data area's size, a power of two.
	MinCapacity = 64
	MaxCapacity = 1 << 31
	// WordSize is the size of a record header word; records are aligned to it.
	WordSize = 8
)

// Offsets of the region header's fields (spec section 3).
const (
	OffMagic             = 0x000
	OffVersion           = 0x008
	OffHeaderSize        = 0x00C
	OffCapacity          = 0x010
	OffFlags             = 0x018
	OffLineSize          = 0x01C
	OffProducerSlots     = 0x020
	OffHead              = 0x080
	OffReadRecords       = 0x088
	OffReadBytes         = 0x090
	OffUnblocks          = 0x098
	OffTail              = 0x100
	OffFullEvents        = 0x180
	OffAborts            = 0x188
	OffConsumerPID       = 0x200
	OffConsumerState     = 0x204
	OffConsumerStart     = 0x208
	OffConsumerHeartbeat = 0x210
	OffConsumerWait      = 0x280
	OffProducerTable     = 0x800
)

// Offsets inside a producer table entry (spec section 3).
const (
	SlotOffPID       = 0x00
	SlotOffState     = 0x04
	SlotOffStart     = 0x08
	SlotOffHeartbeat = 0x10
	SlotOffRecords   = 0x18
	SlotOffBytes     = 0x20
)

// Flag bits of the flags word.
const (
	// FlagMPSC marks a ring whose producers reserve space with a CAS on tail.
	FlagMPSC = 1 << 0
	// knownFlags is every flag bit version 1 defines.
	knownFlags = FlagMPSC
)

// States of consumer_state and of a producer table entry's state (section 8).
const (
	StateFree      = 0 // no party attached
	StateAttached  = 1 // a live party is attached
	StateClosed    = 2 // the party closed cleanly
	StateAttaching = 3 // a producer took the entry and is writing its pid
)

// Header mirrors the 4096-byte region header. Its field offsets equal the Off*
// constants (layout_test.go checks them with unsafe.Offsetof). Identity fields
// are plain: they are written once, before the region is shared. Everything
// another party writes while the ring runs is atomic.
type Header struct {
	_             structs.HostLayout
	Magic         uint64
	Version       uint32
	HeaderSize    uint32
	Capacity      uint64
	Flags         uint32
	LineSize      uint32
	ProducerSlots uint32
	_             [OffHead - OffProducerSlots - 4]byte

	// Consumer line: written only by the consumer.
	Head        atomic.Uint64
	ReadRecords atomic.Uint64
	ReadBytes   atomic.Uint64
	Unblocks    atomic.Uint64
	_           [OffTail - OffUnblocks - 8]byte

	// Tail line: written by producers on every claim.
	Tail atomic.Uint64
	_    [OffFullEvents - OffTail - 8]byte

	// Producers' rare events.
	FullEvents atomic.Uint64
	Aborts     atomic.Uint64
	_          [OffConsumerPID - OffAborts - 8]byte

	// Consumer liveness.
	ConsumerPID       atomic.Uint32
	ConsumerState     atomic.Uint32
	ConsumerStart     atomic.Uint64
	ConsumerHeartbeat atomic.Uint64
	_                 [OffConsumerWait - OffConsumerHeartbeat - 8]byte

	// ConsumerWait is the futex word of a parked consumer (section 7.1).
	ConsumerWait atomic.Uint32
	_            [OffProducerTable - OffConsumerWait - 4]byte

	Producers [ProducerSlots]Slot
}

// Slot is one entry of the producer table. A producer's owner id, the value it
// writes in its claim stamps, is its slot index + 1.
type Slot struct {
	_         structs.HostLayout
	PID       atomic.Uint32
	State     atomic.Uint32
	Start     atomic.Uint64
	Heartbeat atomic.Uint64
	Records   atomic.Uint64
	Bytes     atomic.Uint64
	_         [SlotSize - SlotOffBytes - 8]byte
}
