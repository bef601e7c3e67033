package abi

// Field names one field of the layout: where it is and how wide. Fields and
// SlotFields are the layout as data, for the spec check and for generating
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
	{"head", OffHead, 8},
	{"read_records", OffReadRecords, 8},
	{"read_bytes", OffReadBytes, 8},
	{"unblocks", OffUnblocks, 8},
	{"tail", OffTail, 8},
	{"full_events", OffFullEvents, 8},
	{"aborts", OffAborts, 8},
	{"consumer_pid", OffConsumerPID, 4},
	{"consumer_state", OffConsumerState, 4},
	{"consumer_start", OffConsumerStart, 8},
	{"consumer_heartbeat", OffConsumerHeartbeat, 8},
	{"consumer_wait", OffConsumerWait, 4},
	{"producer table", OffProducerTable, ProducerSlots * SlotSize},
}

// SlotFields lists a producer table entry's fields in offset order.
var SlotFields = []Field{
	{"pid", SlotOffPID, 4},
	{"state", SlotOffState, 4},
	{"start", SlotOffStart, 8},
	{"heartbeat", SlotOffHeartbeat, 8},
	{"records", SlotOffRecords, 8},
	{"bytes", SlotOffBytes, 8},
}

// Kinds lists every record kind.
var Kinds = []Kind{KindEmpty, KindClaimed, KindCommitted, KindPadding, KindAborted, KindUnblocked}
