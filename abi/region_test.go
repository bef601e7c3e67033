package abi

import (
	"errors"
	"strings"
	"testing"
)

func TestFormatOpen(t *testing.T) {
	r, err := NewHeap(1024, MPSC)
	if err != nil {
		t.Fatal(err)
	}
	o, err := Open(r.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if o.Capacity() != 1024 || o.Mode() != MPSC || o.MaxPayload() != 128 || len(o.Data()) != 1024 {
		t.Fatalf("opened %d %v %d %d", o.Capacity(), o.Mode(), o.MaxPayload(), len(o.Data()))
	}
}

func TestRoundCapacity(t *testing.T) {
	for n, want := range map[uint64]uint64{0: 64, 1: 64, 64: 64, 65: 128, 1000: 1024, 1 << 31: 1 << 31} {
		if got, err := RoundCapacity(n); err != nil || got != want {
			t.Errorf("RoundCapacity(%d) = %d, %v; want %d", n, got, err, want)
		}
	}
	if _, err := RoundCapacity(1<<31 + 1); err == nil {
		t.Error("RoundCapacity above the maximum: no error")
	}
}

// TestOpenRejects corrupts each validated field in turn and checks that Open
// names it.
func TestOpenRejects(t *testing.T) {
	cases := []struct {
		field string
		mess  func(h *Header, mem *[]byte)
	}{
		{"region size", func(h *Header, mem *[]byte) { *mem = (*mem)[:100] }},
		{"magic", func(h *Header, _ *[]byte) { h.Magic ^= 1 }},
		{"version", func(h *Header, _ *[]byte) { h.Version = 1 }}, // the previous protocol
		{"header_size", func(h *Header, _ *[]byte) { h.HeaderSize = 512 }},
		{"line_size", func(h *Header, _ *[]byte) { h.LineSize = 64 }},
		{"producer_slots", func(h *Header, _ *[]byte) { h.ProducerSlots = 0 }},
		{"capacity", func(h *Header, _ *[]byte) { h.Capacity = 1000 }},
		{"capacity", func(h *Header, _ *[]byte) { h.Capacity = 32 }},
		{"capacity", func(h *Header, _ *[]byte) { h.Capacity = 1 << 32 }},
		{"capacity", func(h *Header, mem *[]byte) { *mem = (*mem)[:HeaderSize+512] }},
		{"flags", func(h *Header, _ *[]byte) { h.Flags = 6 }},
		{"head", func(h *Header, _ *[]byte) { h.Head.Store(3) }},
		{"tail", func(h *Header, _ *[]byte) { h.Tail.Store(5) }},
		{"tail", func(h *Header, _ *[]byte) { h.Tail.Store(2048) }},
		{"tail", func(h *Header, _ *[]byte) { h.Head.Store(16); h.Tail.Store(8) }},
	}
	for _, c := range cases {
		r, err := NewHeap(1024, SPSC)
		if err != nil {
			t.Fatal(err)
		}
		mem := r.Bytes()
		c.mess(r.Header(), &mem)
		_, err = Open(mem)
		var ce *CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) || ce.Field != c.field {
			t.Errorf("%s: Open gave %v", c.field, err)
			continue
		}
		if !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: message %q does not name the field", c.field, err)
		}
	}
}

func TestFormatRejects(t *testing.T) {
	mem := make([]byte, HeaderSize+2048+LineSize)
	if _, err := Format(mem, 1000, SPSC); err == nil {
		t.Error("capacity 1000 accepted")
	}
	if _, err := Format(mem, 1024, Mode(4)); err == nil {
		t.Error("mode 4 accepted")
	}
	if _, err := Format(mem[:HeaderSize+10], 1024, SPSC); err == nil {
		t.Error("short memory accepted")
	}
}
