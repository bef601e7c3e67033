package abi

import "testing"

func TestWordFields(t *testing.T) {
	w := ClaimedWord(0xDEADBEEF, 0x1_2345, 0x20)
	if w.Kind() != KindClaimed || w.Len() != 0xDEADBEEF || w.Lap() != 0x2345 || w.Owner() != 0x20 {
		t.Fatalf("ClaimedWord fields: kind %v len %#x lap %#x owner %#x", w.Kind(), w.Len(), w.Lap(), w.Owner())
	}
	if uint64(w) != 0x01_20_2345_DEADBEEF {
		t.Fatalf("ClaimedWord = %#x", uint64(w))
	}
	if got := uint64(CommittedWord(5)); got != 0x02000000_00000005 {
		t.Fatalf("CommittedWord(5) = %#x", got)
	}
	if got := uint64(SkipWord(KindPadding, 64)); got != 0x81000000_00000040 {
		t.Fatalf("SkipWord = %#x", got)
	}
	for _, k := range Kinds {
		if k.IsSkip() != (k >= 0x80) {
			t.Errorf("%v.IsSkip() = %v", k, k.IsSkip())
		}
	}
}

func TestWordValid(t *testing.T) {
	cases := []struct {
		w    Word
		want bool
	}{
		{0, true},
		{1, false}, // kind EMPTY with a length
		{ClaimedWord(8, 3, 1), true},
		{CommittedWord(8), true},
		{CommittedWord(8) | 1<<40, false}, // lap bits outside CLAIMED
		{CommittedWord(8) | 1<<50, false}, // owner bits outside CLAIMED
		{SkipWord(KindAborted, 16), true},
		{SkipWord(0x03, 16), false}, // unknown kind
		{SkipWord(0x84, 16), false},
	}
	for _, c := range cases {
		if got := c.w.Valid(); got != c.want {
			t.Errorf("Word(%#x).Valid() = %v, want %v", uint64(c.w), got, c.want)
		}
	}
}

func TestRecordSize(t *testing.T) {
	for n, want := range map[uint64]uint64{1: 16, 7: 16, 8: 16, 9: 24, 16: 24, 1024: 1032, 1017: 1032} {
		if got := RecordSize(n); got != want {
			t.Errorf("RecordSize(%d) = %d, want %d", n, got, want)
		}
	}
}
