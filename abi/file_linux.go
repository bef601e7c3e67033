package abi

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Create makes a ring file at path: a region of HeaderSize+capacity bytes for
// a data area of capacity bytes (a power of two in [MinCapacity,
// MaxCapacity]) in the given mode, every byte zero but the identity fields
// (spec section 10), mapped MAP_SHARED. The file gets permissions 0600 unless
// opts.Perm says otherwise. Create refuses to replace an existing file (the
// error satisfies errors.Is(err, fs.ErrExist)) unless opts.Overwrite is set.
//
// The ring is made under a temporary name in the same directory and then
// renamed into place, so no process can open a half-made ring at path.
func Create(path string, capacity uint64, mode Mode, opts *CreateOptions) (*File, error) {
	if err := checkCapacity(capacity); err != nil {
		return nil, fmt.Errorf("logbuf: create ring file %s: %w", path, err)
	}
	if mode != SPSC && mode != MPSC {
		return nil, fmt.Errorf("logbuf: create ring file %s: unknown mode %d", path, mode)
	}
	var o CreateOptions
	if opts != nil {
		o = *opts
	}
	perm := o.Perm.Perm()
	if perm == 0 {
		perm = 0o600
	}
	// Fail early and clearly; the rename below is what makes it race-free.
	// Overwrite replaces a regular file only: a rename over path never
	// follows a symbolic link, but a link, a directory, a device or a FIFO
	// there is no ring file, and is left alone.
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err == nil {
		if !o.Overwrite {
			return nil, &fs.PathError{Op: "create ring file", Path: path, Err: fs.ErrExist}
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			return nil, fmt.Errorf("logbuf: create ring file: %s %s, not a regular file (only a regular file is replaced)", path, fileType(st.Mode))
		}
	}

	fd, tmp, err := createTemp(path, uint32(perm))
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			unix.Unlink(tmp)
		}
	}()
	defer unix.Close(fd) // the mapping stays valid after close(2)

	// fchmod: the requested bits exactly, whatever the umask took away.
	if err := unix.Fchmod(fd, uint32(perm)); err != nil {
		return nil, &fs.PathError{Op: "chmod ring file", Path: tmp, Err: err}
	}
	size := int64(HeaderSize + capacity)
	// ftruncate extends the file with zero bytes: the data area and every
	// header field not written below start at zero, as section 10 asks,
	// without touching (and so allocating) the data area's pages.
	if err := unix.Ftruncate(fd, size); err != nil {
		return nil, &fs.PathError{Op: "size ring file", Path: tmp, Err: err}
	}
	mem, err := mapFile(fd, int(size))
	if err != nil {
		return nil, &fs.PathError{Op: "map ring file", Path: tmp, Err: err}
	}
	writeIdentity((*Header)(unsafe.Pointer(unsafe.SliceData(mem))), capacity, mode)
	r, err := Open(mem)
	if err == nil {
		err = publishFile(tmp, path, o.Overwrite)
	}
	if err != nil {
		unix.Munmap(mem)
		return nil, err
	}
	ok = true
	return &File{path: path, region: r, mem: mem}, nil
}

// createTemp creates an empty file beside path, exclusively, and returns its
// descriptor and name.
func createTemp(path string, perm uint32) (int, string, error) {
	dir, base := filepath.Split(path)
	for i := 0; ; i++ {
		tmp := filepath.Join(dir, "."+base+".tmp"+strconv.Itoa(os.Getpid())+"-"+strconv.Itoa(int(tempSeq.Add(1))))
		fd, err := unix.Open(tmp, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, perm)
		if err == nil {
			return fd, tmp, nil
		}
		if err != unix.EEXIST || i == 100 {
			return -1, "", &fs.PathError{Op: "create ring file", Path: tmp, Err: err}
		}
	}
}

var tempSeq atomic.Uint64

// publishFile gives the finished ring at tmp its name. Without overwrite it
// uses renameat2(RENAME_NOREPLACE), falling back to link+unlink on file
// systems without it: either fails if path exists, atomically.
func publishFile(tmp, path string, overwrite bool) error {
	if overwrite {
		if err := unix.Rename(tmp, path); err != nil {
			return &fs.PathError{Op: "create ring file", Path: path, Err: err}
		}
		return nil
	}
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, path, unix.RENAME_NOREPLACE)
	if err == unix.EINVAL || err == unix.ENOSYS {
		if err = unix.Link(tmp, path); err == nil {
			unix.Unlink(tmp)
		}
	}
	if err != nil {
		return &fs.PathError{Op: "create ring file", Path: path, Err: err}
	}
	return nil
}

