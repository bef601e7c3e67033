//go:build unix

package archive

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// oNoFollow makes opening a symbolic link fail (ELOOP) instead of opening
// the file it names.
const oNoFollow = unix.O_NOFOLLOW

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
