package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// One short round of everything, so that CI keeps the benchmark running:
// every writer, every table, the targets; a few seconds.
func TestSmoke(t *testing.T) {
	var out bytes.Buffer
	lost, err := run(&out, 1, 640, 50*time.Millisecond, 1, 4e6, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"#### slog into discard", "(e) logio.Writer, ring file, logbuf tail", "#### Overload", "#### Targets"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("no %q in the output:\n%s", want, out.String())
		}
	}
	// logbuf's writers count every event they do not deliver.
	if lost["d"] != 0 || lost["e"] != 0 {
		t.Fatalf("events lost without a word: %v\n%s", lost, out.String())
	}
}
