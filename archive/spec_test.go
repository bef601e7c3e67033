package archive

import (
	"context"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/logbuf/logbuf/drain"
)

const specPath = "../spec/ARCHIVE.md"

// specBlock returns the text between <!-- name:begin --> and
// <!-- name:end --> in spec/ARCHIVE.md.
func specBlock(t *testing.T, name string) string {
	t.Helper()
	doc, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	begin, end := "<!-- "+name+":begin -->", "<!-- "+name+":end -->"
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no %s markers", specPath, name)
	}
	return s[i+len(begin) : j]
}

// specTable returns the rows of the markdown table in a block, split into
// trimmed cells, header and separator rows dropped.
func specTable(t *testing.T, name string) [][]string {
	t.Helper()
	var rows [][]string
	n := 0
	for _, line := range strings.Split(specBlock(t, name), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			continue
		}
		if n++; n <= 2 {
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.Trim(strings.TrimSpace(c), "`"))
		}
		rows = append(rows, cells)
	}
	return rows
}

type specField struct {
	off  int
	size string
	name string
}

func checkSpecTable(t *testing.T, table string, want []specField) {
	rows := specTable(t, table)
	if len(rows) != len(want) {
		t.Fatalf("%s: spec lists %d fields, the code %d", table, len(rows), len(want))
	}
	for i, r := range rows {
		off, err := strconv.ParseInt(strings.TrimPrefix(r[0], "+"), 0, 64)
		if err != nil || int(off) != want[i].off || r[1] != want[i].size || r[2] != want[i].name {
			t.Errorf("%s row %d: spec %q, code %+v", table, i, r[:3], want[i])
		}
	}
}

func TestSpecHeaderTable(t *testing.T) {
	checkSpecTable(t, "header-table", []specField{
		{offMagic, strconv.Itoa(len(Magic)), "magic"},
		{offVersion, "4", "version"},
		{offRingID, "16", "ring_id"},
		{offFirstPos, "8", "first_pos"},
		{offFirstSeq, "8", "first_seq"},
		{offHeaderCRC, "4", "header_crc"},
	})
	if offHeaderCRC+4 != HeaderSize {
		t.Errorf("header fields end at %d, HeaderSize is %d", offHeaderCRC+4, HeaderSize)
	}
}

func TestSpecFrameTable(t *testing.T) {
	checkSpecTable(t, "frame-table", []specField{
		{offFrameCRC, "4", "crc"},
		{offLength, "4", "length"},
		{offPos, "8", "pos"},
		{offSeq, "8", "seq"},
		{FrameHeaderSize, "length", "payload"},
	})
}

func TestSpecConstants(t *testing.T) {
	rows := specTable(t, "constants")
	want := map[string]string{
		"magic":             fmt.Sprintf("%q", Magic),
		"version":           strconv.Itoa(Version),
		"header size":       strconv.Itoa(HeaderSize),
		"frame header size": strconv.Itoa(FrameHeaderSize),
		"max record":        fmt.Sprintf("%d (2^28)", MaxRecord),
		"CRC-32C check":     fmt.Sprintf("%#08x", crc32.Checksum([]byte("123456789"), castagnoli)),
	}
	for _, r := range rows {
		if w, ok := want[r[0]]; !ok || r[1] != w {
			t.Errorf("constant %q: spec %q, code %q", r[0], r[1], w)
		}
		delete(want, r[0])
	}
	for k := range want {
		t.Errorf("constant %q missing from the spec", k)
	}
}

// TestSpecExample writes the spec's example with the Writer and compares
// the segment, byte for byte, with the annotated dump in the spec.
func TestSpecExample(t *testing.T) {
	dir := t.TempDir()
	ring := [16]byte{0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f}
	recs := []drain.Record{{Data: []byte("hello"), Pos: 0x1000, Seq: 7}, {Data: []byte("logbuf!"), Pos: 0x1010, Seq: 8}}
	w := openW(t, dir, nil)
	if err := w.Write(context.Background(), &drain.Batch{RingID: ring, Records: recs}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	b, err := os.ReadFile(segments(t, dir)[0])
	if err != nil {
		t.Fatal(err)
	}
	want := renderExample(b)
	if got := strings.TrimSpace(strings.Trim(strings.TrimSpace(specBlock(t, "example")), "`")); got != strings.TrimSpace(want) {
		t.Errorf("the spec's example differs from what the Writer writes; it should read:\n%s", want)
	}
}

// renderExample annotates the example segment field by field.
func renderExample(b []byte) string {
	le := func(p []byte) uint64 {
		var v uint64
		for i := len(p) - 1; i >= 0; i-- {
			v = v<<8 | uint64(p[i])
		}
		return v
	}
	var sb strings.Builder
	off := 0
	field := func(n int, label string) {
		p := b[off : off+n]
		for len(p) > 0 {
			k := min(len(p), 16)
			hex := fmt.Sprintf("% x", p[:k])
			fmt.Fprintf(&sb, "%04x | %-47s | %s\n", off, hex, label)
			off += k
			p = p[k:]
			label = "  (continued)"
		}
	}
	field(8, fmt.Sprintf("magic %q", b[0:8]))
	field(4, fmt.Sprintf("version %d", le(b[8:12])))
	field(16, "ring_id")
	field(8, fmt.Sprintf("first_pos %#x", le(b[offFirstPos:offFirstPos+8])))
	field(8, fmt.Sprintf("first_seq %d", le(b[offFirstSeq:offFirstSeq+8])))
	field(4, fmt.Sprintf("header_crc %#08x = CRC-32C of bytes 0x00..0x2b", le(b[offHeaderCRC:offHeaderCRC+4])))
	for i := 0; off < len(b); i++ {
		start := off
		n := int(le(b[off+offLength : off+offLength+4]))
		fmt.Fprintf(&sb, "     |%49s| frame %d\n", "", i)
		field(4, fmt.Sprintf("crc %#08x = CRC-32C of bytes %#04x..%#04x", le(b[off:off+4]), start+4, start+FrameHeaderSize+n-1))
		field(4, fmt.Sprintf("length %d", n))
		field(8, fmt.Sprintf("pos %#x", le(b[off:off+8])))
		field(8, fmt.Sprintf("seq %d", le(b[off:off+8])))
		field(n, fmt.Sprintf("payload %q", b[off:off+n]))
	}
	return sb.String()
}
