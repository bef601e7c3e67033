package archive

import (
	"errors"
	"io"
	"io/fs"
	"os"
)

// segFile is what the Writer does with a segment file; *os.File is one.
type segFile interface {
	io.Writer
	io.ReaderAt
	Sync() error
	Truncate(size int64) error
	Stat() (fs.FileInfo, error)
	Close() error
}

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

// osFS is the operating system, through package os and the few calls of
// golang.org/x/sys that os lacks (files_unix.go).
type osFS struct{}

func (osFS) remove(path string) error     { return os.Remove(path) }
func (osFS) rename(from, to string) error { return os.Rename(from, to) }
func (osFS) openFile(path string) (segFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|oNoFollow, 0)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (osFS) createFile(path string, perm fs.FileMode) (segFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, perm)
	if err != nil {
		return nil, err
	}
	// fchmod: the bits asked for, whatever the umask took away.
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return f, nil
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
