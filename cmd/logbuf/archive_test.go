package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logbuf/logbuf/archive"
)

// archiveRun creates an MPSC ring, archives it while producer processes
// 1..producers write perProducer records each, and returns the archive
// directory.
func archiveRun(t *testing.T, producers, perProducer int, extra ...string) string {
	t.Helper()
	path := createRing(t, "mpsc", "64KiB")
	out := filepath.Join(t.TempDir(), "archive")
	var waits []func() result
	for id := 1; id <= producers; id++ {
		_, w := start(t, "produce", "--count", fmt.Sprint(perProducer), "--id", fmt.Sprint(id), path)
		waits = append(waits, w)
	}
	// The archive ends when every producer that attached has gone: start it
	// once all have attached (they wait for space meanwhile), or the first
	// to finish could end it before the last attaches.
	waitFor(t, path, fmt.Sprintf("producers    %d attached", producers))
	_, waitArchive := start(t, append([]string{"archive", path, "--out", out}, extra...)...)
	for _, w := range waits {
		want(t, w(), exitOK, "", "")
	}
	r := waitArchive()
	want(t, r, exitOK, "", fmt.Sprintf("archive: %d records", producers*perProducer))
	return out
}

// byProducer splits records by the producer id in their first 4 bytes.
func byProducer(recs [][]byte) map[uint32][][]byte {
	m := map[uint32][][]byte{}
	for _, r := range recs {
		id := binary.LittleEndian.Uint32(r)
		m[id] = append(m[id], r)
	}
	return m
}

// replayAll replays an archive that must be clean and checks that it
// holds exactly what producers 1..producers wrote, perProducer each.
func replayAll(t *testing.T, out string, producers, perProducer int, extra ...string) result {
	t.Helper()
	r := logbuf(t, append([]string{"replay", "--format", "len", out}, extra...)...)
	want(t, r, exitOK, "", "no damage, no gap, no duplicate")
	got := byProducer(splitLen(t, []byte(r.stdout)))
	if len(got) != producers {
		t.Fatalf("records from %d producers, want %d", len(got), producers)
	}
	for id := 1; id <= producers; id++ {
		sameRecords(t, got[uint32(id)], produced(uint32(id), perProducer))
	}
	return r
}

func TestArchiveReplay(t *testing.T) {
	for _, fsync := range []string{"never", "segment", "always"} {
		t.Run(fsync, func(t *testing.T) {
			out := archiveRun(t, 2, 400, "--segment-size", "16KiB", "--fsync", fsync, "--fsync-interval", "5ms")
			segs, _ := archive.List(out)
			if len(segs) < 10 {
				t.Errorf("%d segments, want rollover every 16 KiB", len(segs))
			}
			r := replayAll(t, out, 2, 400)
			want(t, r, exitOK, "", "800 record(s) from")
		})
	}
}

// TestArchivePermissions: segments 0600 and new directories 0700 whatever
// the umask, or what --perm says.
func TestArchivePermissions(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	for _, c := range []struct {
		perm          string
		umask         int
		file, dirMode os.FileMode
	}{{"", 0, 0o600, 0o700}, {"0640", 0o077, 0o640, 0o750}} {
		syscall.Umask(c.umask)
		path := createRing(t, "spsc", "64KiB")
		want(t, logbuf(t, "produce", "--count", "10", path), exitOK, "", "")
		out := filepath.Join(t.TempDir(), "new", "archive")
		args := []string{"archive", "--out", out, path}
		if c.perm != "" {
			args = append(args, "--perm", c.perm)
		}
		want(t, logbuf(t, args...), exitOK, "", "archive: 10 records")
		segs, _ := archive.List(out)
		for _, p := range append(segs, out, filepath.Dir(out)) {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if wantMode := map[bool]os.FileMode{false: c.file, true: c.dirMode}[st.IsDir()]; st.Mode().Perm() != wantMode {
				t.Errorf("umask %#o, --perm %q: %s has mode %v, want %v", c.umask, c.perm, p, st.Mode().Perm(), wantMode)
			}
		}
	}
}

func TestArchiveFollow(t *testing.T) {
	path := createRing(t, "spsc", "64KiB")
	out := filepath.Join(t.TempDir(), "archive")
	arch, wait := start(t, "archive", "--follow", "--out", out, path)
	// Two producers one after the other: with --follow the archive outlives
	// the first.
	want(t, logbuf(t, "produce", "--count", "50", "--id", "1", path), exitOK, "", "")
	waitFor(t, path, "read         50 records")
	want(t, logbuf(t, "produce", "--count", "50", "--id", "2", path), exitOK, "", "")
	waitFor(t, path, "read         100 records")
	arch.Process.Signal(syscall.SIGINT)
	want(t, wait(), exitOK, "", "archive: 100 records")
	replayAll(t, out, 2, 50)
}

