//go:build unix

package archive

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestPermissions(t *testing.T) {
	// Not parallel: the umask belongs to the process.
	for _, c := range []struct {
		umask          int
		perm           fs.FileMode
		file, dirPerms fs.FileMode
	}{
		{0o022, 0, 0o600, 0o700},
		{0o077, 0o640, 0o640, 0o750},
		{0o000, 0o600, 0o600, 0o700},
	} {
		old := syscall.Umask(c.umask)
		dir := filepath.Join(t.TempDir(), "a", "b")
		writeArchive(t, dir, &WriterOptions{Perm: c.perm}, batches(ringA, ringRecords(rand.New(rand.NewPCG(1, 1)), 3, 0, 0, 9), 3))
		syscall.Umask(old)
		for _, d := range []string{dir, filepath.Dir(dir)} {
			if st, err := os.Stat(d); err != nil || st.Mode().Perm() != c.dirPerms {
				t.Errorf("umask %#o, perm %v: directory %s is %v, want %v", c.umask, c.perm, d, st.Mode().Perm(), c.dirPerms)
			}
		}
		for _, s := range segments(t, dir) {
			if st, err := os.Stat(s); err != nil || st.Mode().Perm() != c.file {
				t.Errorf("umask %#o, perm %v: segment is %v, want %v", c.umask, c.perm, st.Mode().Perm(), c.file)
			}
		}
	}
}

func TestNeverFollowsSymlinks(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Creating a segment where a symlink stands fails and leaves the target.
	link := filepath.Join(dir, Name(1))
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	if f, err := (osFS{}).createFile(link, 0o600); err == nil {
		f.Close()
		t.Fatal("created a segment through a symlink")
	}
	// Opening one for repair fails too (O_NOFOLLOW), rather than truncate
	// the file it names.
	if f, err := (osFS{}).openFile(link); err == nil {
		f.Close()
		t.Fatal("opened a segment through a symlink")
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me" {
		t.Fatalf("the symlink's target was changed: %q", b)
	}
	// A symlink as the newest segment: OpenWriter refuses to repair it.
	if _, err := OpenWriter(dir, nil); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("OpenWriter beside a symlinked newest segment: %v", err)
	}
}
