package archive

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/logbuf/logbuf/internal/fault"
)

// segFile is what the Writer does with a segment file; *os.File is one.
// It is defined in internal/fault, whose hook wraps it in the tool's
// fault-injection build (files_unix.go).
type segFile = fault.File

// fileSystem is the Writer's door to the operating system: osFS
// (files_unix.go) in use, a wrapper that fails on cue in the tests.
type fileSystem interface {
	// createFile creates a new file for writing with exactly the
	// permissions perm (not filtered by the umask), refusing an existing
	// name and a symbolic link (O_CREAT|O_EXCL|O_NOFOLLOW).
	createFile(path string, perm fs.FileMode) (segFile, error)
	// openFile opens an existing file for reading and writing, refusing a
	// symbolic link (O_NOFOLLOW).
	openFile(path string) (segFile, error)
	// mkdir creates a directory with exactly the permissions perm.
	mkdir(path string, perm fs.FileMode) error
	// syncDir makes the directory's entries durable (fsync of the directory).
	syncDir(dir string) error
	// lockDir takes the directory for one writer (an exclusive flock held
	// until the Closer is closed).
	lockDir(dir string) (io.Closer, error)
	remove(path string) error
	rename(from, to string) error
}

// errLocked: another Writer holds the directory.
var errLocked = errors.New("archive directory is in use by another writer")

// pathError says which operation on which file failed, wrapping the error
// so that errors.Is finds the errno.
func pathError(op, path string, err error) error {
	return fmt.Errorf("archive: %w", &fs.PathError{Op: op, Path: path, Err: err})
}
