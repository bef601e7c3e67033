//go:build linux

package logio

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/logbuf/logbuf/ring"
)

var tool struct {
	once sync.Once
	path string
	err  error
}

// logbufTool builds the command-line tool once for the test binary.
func logbufTool(t *testing.T) string {
	t.Helper()
	tool.once.Do(func() {
		dir, err := os.MkdirTemp("", "logio-tool")
		if err != nil {
			tool.err = err
			return
		}
		tool.path = filepath.Join(dir, "logbuf")
		cmd := exec.Command("go", "build", "-o", tool.path, "./cmd/logbuf")
		cmd.Dir = ".." // the module's root
		if out, err := cmd.CombinedOutput(); err != nil {
			tool.err = errors.New("go build ./cmd/logbuf: " + err.Error() + "\n" + string(out))
		}
	})
	if tool.err != nil {
		t.Fatal(tool.err)
	}
	return tool.path
}

// lengthPrefixed splits the output of "--format len": each record after
// its length as 4 bytes, little-endian.
func lengthPrefixed(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var recs [][]byte
	for len(b) > 0 {
		if len(b) < 4 {
			t.Fatalf("%d bytes left after %d records: not a length", len(b), len(recs))
		}
		n := binary.LittleEndian.Uint32(b)
		if uint64(len(b)-4) < uint64(n) {
			t.Fatalf("record %d: length %d, %d bytes left", len(recs), n, len(b)-4)
		}
		recs, b = append(recs, b[4:4+n]), b[4+n:]
	}
	return recs
}

// statCounters is the part of "logbuf stat --json" these tests read.
type statCounters struct {
	Counters struct {
		RecordsWritten uint64 `json:"records_written"`
		RecordsRead    uint64 `json:"records_read"`
		Dropped        uint64 `json:"dropped"`
		Refused        uint64 `json:"refused"`
	} `json:"counters"`
}

func stat(t *testing.T, logbuf, path string) statCounters {
	t.Helper()
	out, err := exec.Command(logbuf, "stat", "--json", path).Output()
	if err != nil {
		t.Fatalf("logbuf stat: %v", err)
	}
	var s statCounters
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("logbuf stat --json: %v\n%s", err, out)
	}
	return s
}

// Goroutines of this process log into a ring file that "logbuf archive"
// drains in another; the archive, replayed, holds every record once, in
// order per goroutine, byte-exact, and "logbuf stat" shows the Writer's
// counts. Then a Writer with no archiver drops, and stat shows the drops.
func TestFileArchivedByAnotherProcess(t *testing.T) {
	logbuf := logbufTool(t)
	dir := t.TempDir()
	path, out := filepath.Join(dir, "ring"), filepath.Join(dir, "archive")

	w, err := OpenFile(path, FileOptions{Capacity: 64 << 10, Options: Options{Wait: -1}})
	if err != nil {
		t.Fatal(err)
	}
	archiver := exec.Command(logbuf, "archive", "--out", out, path)
	var stderr bytes.Buffer
	archiver.Stderr = &stderr
	if err := archiver.Start(); err != nil {
		t.Fatal(err)
	}
	const goroutines, perG = 8, 2000
	writeEvents(t, w, goroutines, perG)
	if _, err := w.Write(make([]byte, w.MaxPayload()+1)); !errors.Is(err, ring.ErrTooLarge) {
		t.Fatalf("too large: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// The producer left: the archiver drains the ring and ends.
	if err := archiver.Wait(); err != nil {
		t.Fatalf("logbuf archive: %v\n%s", err, stderr.Bytes())
	}
	replay := exec.Command(logbuf, "replay", "--format", "len", out)
	replay.Stderr = &stderr
	b, err := replay.Output()
	if err != nil {
		t.Fatalf("logbuf replay: %v\n%s", err, stderr.Bytes())
	}
	checkEvents(t, lengthPrefixed(t, b), goroutines, perG, true)

	s := stat(t, logbuf, path)
	k := w.Counts()
	if k != (Counts{Written: goroutines * perG, Refused: 1}) {
		t.Fatalf("counts %+v", k)
	}
	if c := s.Counters; c.RecordsWritten != k.Written || c.RecordsRead != k.Written || c.Refused != 1 || c.Dropped != 0 {
		t.Fatalf("logbuf stat: %+v; the Writer counted %+v", c, k)
	}

	// Nobody drains now: a Writer that drops, and stat adds its drops.
	w2, err := OpenFile(path, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fit := 0
	for w2.Counts().Dropped == 0 {
		w2.Write(make([]byte, 500))
		fit++
	}
	fit--
	w2.Write(make([]byte, 500))
	w2.Close()
	if k := w2.Counts(); k != (Counts{Written: uint64(fit), Dropped: 2}) {
		t.Fatalf("second Writer: counts %+v", k)
	}
	if c := stat(t, logbuf, path).Counters; c.Dropped != 2 || c.Refused != 1 || c.RecordsWritten != goroutines*perG+uint64(fit) {
		t.Fatalf("logbuf stat after drops: %+v", c)
	}
}

// OpenFile creates the ring file when it is missing and opens it when it
// is there; two Writers share it.
func TestOpenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ring")
	w1, err := OpenFile(path, FileOptions{Capacity: 5000})
	if err != nil {
		t.Fatal(err)
	}
	defer w1.Close()
	if got := w1.Stats().Capacity; got != 8192 {
		t.Fatalf("capacity %d, want 5000 rounded up to 8192", got)
	}
	w2, err := OpenFile(path, FileOptions{Capacity: 1 << 20}) // opened: the capacity is the file's
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	w1.Write([]byte("one"))
	w2.Write([]byte("two"))
	if s := w2.Stats(); s.Capacity != 8192 || s.RecordsWritten != 2 || s.Producers != 2 {
		t.Fatalf("stats %+v", s)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ring file: %v, %v", fi.Mode(), err)
	}
	if _, err := OpenFile(filepath.Join(t.TempDir(), "no", "such", "dir"), FileOptions{}); err == nil {
		t.Fatal("OpenFile in a missing directory succeeded")
	}
}

// Processes (here goroutines) that open a missing ring file at once all get
// a Writer over the one ring that one of them created.
func TestOpenFileRace(t *testing.T) {
	dir := t.TempDir()
	for i := range 20 {
		path := filepath.Join(dir, fmt.Sprintf("ring-%d", i))
		var wg sync.WaitGroup
		ws := make([]*Writer, 8)
		for k := range ws {
			wg.Go(func() {
				w, err := OpenFile(path, FileOptions{Capacity: 4096})
				if err != nil {
					t.Errorf("OpenFile %d: %v", k, err)
					return
				}
				ws[k] = w
				w.Write([]byte("hello"))
			})
		}
		wg.Wait()
		for _, w := range ws {
			if w != nil {
				if s := w.Stats(); s.RecordsWritten != uint64(len(ws)) {
					t.Fatalf("%d records in the ring, want one from each Writer", s.RecordsWritten)
				}
				w.Close()
			}
		}
	}
}
