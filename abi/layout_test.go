package abi

import (
	"reflect"
	"testing"
	"unsafe"
)

// TestHeaderMirrorsOffsets checks the Go struct against the offset constants,
// the check the C header repeats with _Static_assert(offsetof(...)).
func TestHeaderMirrorsOffsets(t *testing.T) {
	var h Header
	goOff := map[string]uintptr{
		"magic": unsafe.Offsetof(h.Magic), "version": unsafe.Offsetof(h.Version),
		"header_size": unsafe.Offsetof(h.HeaderSize), "capacity": unsafe.Offsetof(h.Capacity),
		"flags": unsafe.Offsetof(h.Flags), "line_size": unsafe.Offsetof(h.LineSize),
		"producer_slots": unsafe.Offsetof(h.ProducerSlots), "ring_id": unsafe.Offsetof(h.RingID),
		"head":         unsafe.Offsetof(h.Head),
		"read_records": unsafe.Offsetof(h.ReadRecords), "read_bytes": unsafe.Offsetof(h.ReadBytes),
		"unblocks": unsafe.Offsetof(h.Unblocks), "releasing": unsafe.Offsetof(h.Releasing),
		"releasing_records": unsafe.Offsetof(h.ReleasingRecords), "releasing_bytes": unsafe.Offsetof(h.ReleasingBytes),
		"tail":        unsafe.Offsetof(h.Tail),
		"full_events": unsafe.Offsetof(h.FullEvents), "aborts": unsafe.Offsetof(h.Aborts),
		"consumer":      unsafe.Offsetof(h.Consumer),
		"consumer_wait": unsafe.Offsetof(h.ConsumerWait), "producer table": unsafe.Offsetof(h.Producers),
	}
	if len(goOff) != len(Fields) {
		t.Fatalf("Fields has %d entries, the struct check %d", len(Fields), len(goOff))
	}
	for _, f := range Fields {
		if got, ok := goOff[f.Name]; !ok || got != uintptr(f.Offset) {
			t.Errorf("%s: struct offset %#x, constant %#x", f.Name, got, f.Offset)
		}
	}
	if s := unsafe.Sizeof(h); s != HeaderSize {
		t.Errorf("sizeof(Header) = %d, want %d", s, HeaderSize)
	}
	var s Party
	partyOff := map[string]uintptr{
		"lease": unsafe.Offsetof(s.Lease), "heartbeat": unsafe.Offsetof(s.Heartbeat), "since": unsafe.Offsetof(s.Since),
		"records": unsafe.Offsetof(s.Records), "bytes": unsafe.Offsetof(s.Bytes),
		"dropped": unsafe.Offsetof(s.Dropped), "refused": unsafe.Offsetof(s.Refused),
	}
	if len(partyOff) != len(PartyFields) {
		t.Fatalf("PartyFields has %d entries, the struct check %d", len(PartyFields), len(partyOff))
	}
	for _, f := range PartyFields {
		if got, ok := partyOff[f.Name]; !ok || got != uintptr(f.Offset) {
			t.Errorf("party %s: struct offset %#x, constant %#x", f.Name, got, f.Offset)
		}
	}
	if sz := unsafe.Sizeof(s); sz != PartySize {
		t.Errorf("sizeof(Party) = %d, want %d", sz, PartySize)
	}
	// Field sizes in the tables must match the Go types' sizes.
	ht := reflect.TypeFor[Header]()
	for i := 0; i < ht.NumField(); i++ {
		sf := ht.Field(i)
		for _, f := range Fields {
			if uintptr(f.Offset) == sf.Offset && sf.Name != "_" && f.Size != int(sf.Type.Size()) {
				t.Errorf("%s: table size %d, Go size %d", f.Name, f.Size, sf.Type.Size())
			}
		}
	}
}

// TestLinesByWriter checks that fields written by different parties never
// share a line.
func TestLinesByWriter(t *testing.T) {
	line := func(off int) int { return off / LineSize }
	groups := [][]int{
		{OffMagic, OffProducerSlots},
		{OffHead, OffReleasingBytes},
		{OffTail},
		{OffFullEvents, OffAborts},
		{OffConsumer, OffConsumer + PartySize - 1},
		{OffConsumerWait},
	}
	seen := map[int]int{}
	for g, offs := range groups {
		for _, o := range offs {
			if prev, ok := seen[line(o)]; ok && prev != g {
				t.Errorf("offset %#x shares line %d with group %d", o, line(o), prev)
			}
			seen[line(o)] = g
		}
	}
}
