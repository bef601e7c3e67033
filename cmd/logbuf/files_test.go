//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/logbuf/logbuf/abi"
)

// TestCreateForceRefuses: --force replaces a regular file, and nothing
// else: not a directory, a FIFO, a device, nor a symbolic link (which it
// must never follow into the file it names).
func TestCreateForceRefuses(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "precious")
	if err := os.WriteFile(target, []byte("not yours"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, msg string
		make      func(path string) error
	}{
		{"directory", "is a directory, not a regular file", func(p string) error { return os.Mkdir(p, 0o700) }},
		{"fifo", "is a FIFO, not a regular file", func(p string) error { return unix.Mkfifo(p, 0o600) }},
		{"device", "is a device, not a regular file", func(p string) error {
			return unix.Mknod(p, unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))) // /dev/null's numbers
		}},
		{"symlink", "is a symbolic link, not a regular file", func(p string) error { return os.Symlink(target, p) }},
		{"dangling symlink", "is a symbolic link, not a regular file", func(p string) error { return os.Symlink(filepath.Join(dir, "nothing"), p) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			if err := c.make(path); err != nil {
				if c.name == "device" {
					t.Skipf("cannot make a device node here: %v", err)
				}
				t.Fatal(err)
			}
			before, _ := os.Lstat(path)
			want(t, logbuf(t, "create", "--mode", "spsc", "--force", path), exitFailure, "", path+" "+c.msg)
			after, err := os.Lstat(path)
			if err != nil || after.Mode() != before.Mode() {
				t.Fatalf("%s changed: %v, %v", path, after, err)
			}
		})
	}
	if b, _ := os.ReadFile(target); string(b) != "not yours" {
		t.Fatalf("the file a symbolic link names was changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "nothing")); !os.IsNotExist(err) {
		t.Fatalf("a dangling link's target was created: %v", err)
	}
	// A regular file is replaced.
	want(t, logbuf(t, "create", "--mode", "mpsc", "--force", target), exitOK, "mpsc ring", "")
	if st, err := os.Stat(target); err != nil || st.Size() != abi.HeaderSize+1<<20 {
		t.Fatalf("replaced file: %v, %v", st, err)
	}
}

// TestStatReadOnlyRing: stat reads a ring its user may only read: another
// user's ring of mode 0444, and its own of mode 0400. Run as root, it runs
// the tool as the user nobody.
func TestStatReadOnlyRing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run the tool as another user")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	// A directory nobody can enter, with a copy of the tool it can run.
	dir, err := os.MkdirTemp("", "logbuf-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "logbuf")
	copyFile(t, logbufBin(t), bin, 0o755)
	asNobody := func(args ...string) result {
		cmd := exec.Command(bin, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return finish(t, cmd, &stdout, &stderr)
	}

	path := filepath.Join(dir, "r.ring")
	want(t, logbuf(t, "create", "--mode", "mpsc", "--capacity", "64KiB", path), exitOK, "", "")
	want(t, logbuf(t, "produce", "--count", "5", "--id", "1", path), exitOK, "", "")
	before, _ := os.ReadFile(path)

	// Root's ring, readable by all.
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	want(t, asNobody("stat", path), exitOK, "written      5 records", "")
	// The credentials hold: nobody may not consume from it.
	want(t, asNobody("tail", path), exitFailure, "", "permission denied")

	// nobody's own ring, of mode 0400.
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	r := asNobody("stat", "--json", path)
	var s snapshot
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil || s.Counters.RecordsWritten != 5 {
		t.Fatalf("stat --json as nobody: %v, %+v\n%s", err, s, r.stderr)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("stat changed the ring file")
	}
}

func copyFile(t *testing.T, from, to string, perm os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestStatInvalidWord: a COMMITTED word of length 0 at head is shown as
// invalid, with why, not as a record; the consumer refuses it likewise.
func TestStatInvalidWord(t *testing.T) {
	path := createRing(t, "spsc", "64KiB")
	want(t, logbuf(t, "produce", "--count", "3", "--id", "1", path), exitOK, "", "")
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var w [8]byte
	binary.LittleEndian.PutUint64(w[:], uint64(abi.CommittedWord(0)))
	if _, err := f.WriteAt(w[:], abi.HeaderSize); err != nil {
		t.Fatal(err)
	}
	f.Close()
	want(t, logbuf(t, "stat", path), exitOK, "at head      INVALID word 0x0200000000000000: COMMITTED word with payload length 0, not in [1, 8192]", "")
	r := logbuf(t, "stat", "--json", path)
	var s snapshot
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil || s.AtHead.Kind != "invalid" || s.AtHead.Problem == "" {
		t.Fatalf("stat --json: %v, %+v", err, s.AtHead)
	}
	want(t, logbuf(t, "tail", path), exitFailure, "", "corrupt record at position 0")
}