// OpenFile maps an existing ring file and validates it as spec section 10
// says before anything uses it. A file that is not a ring, of another
// version, or shorter than its header announces gives an error wrapping
// ErrCorrupt (a *CorruptError names the field: "file size" for a truncated
// file); the size is checked with fstat before any byte is read, so a short
// file is an error, never a SIGBUS. A longer file is allowed (section 10):
// the bytes past the data area are not part of the ring.
//
// Opening changes nothing in the file: positions are not reset, and a
// consumer made over the Region resumes from head. The mode is not checked
// here; the ring constructors refuse a Region of the wrong mode.
//
// A file truncated by another process while it is mapped can still fault on
// access: that is a property of mmap, and why ring files should be writable
// only by the parties that share them.
func OpenFile(path string) (*File, error) { return openFile(path, false) }

// OpenFileReadOnly maps an existing ring file for reading only (O_RDONLY,
// PROT_READ, MAP_SHARED) and validates it as OpenFile does. It needs only
// read permission, so it opens a ring this process may not write, such as
// another user's ring of mode 0444 or a 0400 one. The Region is for reading
// its header and records (ring.ReadStats): a producer or consumer made over
// it faults on its first store.
func OpenFileReadOnly(path string) (*File, error) { return openFile(path, true) }

func openFile(path string, readOnly bool) (*File, error) {
	// O_NONBLOCK: a FIFO or device at path must not hang the open; it is
	// refused below as not a regular file.
	flags, prot := unix.O_RDWR, unix.PROT_READ|unix.PROT_WRITE
	if readOnly {
		flags, prot = unix.O_RDONLY, unix.PROT_READ
	}
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open ring file", Path: path, Err: err}
	}
	defer unix.Close(fd) // the mapping stays valid after close(2)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &fs.PathError{Op: "stat ring file", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("logbuf: open ring file %s: %s, not a regular file", path, fileType(st.Mode))
	}
	size := st.Size
	if size < HeaderSize {
		return nil, fmt.Errorf("logbuf: open ring file %s: %w", path, &CorruptError{
			Field: "file size", Value: uint64(size),
			Reason: fmt.Sprintf("shorter than the %d-byte region header: truncated, or not a ring", HeaderSize)})
	}
	// Map no more than the largest valid ring needs.
	n := min(size, HeaderSize+MaxCapacity)
	mem, err := unix.Mmap(fd, 0, int(n), prot, unix.MAP_SHARED)
	if err != nil {
		return nil, &fs.PathError{Op: "map ring file", Path: path, Err: err}
	}
	r, err := openMapped(mem, uint64(size))
	if err != nil {
		unix.Munmap(mem)
		return nil, fmt.Errorf("logbuf: open ring file %s: %w", path, err)
	}
	return &File{path: path, region: r, mem: mem}, nil
}

// fileType names the type of a file that is not a regular file.
func fileType(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFLNK:
		return "is a symbolic link"
	case unix.S_IFDIR:
		return "is a directory"
	case unix.S_IFIFO:
		return "is a FIFO"
	case unix.S_IFCHR, unix.S_IFBLK:
		return "is a device"
	case unix.S_IFSOCK:
		return "is a socket"
	}
	return fmt.Sprintf("has mode %#o", mode)
}

// openMapped validates a mapping of a file of size bytes.
func openMapped(mem []byte, size uint64) (*Region, error) {
	if p := uintptr(unsafe.Pointer(unsafe.SliceData(mem))); p%uintptr(os.Getpagesize()) != 0 {
		return nil, fmt.Errorf("logbuf: mapping at %#x is not page aligned", p)
	}
	r, err := Open(mem)
	if err != nil {
		var ce *CorruptError
		if errors.As(err, &ce) && ce.Field == "capacity" && checkCapacity(ce.Value) == nil {
			// The header is sound but the file is shorter than it says.
			return nil, fileSizeError(size, ce.Value)
		}
		return nil, err
	}
	return r, nil
}

func fileSizeError(size, capacity uint64) error {
	return &CorruptError{Field: "file size", Value: size,
		Reason: fmt.Sprintf("the header says capacity %d, so the file needs %d bytes: truncated",
			capacity, HeaderSize+capacity)}
}