// TestArchiveProducersGone: on a ring whose producers have gone, archive
// takes what is left and ends; with nothing left it ends at once, and says
// why.
func TestArchiveProducersGone(t *testing.T) {
	path := createRing(t, "mpsc", "64KiB")
	want(t, logbuf(t, "produce", "--count", "30", "--id", "1", path), exitOK, "", "")
	out := filepath.Join(t.TempDir(), "archive")
	r := logbuf(t, "archive", "--out", out, path)
	want(t, r, exitOK, "", "archive: 30 records")
	if strings.Contains(r.stderr, "no record to archive") {
		t.Fatalf("a run that archived records says there were none:\n%s", r.stderr)
	}
	want(t, logbuf(t, "archive", "--out", out, path), exitOK, "", "every producer of "+path+" has gone and it holds no record to archive; --follow waits")
	replayAll(t, out, 1, 30)
}

// TestArchiveExactlyOnce: a run that archived records the ring never
// released (the ring file is put back as it was before the run, as if the
// archiver died between writing and releasing) is followed by one that
// skips them, and replay --ring sees both states.
func TestArchiveExactlyOnce(t *testing.T) {
	path := createRing(t, "spsc", "64KiB")
	want(t, logbuf(t, "produce", "--count", "20", "--id", "1", path), exitOK, "", "")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "archive")
	want(t, logbuf(t, "archive", "--count", "8", "--out", out, path), exitOK, "", "archive: 8 records")
	if err := os.WriteFile(path, before, 0o600); err != nil {
		t.Fatal(err)
	}
	r := logbuf(t, "replay", "--ring", path, out)
	want(t, r, exitOK, "", "8 archived record(s) not released by the ring yet")
	want(t, r, exitOK, "", "the archive holds every record it released (0)")
	r = logbuf(t, "archive", "--out", out, path)
	want(t, r, exitOK, "", "archive: 12 records")
	want(t, r, exitOK, "", "8 record(s) the archive held already skipped")
	segs, _ := archive.List(out)
	if len(segs) != 2 {
		t.Fatalf("%d segments, want one per run", len(segs))
	}
	replayAll(t, out, 1, 20, "--ring", path)

	// Records the ring released that the archive lacks: drained by tail.
	want(t, logbuf(t, "produce", "--count", "5", "--id", "2", path), exitOK, "", "")
	want(t, logbuf(t, "tail", path), exitOK, "", "")
	r = logbuf(t, "replay", "--ring", path, out)
	want(t, r, exitDamaged, "", "released 5 record(s) the archive lacks: seq 20..24")
	want(t, r, exitDamaged, "", "NOT CLEAN")
}

// TestArchiveFileErrors: a full disk or an I/O error while writing or
// fsyncing a segment ends the archiver with an error naming the segment and
// what failed; what it had written of that batch is taken back, and the
// next run archives the records the ring still holds, each once.
func TestArchiveFileErrors(t *testing.T) {
	for _, c := range []struct{ faults, fsync, msg string }{
		{"write=30000:enospc", "never", "write segment"},
		{"write=30000:eio", "segment", "input/output error"},
		{"sync=2:eio", "always", "fsync segment"},
	} {
		t.Run(c.faults, func(t *testing.T) {
			path := createRing(t, "mpsc", "64KiB")
			want(t, logbuf(t, "produce", "--count", "100", "--id", "1", path), exitOK, "", "")
			out := filepath.Join(t.TempDir(), "archive")
			p := startEnv(t, []string{"LOGBUF_FAULTS=" + c.faults}, "archive", "--fsync", c.fsync, "--segment-size", "16KiB", "--out", out, path)
			r := p.wait()
			want(t, r, exitFailure, "", c.msg)
			if c.faults == "write=30000:enospc" {
				want(t, r, exitFailure, "", "no space left on device")
			}
			if !regexp.MustCompile(`\d{20}\.seg`).MatchString(r.stderr) {
				t.Fatalf("the error does not name the segment:\n%s", r.stderr)
			}
			want(t, logbuf(t, "archive", "--out", out, path), exitOK, "", "")
			replayAll(t, out, 1, 100)
		})
	}
}

// TestArchiveKilledMidWrite: an archiver killed in the middle of a segment
// write leaves a torn frame; the next run cuts it, says so, and archives
// every record once.
func TestArchiveKilledMidWrite(t *testing.T) {
	path := createRing(t, "mpsc", "1MiB")
	want(t, logbuf(t, "produce", "--count", "200", "--id", "1", path), exitOK, "", "")
	out := filepath.Join(t.TempDir(), "archive")
	p := startEnv(t, []string{"LOGBUF_FAULTS=write=50001:stall"}, "archive", "--fsync", "always", "--out", out, path)
	waitStderr(t, p, "logbuf: fault: stalled")
	p.cmd.Process.Kill()
	p.wait()
	r := logbuf(t, "archive", "--out", out, path)
	want(t, r, exitOK, "", "logbuf archive: repaired segment ")
	want(t, r, exitOK, "", "cut ")
	replayAll(t, out, 1, 200)
}

