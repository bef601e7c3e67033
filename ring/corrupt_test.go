package ring

import (
	"errors"
	"strings"
	"testing"

	"github.com/logbuf/logbuf/abi"
)

// TestFullRingRead reads a ring that is exactly full without releasing: the
// word after the last record is the first one again, not a new record.
func TestFullRingRead(t *testing.T) {
	p, c := newSPSC(t, 64)
	for i := 0; i < 4; i++ {
		write(t, p, fill(8, byte(i)))
	}
	for i := 0; i < 4; i++ {
		read(t, c)
	}
	if _, err := c.TryRead(); err != ErrEmpty {
		t.Fatalf("TryRead past a whole unreleased ring = %v", err)
	}
}

// TestCorruptWords plants bad header words and checks each is reported as
// ErrCorrupt naming the rule, and that the consumer then stays stopped.
func TestCorruptWords(t *testing.T) {
	const capacity = 1024 // max payload 128
	cases := []struct {
		name string
		off  uint64
		w    abi.Word
		tail uint64
		want string
	}{
		{"unknown kind", 0, abi.SkipWord(0x07, 16), 16, "unknown kind"},
		{"lap bits on a commit", 0, abi.CommittedWord(8) | 1<<33, 16, "lap/owner"},
		{"kind empty with a length", 0, 5, 16, "unknown kind"},
		{"length over max", 0, abi.CommittedWord(129), 1024, "not in [1, 128]"},
		{"huge length", 0, abi.CommittedWord(0xFFFFFFFF), 1024, "not in [1, 128]"},
		{"skip not multiple of 8", 0, abi.SkipWord(abi.KindAborted, 12), 16, "multiple of 8"},
		{"skip of zero", 0, abi.SkipWord(abi.KindAborted, 0), 16, "multiple of 8"},
		{"abort larger than any claim", 0, abi.SkipWord(abi.KindAborted, 256), 256, "larger than any claim"},
		{"padding before the wrap", 0, abi.SkipWord(abi.KindPadding, 64), 64, "wrap point"},
		{"unblocked past the end", 0, abi.SkipWord(abi.KindUnblocked, 2048), 1024, "crosses the end"},
		{"record past tail", 0, abi.CommittedWord(100), 16, "runs past tail"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, c := newSPSC(t, capacity)
			c.reg.WordAt(tc.off).Store(uint64(tc.w))
			c.hdr.Tail.Store(tc.tail)
			_, err := c.TryRead()
			var ce *abi.CorruptError
			if !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("TryRead = %v, want ErrCorrupt saying %q", err, tc.want)
			}
			if ce.Offset != tc.off {
				t.Errorf("error names position %d, want %d", ce.Offset, tc.off)
			}
			if _, err2 := c.TryRead(); err2 != err {
				t.Errorf("second TryRead = %v, want the same error", err2)
			}
			if n, err2 := c.ReadBatch(5, func([]byte) { t.Error("delivered a record") }); n != 0 || err2 != err {
				t.Errorf("ReadBatch = %d, %v", n, err2)
			}
		})
	}
}

func TestCorruptTail(t *testing.T) {
	_, c := newSPSC(t, 1024)
	c.reg.WordAt(0).Store(uint64(abi.CommittedWord(8)))
	c.hdr.Tail.Store(1 << 40)
	if _, err := c.TryRead(); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "tail") {
		t.Fatalf("TryRead with a wild tail = %v", err)
	}
}

func TestCorruptHeadSeenByProducer(t *testing.T) {
	p, _ := newSPSC(t, 64)
	for i := 0; i < 4; i++ {
		write(t, p, fill(8, 0))
	}
	p.hdr.Head.Store(1 << 50)
	if err := p.TrySend(fill(8, 0)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("SPSC write with a wild head = %v", err)
	}
	mp, _, err := NewMPSC(64)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		write(t, mp, fill(8, 0))
	}
	mp.hdr.Head.Store(3)
	if err := mp.TrySend(fill(8, 0)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("MPSC write with a misaligned head = %v", err)
	}
}
