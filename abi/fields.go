package abi

// Field names one field of the layout: where it is and how wide. Fields and
// PartyFields are the layout as data, for the spec check and for generating
// the C header; the Off* constants are the same facts for code.
type Field struct {
	Name   string // as spec/PROTOCOL.md names it
	Offset int
	Size   int
}

// Fields lists the region header's named fields in offset order.
var Fields = []Field{
	{"magic", OffMagic, 8},
	{"version", OffVersion, 4},
	{"header_size", OffHeaderSize, 4},
	{"capacity", OffCapacity, 8},
	{"flags", OffFlags, 4},
	{"line_size", OffLineSize, 4},
	{"producer_slots", OffProducerSlots, 4},
	{"ring_id", OffRingID, RingIDSize},
	{"head", OffHead, 8},
	{"read_records", OffReadRecords, 8},
	{"read_bytes", OffReadBytes, 8},
	{"unblocks", OffUnblocks, 8},
	{"releasing", OffReleasing, 8},
	{"releasing_records", OffReleasingRecords, 8},
	{"releasing_bytes", OffReleasingBytes, 8},
	{"tail", OffTail, 8},
	{"full_events", OffFullEvents, 8},
	{"aborts", OffAborts, 8},
	{"consumer", OffConsumer, PartySize},
	{"consumer_wait", OffConsumerWait, 4},
	{"producer table", OffProducerTable, ProducerSlots * PartySize},
}

// PartyFields lists a party record's fields in offset order.
var PartyFields = []Field{
	{"lease", PartyOffLease, 8},
	{"heartbeat", PartyOffHeartbeat, 8},
	{"since", PartyOffSince, 8},
	{"records", PartyOffRecords, 8},
	{"bytes", PartyOffBytes, 8},
	{"dropped", PartyOffDropped, 8},
	{"refused", PartyOffRefused, 8},
}

// States lists every party state.
var States = []State{StateFree, StateAttached, StateDetached, StateClosed}

// Kinds lists every record kind.
var Kinds = []Kind{KindEmpty, KindClaimed, KindCommitted, KindPadding, KindAborted, KindUnblocked}