// waitStderr waits until the process has written s to stderr.
func waitStderr(t *testing.T, p *proc, s string) {
	t.Helper()
	for i := 0; !strings.Contains(p.stderr.String(), s); i++ {
		if i == 3000 {
			t.Fatalf("the process never said %q:\n%s", s, p.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// frame is where one record lies in an archive.
type frame struct {
	seg     string
	off     int64
	size    int64 // frame header and payload
	seq     uint64
	payload []byte
}

// readFrames reads every record of an archive with its place.
func readFrames(t *testing.T, dir string) []frame {
	t.Helper()
	r, err := archive.OpenReader(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var fs []frame
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return fs
		}
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, frame{rec.Segment, rec.Offset, archive.FrameHeaderSize + int64(len(rec.Data)), rec.Seq, bytes.Clone(rec.Data)})
	}
}

// TestReplayFlippedBytes flips one byte, then 100 random bytes, in a
// segment of 1 MiB: replay reports each damaged span (segment, offset,
// bytes skipped), loses exactly the frames that hold a flipped byte (and
// counts them as missing), and returns every other record byte for byte.
// --strict gives up the rest of the segment at its first damage.
func TestReplayFlippedBytes(t *testing.T) {
	const records = 5000 // about 2.6 MB: two full segments and a part
	out := archiveRun(t, 1, records, "--segment-size", "1MiB")
	all := readFrames(t, out)
	sameRecords(t, payloads(all), produced(1, records))
	segs, _ := archive.List(out)
	victim := segs[0]
	pristine, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	if len(pristine) < 1<<20-1024 {
		t.Fatalf("first segment is %d bytes, want about 1 MiB", len(pristine))
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 13))
	for _, flips := range []int{1, 100} {
		t.Run(strconv.Itoa(flips), func(t *testing.T) {
			img := bytes.Clone(pristine)
			hit := map[int]bool{} // indexes into all of the frames flipped
			for _, off := range rng.Perm(len(img) - archive.HeaderSize)[:flips] {
				off += archive.HeaderSize
				img[off] ^= byte(1 + rng.IntN(255))
				i := slices.IndexFunc(all, func(f frame) bool { return f.seg == victim && f.off <= int64(off) && int64(off) < f.off+f.size })
				if i < 0 {
					t.Fatalf("offset %d is in no frame", off)
				}
				hit[i] = true
			}
			if err := os.WriteFile(victim, img, 0o600); err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(victim, pristine, 0o600)

			// The spans replay must report: runs of consecutive hit frames.
			var spans []string
			var kept [][]byte
			for i, f := range all {
				switch {
				case !hit[i]:
					kept = append(kept, f.payload)
				case i == 0 || !hit[i-1]:
					size := f.size
					for j := i + 1; j < len(all) && hit[j]; j++ {
						size += all[j].size
					}
					spans = append(spans, fmt.Sprintf("damage in segment %s at offset %d, %d bytes skipped:", filepath.Base(f.seg), f.off, size))
				}
			}
			r := logbuf(t, "replay", "--format", "len", out)
			want(t, r, exitDamaged, "", fmt.Sprintf("%d record(s) missing in", len(hit)))
			for _, s := range spans {
				want(t, r, exitDamaged, "", s)
			}
			if n := strings.Count(r.stderr, "damage in segment"); n != len(spans) {
				t.Fatalf("%d damage reports, want %d:\n%s", n, len(spans), r.stderr)
			}
			sameRecords(t, splitLen(t, []byte(r.stdout)), kept)

			// --strict: from the first damaged frame to the end of the
			// segment, all is lost.
			first := len(all)
			for i := range hit {
				first = min(first, i)
			}
			var strictKept [][]byte
			for i, f := range all {
				if f.seg != victim || i < first {
					strictKept = append(strictKept, f.payload)
				}
			}
			r = logbuf(t, "replay", "--strict", "--format", "len", out)
			want(t, r, exitDamaged, "", fmt.Sprintf("damage in segment %s at offset %d, %d bytes skipped:",
				filepath.Base(victim), all[first].off, int64(len(img))-all[first].off))
			sameRecords(t, splitLen(t, []byte(r.stdout)), strictKept)
		})
	}
	want(t, logbuf(t, "replay", t.TempDir()), exitOK, "", "no segments")
	want(t, logbuf(t, "replay", filepath.Join(out, "nope")), exitFailure, "", "no such file")
}

func payloads(fs []frame) [][]byte {
	out := make([][]byte, len(fs))
	for i, f := range fs {
		out[i] = f.payload
	}
	return out
}
