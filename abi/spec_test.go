package abi

import (
	"math/bits"
	"os"
	"strconv"
	"strings"
	"testing"
)

// specTable returns the rows of the markdown table between the markers
// <!-- name:begin --> and <!-- name:end --> in spec/PROTOCOL.md, each row
// split into trimmed cells, header and separator rows dropped.
func specTable(t *testing.T, name string) [][]string {
	t.Helper()
	doc, err := os.ReadFile("../spec/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	begin, end := "<!-- "+name+":begin -->", "<!-- "+name+":end -->"
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("spec/PROTOCOL.md has no %s markers", name)
	}
	var rows [][]string
	for n, line := range strings.Split(s[i+len(begin):j], "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") || n <= 2 { // blank, header, separator
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		rows = append(rows, cells)
	}
	if len(rows) == 0 {
		t.Fatalf("table %s is empty", name)
	}
	return rows
}

func parseNum(t *testing.T, s string) int {
	t.Helper()
	v, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), 0, 64)
	if err != nil {
		t.Fatalf("spec: %q is not a number", s)
	}
	return int(v)
}

func checkFields(t *testing.T, table string, want []Field) {
	rows := specTable(t, table)
	if len(rows) != len(want) {
		t.Errorf("%s: spec lists %d fields, abi %d", table, len(rows), len(want))
	}
	for i, r := range rows {
		if i >= len(want) {
			break
		}
		got := Field{Name: r[2], Offset: parseNum(t, r[0]), Size: parseNum(t, r[1])}
		if got != want[i] {
			t.Errorf("%s row %d: spec %+v, abi %+v", table, i, got, want[i])
		}
	}
}

func TestSpecHeaderTable(t *testing.T) { checkFields(t, "header-table", Fields) }
func TestSpecPartyTable(t *testing.T)  { checkFields(t, "party-table", PartyFields) }

func TestSpecStateTable(t *testing.T) {
	rows := specTable(t, "state-table")
	if len(rows) != len(States) {
		t.Fatalf("spec lists %d states, abi %d", len(rows), len(States))
	}
	for i, r := range rows {
		if st := State(parseNum(t, r[0])); st != States[i] || r[1] != st.String() {
			t.Errorf("state row %d: spec %s %s, abi %d %s", i, r[0], r[1], States[i], States[i])
		}
	}
}

// TestSpecLeaseTable measures the lease's bit fields from MakeLease, so the
// check does not restate them.
func TestSpecLeaseTable(t *testing.T) {
	span := func(l Lease) [2]int {
		return [2]int{bits.TrailingZeros64(uint64(l)), 63 - bits.LeadingZeros64(uint64(l))}
	}
	want := map[string][2]int{
		"pid":   span(MakeLease(0, MaxLeasePID, 0)),
		"start": span(MakeLease(0, 0, ^uint64(0))),
		"state": span(MakeLease(0xF, 0, 0)),
	}
	rows := specTable(t, "lease-table")
	if len(rows) != len(want) {
		t.Fatalf("spec lists %d lease fields, abi %d", len(rows), len(want))
	}
	for _, r := range rows {
		lo, hi, _ := strings.Cut(r[0], "-")
		w, ok := want[r[1]]
		if !ok || parseNum(t, lo) != w[0] || parseNum(t, hi) != w[1] {
			t.Errorf("lease field %s: spec bits %s, abi %d-%d", r[1], r[0], w[0], w[1])
		}
	}
}

func TestSpecKindTable(t *testing.T) {
	rows := specTable(t, "kind-table")
	if len(rows) != len(Kinds) {
		t.Fatalf("spec lists %d kinds, abi %d", len(rows), len(Kinds))
	}
	for i, r := range rows {
		if k := Kind(parseNum(t, r[0])); k != Kinds[i] || r[1] != k.String() {
			t.Errorf("kind row %d: spec %s %s, abi %#02x %s", i, r[0], r[1], uint8(Kinds[i]), Kinds[i])
		}
	}
}

func TestSpecWordTable(t *testing.T) {
	want := map[string][2]int{
		"len": {0, 31}, "lap": {wordLapShift, wordLapShift + 15},
		"owner": {wordOwnerShift, wordOwnerShift + 7}, "kind": {wordKindShift, 63},
	}
	rows := specTable(t, "word-table")
	if len(rows) != len(want) {
		t.Fatalf("spec lists %d word fields, abi %d", len(rows), len(want))
	}
	for _, r := range rows {
		lo, hi, _ := strings.Cut(r[0], "-")
		w, ok := want[r[1]]
		if !ok || parseNum(t, lo) != w[0] || parseNum(t, hi) != w[1] {
			t.Errorf("word field %s: spec bits %s, abi %d-%d", r[1], r[0], w[0], w[1])
		}
	}
}

// TestSpecConstants finds the constants the spec states in prose.
func TestSpecConstants(t *testing.T) {
	doc, err := os.ReadFile("../spec/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"`0x0" + strings.ToUpper(strconv.FormatUint(Magic, 16)) + "`",
		"`64 <= capacity <= 2^31`",
		"**`max_payload = capacity / 8`**",
	} {
		if !strings.Contains(string(doc), s) {
			t.Errorf("spec does not state %s", s)
		}
	}
	if Magic != 0x0100465542474F4C || MinCapacity != 64 || MaxCapacity != 1<<31 || MaxPayload(1024) != 128 {
		t.Error("abi constants differ from the values the spec states")
	}
}
