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
	Version = 2
	// HeaderSize is the size of the region header: the data area starts here.
	HeaderSize = 4096
	// LineSize is the unit that separates fields written by different parties.
	// It is 128 bytes on every architecture (not cpu.CacheLinePad) because it is
	// part of the wire format.
	LineSize = 128
	// ProducerSlots is the number of entries in the producer table.
	ProducerSlots = 32
	// PartySize is the size of a party record: the consumer's and each
	// producer table entry.
	PartySize = 64
	// MinCapacity and MaxCapacity bound the data area's size, a power of two.
	MinCapacity = 64
	MaxCapacity = 1 << 31
	// WordSize is the size of a record header word; records are aligned to it.
	WordSize = 8
)

// Offsets of the region header's fields (spec section 3).
const (
	OffMagic            = 0x000
	OffVersion          = 0x008
	OffHeaderSize       = 0x00C
	OffCapacity         = 0x010
	OffFlags            = 0x018
	OffLineSize         = 0x01C
	OffProducerSlots    = 0x020
	OffRingID           = 0x030
	OffHead             = 0x080
	OffReadRecords      = 0x088
	OffReadBytes        = 0x090
	OffUnblocks         = 0x098
	OffReleasing        = 0x0A0
	OffReleasingRecords = 0x0A8
	OffReleasingBytes   = 0x0B0
	OffTail             = 0x100
	OffFullEvents       = 0x180
	OffAborts           = 0x188
	OffConsumer         = 0x200
	OffConsumerWait     = 0x280
	OffProducerTable    = 0x800
)

// Offsets inside a party record (spec section 3): the consumer's record and
// every producer table entry share this layout.
const (
	PartyOffLease     = 0x00
	PartyOffHeartbeat = 0x08
	PartyOffSince     = 0x10
	PartyOffRecords   = 0x18
	PartyOffBytes     = 0x20
	PartyOffDropped   = 0x28
	PartyOffRefused   = 0x30
)

// Flag bits of the flags word.
const (
	// FlagMPSC marks a ring whose producers reserve space with a CAS on tail.
	FlagMPSC = 1 << 0
	// knownFlags is every flag bit this version defines.
	knownFlags = FlagMPSC
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
	_             [OffRingID - OffProducerSlots - 4]byte
	RingID        RingID
	_             [OffHead - OffRingID - RingIDSize]byte

	// Consumer line: written only by the consumer.
	Head             atomic.Uint64
	ReadRecords      atomic.Uint64
	ReadBytes        atomic.Uint64
	Unblocks         atomic.Uint64
	Releasing        atomic.Uint64
	ReleasingRecords atomic.Uint64
	ReleasingBytes   atomic.Uint64
	_                [OffTail - OffReleasingBytes - 8]byte

	// Tail line: written by producers on every claim.
	Tail atomic.Uint64
	_    [OffFullEvents - OffTail - 8]byte

	// Producers' rare events.
	FullEvents atomic.Uint64
	Aborts     atomic.Uint64
	_          [OffConsumer - OffAborts - 8]byte

	// Consumer is the consumer's party record (section 8).
	Consumer Party
	_        [OffConsumerWait - OffConsumer - PartySize]byte

	// ConsumerWait is the futex word of a parked consumer (section 7.3).
	ConsumerWait atomic.Uint32
	_            [OffProducerTable - OffConsumerWait - 4]byte

	Producers [ProducerSlots]Party
}

// Party is a party record: the consumer's, or one entry of the producer
// table. A producer's owner id, the value it writes in its claim stamps, is
// its entry's index + 1. Records, Bytes, Dropped and Refused are the
// producers' counters; they stay zero in the consumer's record.
type Party struct {
	_         structs.HostLayout
	Lease     atomic.Uint64 // a Lease: holder and state in one word
	Heartbeat atomic.Uint64
	Since     atomic.Uint64
	Records   atomic.Uint64
	Bytes     atomic.Uint64
	Dropped   atomic.Uint64
	Refused   atomic.Uint64
	_         [PartySize - PartyOffRefused - 8]byte
}
