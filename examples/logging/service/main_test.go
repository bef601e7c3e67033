package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/logbuf/logbuf/examples/logging/internal/logbuftool"
)

// shmDir is a fresh directory in /dev/shm, where rings live, or a
// temporary directory where there is no /dev/shm.
func shmDir(t *testing.T) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err != nil || !fi.IsDir() {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("/dev/shm", "logbuf-service-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// The service logs into a ring file that "logbuf archive" drains from
// another process; the archive, replayed, has every event once, in order
// per worker, as valid JSON with the fields logged.
func TestServiceArchived(t *testing.T) {
	const workers, events = 8, 2000
	logbuf, err := logbuftool.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := shmDir(t)
	ringPath, archive := filepath.Join(dir, "service.ring"), filepath.Join(dir, "archive")
	if out, err := exec.Command(logbuf, "create", "--capacity", "1M", "--mode", "mpsc", ringPath).CombinedOutput(); err != nil {
		t.Fatalf("logbuf create: %v\n%s", err, out)
	}
	archiver := exec.Command(logbuf, "archive", "--out", archive, ringPath)
	var stderr bytes.Buffer
	archiver.Stderr = &stderr
	if err := archiver.Start(); err != nil {
		t.Fatal(err)
	}
	// A minute: long enough never to drop on a busy machine, so that the
	// check below can ask for every event.
	if err := run(ringPath, workers, events, time.Minute); err != nil {
		archiver.Process.Kill()
		t.Fatal(err)
	}
	if err := archiver.Wait(); err != nil {
		t.Fatalf("logbuf archive: %v\n%s", err, stderr.Bytes())
	}
	out, err := exec.Command(logbuf, "replay", archive).Output()
	if err != nil {
		t.Fatalf("logbuf replay: %v", err)
	}
	lines := bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n"))
	if len(lines) != workers*events {
		t.Fatalf("%d lines archived, want %d", len(lines), workers*events)
	}
	next := make([]int, workers)
	for i, l := range lines {
		var e struct {
			Time                time.Time
			Level, Msg          string
			Worker, Seq, Status int
			Method, Path        string
		}
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatalf("line %d: %v: %q", i, err, l)
		}
		if e.Worker < 0 || e.Worker >= workers || e.Seq != next[e.Worker] {
			t.Fatalf("line %d: worker %d, seq %d; out of order, lost or twice", i, e.Worker, e.Seq)
		}
		if e.Time.IsZero() || e.Level != "INFO" || e.Msg != "request" || e.Method != "GET" || e.Path != "/items" || e.Status != 200 {
			t.Fatalf("line %d: %q", i, l)
		}
		next[e.Worker]++
	}
	var st struct {
		Counters struct {
			RecordsWritten uint64 `json:"records_written"`
			Dropped        uint64 `json:"dropped"`
		} `json:"counters"`
	}
	b, err := exec.Command(logbuf, "stat", "--json", ringPath).Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if st.Counters.RecordsWritten != workers*events || st.Counters.Dropped != 0 {
		t.Fatalf("logbuf stat: %+v", st.Counters)
	}
}
