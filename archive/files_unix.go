//go:build unix

package archive

import (
	"errors"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/logbuf/logbuf/internal/fault"
)

// osFS is the operating system, through package os and the few calls of
// golang.org/x/sys that os lacks. O_NOFOLLOW makes opening a symbolic link
// fail (ELOOP) instead of opening the file it names.
type osFS struct{}

func (osFS) remove(path string) error     { return os.Remove(path) }
func (osFS) rename(from, to string) error { return os.Rename(from, to) }
func (osFS) openFile(path string) (segFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	return hooked(path, f), nil
}

func (osFS) createFile(path string, perm fs.FileMode) (segFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, perm)
	if err != nil {
		return nil, err
	}
	// fchmod: the bits asked for, whatever the umask took away.
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return hooked(path, f), nil
}

// hooked is a segment file as the Writer uses it: f itself, or what the
// tool's fault-injection build puts in its place (internal/fault).
func hooked(path string, f *os.File) segFile {
	if fault.Wrap == nil {
		return f
	}
	return fault.Wrap(path, f)
}

func (osFS) mkdir(path string, perm fs.FileMode) error {
	if err := os.Mkdir(path, perm); err != nil {
		return err
	}
	return os.Chmod(path, perm)
}

func (osFS) syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

func (osFS) lockDir(dir string) (io.Closer, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	// flock, not fcntl locks: it belongs to this open file, so a second
	// Writer in the same process is refused too.
	if err := unix.Flock(int(d.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		d.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, err
	}
	return d, nil
}
