package archive

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/logbuf/logbuf/drain"
)

// faultFS is the real file system with a log of what the Writer did and
// failures on cue.
type faultFS struct {
	osFS
	ops []string // "create NAME", "write NAME", "sync NAME", "syncdir", "truncate NAME", "remove NAME"

	writeBudget int64 // bytes writes may still write, then they fail with writeErr; <0: no limit
	writeErr    error
	syncFail    int // the syncFail-th fsync of a segment fails with syncErr (1 = the first); 0: none
	syncErr     error
	syncs       int
	createErr   error // creating a segment fails
	dirSyncErr  error // fsync of the directory fails
	truncErr    error // truncating fails
	removeErr   error // removing a file fails
}

func newFaultFS() *faultFS { return &faultFS{writeBudget: -1} }

type faultFile struct {
	*os.File
	fs   *faultFS
	name string
}

func (f *faultFS) log(op, path string) { f.ops = append(f.ops, op+" "+filepath.Base(path)) }

func (f *faultFS) createFile(path string, perm fs.FileMode) (segFile, error) {
	f.log("create", path)
	if f.createErr != nil && strings.HasSuffix(path, Ext) {
		return nil, f.createErr
	}
	sf, err := f.osFS.createFile(path, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{sf.(*os.File), f, filepath.Base(path)}, nil
}

func (f *faultFS) openFile(path string) (segFile, error) {
	sf, err := f.osFS.openFile(path)
	if err != nil {
		return nil, err
	}
	return &faultFile{sf.(*os.File), f, filepath.Base(path)}, nil
}

func (f *faultFS) syncDir(dir string) error {
	f.ops = append(f.ops, "syncdir")
	if f.dirSyncErr != nil {
		return f.dirSyncErr
	}
	return f.osFS.syncDir(dir)
}

func (f *faultFS) remove(path string) error {
	f.log("remove", path)
	if f.removeErr != nil {
		return f.removeErr
	}
	return f.osFS.remove(path)
}

func (ff *faultFile) Write(p []byte) (int, error) {
	ff.fs.log("write", ff.name)
	if b := ff.fs.writeBudget; b >= 0 && int64(len(p)) > b {
		n, _ := ff.File.Write(p[:b])
		ff.fs.writeBudget = 0
		return n, ff.fs.writeErr
	} else if b >= 0 {
		ff.fs.writeBudget -= int64(len(p))
	}
	return ff.File.Write(p)
}

func (ff *faultFile) Sync() error {
	ff.fs.log("sync", ff.name)
	ff.fs.syncs++
	if ff.fs.syncs == ff.fs.syncFail {
		return ff.fs.syncErr
	}
	return ff.File.Sync()
}

func (ff *faultFile) Truncate(size int64) error {
	ff.fs.log("truncate", ff.name)
	if ff.fs.truncErr != nil {
		return ff.fs.truncErr
	}
	return ff.File.Truncate(size)
}

// TestWriteErrors makes the file system fail in the middle of a run of
// batches and checks what the Writer promises: the error names the segment
// (or directory) and the operation and wraps the errno; the Writer stays
// failed; and a Writer opened on the directory afterwards, fed what the
// ring still holds (everything after Resume), leaves every record in the
// archive exactly once.
func TestWriteErrors(t *testing.T) {
	recs := ringRecords(rand.New(rand.NewPCG(31, 31)), 300, 1<<20, 5000, 80)
	for _, c := range []struct {
		name  string
		sync  Sync
		fault func(f *faultFS)
		errno error
		op    string
		// repaired: the Writer could not take the failed write back; the
		// next OpenWriter cuts a torn frame instead.
		repaired bool
	}{
		{"ENOSPC at write", SyncNever, func(f *faultFS) { f.writeBudget, f.writeErr = 9013, syscall.ENOSPC }, syscall.ENOSPC, "write segment", false},
		{"EIO at write", SyncSegment, func(f *faultFS) { f.writeBudget, f.writeErr = 5000, syscall.EIO }, syscall.EIO, "write segment", false},
		{"EIO at fsync of a Write", SyncAlways, func(f *faultFS) { f.syncFail, f.syncErr = 5, syscall.EIO }, syscall.EIO, "fsync segment", false},
		{"EIO at fsync at rollover", SyncSegment, func(f *faultFS) { f.syncFail, f.syncErr = 2, syscall.EIO }, syscall.EIO, "fsync segment", false},
		{"ENOSPC at fsync", SyncAlways, func(f *faultFS) { f.syncFail, f.syncErr = 3, syscall.ENOSPC }, syscall.ENOSPC, "fsync segment", false},
		{"ENOSPC at create", SyncNever, func(f *faultFS) { f.createErr = syscall.ENOSPC }, syscall.ENOSPC, "create segment", false},
		{"EIO at directory fsync", SyncSegment, func(f *faultFS) { f.dirSyncErr = syscall.EIO }, syscall.EIO, "fsync directory", false},
		{"ENOSPC at write, taking back fails", SyncNever, func(f *faultFS) {
			f.writeBudget, f.writeErr, f.truncErr, f.removeErr = 9013, syscall.ENOSPC, syscall.EIO, syscall.EIO
		}, syscall.ENOSPC, "write segment", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := &WriterOptions{MaxSize: 4096, Sync: c.sync}
			ffs := newFaultFS()
			w, err := openWriter(dir, opts, ffs)
			if err != nil {
				t.Fatal(err)
			}
			c.fault(ffs)
			bs := batches(ringA, recs, 20)
			var failed int // index of the batch whose Write failed
			for failed = 0; failed < len(bs); failed++ {
				if err = w.Write(context.Background(), bs[failed]); err != nil {
					break
				}
			}
			if err == nil {
				t.Fatal("no Write failed")
			}
			if !errors.Is(err, c.errno) || !strings.Contains(err.Error(), c.op) {
				t.Fatalf("error %q: want %v at %q", err, c.errno, c.op)
			}
			var pe *fs.PathError
			if !errors.As(err, &pe) || (pe.Path != dir && filepath.Ext(pe.Path) != Ext) {
				t.Fatalf("error %q does not name the segment", err)
			}
			if again := w.Write(context.Background(), bs[failed]); again == nil || !errors.Is(again, c.errno) {
				t.Fatalf("Write after the failure: %v", again)
			}
			if ferr := w.Flush(); ferr == nil {
				t.Fatal("Flush after the failure returned nil")
			}
			w.Close()

			// The batch that failed was not released: the ring hands it
			// (and what follows) to the next Writer, after Resume.
			acked := failed * 20
			w = openW(t, dir, opts)
			if c.repaired != (len(w.Repairs()) > 0) {
				t.Fatalf("repairs %v (want some: %v)", w.Repairs(), c.repaired)
			}
			pos, ok, err := w.Resume(ringA)
			if err != nil {
				t.Fatal(err)
			}
			next := 0
			for ok && next < len(recs) && recs[next].Pos <= pos {
				next++
			}
			if !c.repaired && next != acked {
				t.Fatalf("Resume says %d records held, %d were acknowledged: the failed Write was not taken back", next, acked)
			}
			if next < acked {
				t.Fatalf("Resume says %d records held, %d were acknowledged", next, acked)
			}
			writeBatches(t, w, batches(ringA, recs[next:], 20))
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			sameArchive(t, dir, ringA, recs)
		})
	}
}

