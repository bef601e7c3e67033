//go:build !unix

package archive

import (
	"errors"
	"io"
)

// oNoFollow: no such flag here; osFS.lockDir refuses first anyway.
const oNoFollow = 0

// lockDir fails: a Writer needs O_NOFOLLOW and flock, which this system
// lacks. Reading an archive works everywhere.
func (osFS) lockDir(dir string) (io.Closer, error) {
	return nil, errors.New("writing an archive needs a Unix system (O_NOFOLLOW, flock)")
}
