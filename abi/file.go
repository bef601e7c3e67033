package abi

import (
	"fmt"
	"io/fs"
	"sync"
)

// CreateOptions tunes Create. The zero value, like a nil pointer, means
// permissions 0600 and no overwriting.
type CreateOptions struct {
	// Perm is the new file's permission bits. 0 means 0600. They are set
	// exactly (with fchmod), not filtered by the process umask, so that a
	// ring meant for a group is usable by it.
	Perm fs.FileMode
	// Overwrite allows Create to replace an existing regular file at the
	// path (never a symbolic link, a directory, a device or a FIFO: those
	// are refused, named). The old file is replaced atomically (rename):
	// processes that still map it keep using the old ring, unaffected, and
	// never see a half-made one.
	Overwrite bool
}

// File is a ring file mapped into this process. Its Region is valid until
// Close; the memory of a closed File must not be touched again (it is
// unmapped, so a stale access faults).
//
// A ring file holds a region (spec section 10) stored in a file and mapped with
// MAP_SHARED by every process that uses it, typically under /dev/shm. Its size
// is exactly HeaderSize + capacity bytes.
//
// The file outlives the processes that map it. When every producer and the
// consumer have gone, the file keeps its header and data area as they were:
// head, tail, the counters and every committed record not yet released. It is
// removed only by unlinking it (os.Remove), or by a reboot when it lives on a
// tmpfs such as /dev/shm. A consumer that opens it later resumes from head and
// reads the records that were committed but not released; claims that were
// left open by a producer that died stay CLAIMED (or reserved, all zero) and
// stop the consumer there until they are recovered (spec section 9).
type File struct {
	path   string
	region *Region

	mu  sync.Mutex
	mem []byte // the whole mapping; nil once closed
}

// Region is the mapped ring, validated when the File was created or opened.
// It stays valid until Close.
func (f *File) Region() *Region { return f.region }

// Path is the path the File was created or opened with.
func (f *File) Path() string { return f.path }

// Close unmaps the ring. The file itself stays (see File): remove it with
// os.Remove when no process needs it any more. Close is idempotent and safe to call from several goroutines; every Producer and
// Consumer over the Region must be done before it.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mem == nil {
		return nil
	}
	mem := f.mem
	f.mem = nil
	if err := unmap(mem); err != nil {
		return fmt.Errorf("logbuf: unmap ring file %s: %w", f.path, err)
	}
	return nil
}
