//go:build !unix

package archive

import (
	"errors"
	"io"
	"io/fs"
)

// osFS refuses: a Writer needs O_NOFOLLOW and flock, which this system
// lacks. Reading an archive works everywhere.
type osFS struct{}

var errNotUnix = errors.New("writing an archive needs a Unix system (O_NOFOLLOW, flock)")

func (osFS) createFile(string, fs.FileMode) (segFile, error) { return nil, errNotUnix }
func (osFS) openFile(string) (segFile, error)                { return nil, errNotUnix }
func (osFS) mkdir(string, fs.FileMode) error                 { return errNotUnix }
func (osFS) syncDir(string) error                            { return errNotUnix }
func (osFS) lockDir(string) (io.Closer, error)               { return nil, errNotUnix }
func (osFS) remove(string) error                             { return errNotUnix }
func (osFS) rename(string, string) error                     { return errNotUnix }