func TestFlushFsyncError(t *testing.T) {
	dir := t.TempDir()
	ffs := newFaultFS()
	w, err := openWriter(dir, &WriterOptions{Sync: SyncSegment, SyncInterval: 1}, ffs)
	if err != nil {
		t.Fatal(err)
	}
	recs := ringRecords(rand.New(rand.NewPCG(32, 32)), 40, 0, 0, 80)
	writeBatches(t, w, batches(ringA, recs[:20], 20))
	ffs.syncFail, ffs.syncErr = ffs.syncs+1, syscall.EIO
	if err := w.Flush(); !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), "fsync segment") {
		t.Fatalf("Flush: %v", err)
	}
	if err := w.Write(context.Background(), &drain.Batch{RingID: ringA, Records: recs[20:]}); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Write after a failed Flush: %v", err)
	}
	w.Close()
	// The records before the Flush were released: they stay.
	got, _ := readAll(t, dir, nil)
	same(t, got, ringA, recs[:20])
}

// TestSyncPoints checks, from the log of file operations, when each policy
// fsyncs: the claims of the package documentation.
func TestSyncPoints(t *testing.T) {
	recs := ringRecords(rand.New(rand.NewPCG(33, 33)), 200, 0, 0, 80)
	for _, sync := range []Sync{SyncNever, SyncSegment, SyncAlways} {
		t.Run(sync.String(), func(t *testing.T) {
			ffs := newFaultFS()
			w, err := openWriter(t.TempDir(), &WriterOptions{MaxSize: 4096, Sync: sync}, ffs)
			if err != nil {
				t.Fatal(err)
			}
			var afterWrite []int // len(ops) when each Write returned
			for _, b := range batches(ringA, recs, 15) {
				if err := w.Write(context.Background(), b); err != nil {
					t.Fatal(err)
				}
				afterWrite = append(afterWrite, len(ffs.ops))
			}
			w.Close()
			ops := ffs.ops
			// unsynced: segments written since their last fsync.
			unsynced := map[string]bool{}
			dirSynced := map[string]bool{}
			for i, op := range ops {
				verb, name, _ := strings.Cut(op, " ")
				switch verb {
				case "create":
					if sync == SyncNever {
						continue
					}
					for s := range unsynced {
						t.Fatalf("op %d %q: segment %s not fsynced before the next one is created", i, op, s)
					}
					if i+1 >= len(ops) || ops[i+1] != "syncdir" {
						t.Fatalf("op %d %q: not followed by an fsync of the directory", i, op)
					}
					dirSynced[name] = true
				case "write":
					if sync != SyncNever && !dirSynced[name] {
						t.Fatalf("op %d: %s written before its directory entry was fsynced", i, name)
					}
					unsynced[name] = true
				case "sync", "syncdir":
					if sync == SyncNever {
						t.Fatalf("op %d %q with SyncNever", i, op)
					}
					delete(unsynced, name)
				}
				if sync == SyncAlways && len(afterWrite) > 0 && i+1 == afterWrite[0] {
					afterWrite = afterWrite[1:]
					if len(unsynced) > 0 {
						t.Fatalf("op %d: Write returned with %v not fsynced", i, unsynced)
					}
				}
			}
			if sync != SyncNever && len(unsynced) > 0 {
				t.Fatalf("Close left %v not fsynced", unsynced)
			}
			if n := strings.Count(fmt.Sprint(ops), "sync "); sync == SyncSegment && n != w.Stats().Segments {
				t.Errorf("SyncSegment: %d fsyncs for %d segments, want one per segment", n, w.Stats().Segments)
			}
		})
	}
}
