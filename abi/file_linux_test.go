package abi

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCreateOpenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ring")
	f, err := Create(path, 1<<16, MPSC, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := f.Region()
	if r.Capacity() != 1<<16 || r.Mode() != MPSC || len(r.Bytes()) != HeaderSize+1<<16 {
		t.Fatalf("created %d %v %d", r.Capacity(), r.Mode(), len(r.Bytes()))
	}
	for i, b := range r.Data() {
		if b != 0 {
			t.Fatalf("data byte %d is %#x, want 0", i, b)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 || st.Size() != HeaderSize+1<<16 {
		t.Fatalf("file mode %v size %d", st.Mode(), st.Size())
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*")); len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}

	// A second mapping of the same file sees the first one's stores, and
	// positions survive closing every mapping (the file persists).
	g, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r.Header().Tail.Store(64)
	r.Header().Head.Store(48)
	if got := g.Region().Header().Tail.Load(); got != 64 {
		t.Fatalf("second mapping sees tail %d", got)
	}
	for _, c := range []*File{f, g, f} { // f twice: Close is idempotent
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	h, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if hd := h.Region().Header(); hd.Head.Load() != 48 || hd.Tail.Load() != 64 || h.Region().Mode() != MPSC {
		t.Fatalf("reopened: head %d tail %d mode %v", hd.Head.Load(), hd.Tail.Load(), h.Region().Mode())
	}
}

func TestCreateOptions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ring")
	f, err := Create(path, 64, SPSC, &CreateOptions{Perm: 0o660})
	if err != nil {
		t.Fatal(err)
	}
	f.Region().Header().Tail.Store(8)
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o660 {
		t.Fatalf("perm %v, want 0660", st.Mode().Perm())
	}

	_, err = Create(path, 64, SPSC, nil)
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Create over an existing file: %v, want fs.ErrExist naming the path", err)
	}
	// Overwrite replaces the file; the old mapping keeps the old ring.
	g, err := Create(path, 128, MPSC, &CreateOptions{Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.Region().Capacity() != 128 || g.Region().Header().Tail.Load() != 0 {
		t.Fatal("overwritten ring is not fresh")
	}
	if f.Region().Header().Tail.Load() != 8 {
		t.Fatal("the old mapping changed")
	}
	f.Close()

	for _, c := range []struct {
		capacity uint64
		mode     Mode
	}{{1000, SPSC}, {32, SPSC}, {1 << 32, SPSC}, {64, Mode(2)}} {
		if _, err := Create(filepath.Join(dir, "bad"), c.capacity, c.mode, nil); err == nil {
			t.Errorf("Create(capacity %d, mode %d) succeeded", c.capacity, c.mode)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "bad")); !os.IsNotExist(err) {
		t.Errorf("failed Create left a file: %v", err)
	}
	if _, err := Create(filepath.Join(dir, "no", "such", "dir"), 64, SPSC, nil); err == nil {
		t.Error("Create in a missing directory succeeded")
	}
}

// TestOpenFileLonger: a file longer than header + capacity is a ring (spec
// section 10); the extra bytes are not part of it.
func TestOpenFileLonger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ring")
	f, err := Create(path, 1024, SPSC, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	truncate(t, path, HeaderSize+4096)
	g, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if r := g.Region(); r.Capacity() != 1024 || len(r.Bytes()) != HeaderSize+1024 {
		t.Fatalf("capacity %d, region %d bytes", r.Capacity(), len(r.Bytes()))
	}
}

// TestOpenFileRejects damages a ring file in each way OpenFile must notice and
// checks the error names the problem.
func TestOpenFileRejects(t *testing.T) {
	cases := []struct {
		name  string
		field string // CorruptError.Field, or "" for another error
		want  string // in the message
		mess  func(t *testing.T, path string)
	}{
		{"empty file", "file size", "shorter than the 4096-byte", func(t *testing.T, p string) { truncate(t, p, 0) }},
		{"too small", "file size", "shorter than the 4096-byte", func(t *testing.T, p string) { truncate(t, p, 100) }},
		{"truncated", "file size", "truncated", func(t *testing.T, p string) { truncate(t, p, HeaderSize+512) }},
		{"truncated by one", "file size", "truncated", func(t *testing.T, p string) { truncate(t, p, HeaderSize+1024-1) }},
		{"foreign", "magic", "not a logbuf ring", func(t *testing.T, p string) {
			if err := os.WriteFile(p, []byte(strings.Repeat("#!/bin/sh\n", 1000)), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"version 1", "version", "a version-1 ring must be re-created", func(t *testing.T, p string) { poke(t, p, OffVersion, 1, 0, 0, 0) }},
		{"bad capacity", "capacity", "power of two", func(t *testing.T, p string) { poke(t, p, OffCapacity, 0xE8, 0x03) }},
		{"unknown flags", "flags", "unknown flag bits", func(t *testing.T, p string) { poke(t, p, OffFlags, 4) }},
		{"tail ahead", "tail", "ahead of head", func(t *testing.T, p string) { poke(t, p, OffTail, 0, 8) }},
		{"directory", "", "is a directory", func(t *testing.T, p string) {
			os.Remove(p)
			os.Mkdir(p, 0o700)
		}},
		{"fifo", "", "not a regular file", func(t *testing.T, p string) {
			os.Remove(p)
			if err := unix.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"missing", "", "no such file", func(t *testing.T, p string) { os.Remove(p) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ring")
			f, err := Create(path, 1024, SPSC, nil)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			c.mess(t, path)
			g, err := OpenFile(path)
			if err == nil {
				g.Close()
				t.Fatal("OpenFile accepted it")
			}
			var ce *CorruptError
			if c.field != "" && (!errors.As(err, &ce) || ce.Field != c.field || !errors.Is(err, ErrCorrupt)) {
				t.Fatalf("OpenFile: %v, want a CorruptError for %q", err, c.field)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("OpenFile: %q does not say %q and name the file", err, c.want)
			}
		})
	}
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

// poke overwrites bytes of a file at off.
func poke(t *testing.T, path string, off int64, b ...byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestOpenFileReadOnly: a read-only mapping validates the ring as OpenFile
// does, sees what writers store, needs only read permission, and cannot be
// written through.
func TestOpenFileReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ring")
	f, err := Create(path, 1024, MPSC, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	g, err := OpenFileReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	f.Region().Header().Tail.Store(24)
	if r := g.Region(); r.Capacity() != 1024 || r.Mode() != MPSC || r.ID() != f.Region().ID() || r.Header().Tail.Load() != 24 {
		t.Fatalf("read-only view: capacity %d, mode %v, tail %d", r.Capacity(), r.Mode(), r.Header().Tail.Load())
	}
	if !storeFaults(g.Region()) {
		t.Fatal("a store through the read-only mapping did not fault")
	}
	if storeFaults(f.Region()) {
		t.Fatal("a store through the writable mapping faulted")
	}

	// The same checks as OpenFile: a truncated file is refused, with its
	// size (and no offset: a size is not a header field).
	truncate(t, path, HeaderSize+512)
	_, err = OpenFileReadOnly(path)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Field != "file size" || !strings.Contains(err.Error(), "file size is 4608 bytes") || strings.Contains(err.Error(), "offset") {
		t.Fatalf("OpenFileReadOnly of a truncated file: %v", err)
	}
	if _, err := OpenFileReadOnly(filepath.Dir(path)); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("OpenFileReadOnly of a directory: %v", err)
	}
}

// storeFaults reports whether storing to the region's first data byte
// faults, putting back what it found otherwise. A plain store, not an
// atomic one: the race detector's atomics fault where Go cannot recover.
func storeFaults(r *Region) (faulted bool) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if recover() != nil {
			faulted = true
		}
	}()
	d := r.Data()
	storeByte(d, d[0])
	return false
}

//go:noinline
func storeByte(b []byte, v byte) { b[0] = v }

// TestCreateOverwriteOnlyRegular: Overwrite replaces a regular file, and
// refuses, naming it, a directory or a symbolic link (which a rename would
// replace, not follow), leaving it as it was.
func TestCreateOverwriteOnlyRegular(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("not a ring"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	for path, what := range map[string]string{link: "is a symbolic link", sub: "is a directory"} {
		_, err := Create(path, MinCapacity, SPSC, &CreateOptions{Overwrite: true})
		if err == nil || !strings.Contains(err.Error(), path+" "+what) {
			t.Errorf("Create over %s = %v, want %q", path, err, what)
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "not a ring" {
		t.Fatalf("the link's target was changed: %q", b)
	}
	f, err := Create(target, MinCapacity, SPSC, &CreateOptions{Overwrite: true})
	if err != nil {
		t.Fatalf("Create over a regular file: %v", err)
	}
	f.Close()
}
