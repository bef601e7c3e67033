package logio

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/ring"
)

// FileOptions are OpenFile's: the Writer's Options, and the ring file to
// create when none exists at the path.
type FileOptions struct {
	Options
	// Capacity is the data area of a ring file OpenFile creates, in bytes,
	// rounded up to a power of two; 0 means 1 MiB. The largest record is an
	// eighth of it.
	Capacity int
	// Perm is the permission bits of a ring file OpenFile creates; 0 means
	// 0600.
	Perm fs.FileMode
}

// defaultCapacity is the ring OpenFile and NewAsync make when not told: a
// second of 1 KiB events at 1000 a second, with room to spare.
const defaultCapacity = 1 << 20

// ringCapacity is the data area for a ring asked to hold size bytes: 0 for
// the default, rounded up to a power of two.
func ringCapacity(size int) (uint64, error) {
	if size <= 0 {
		size = defaultCapacity
	}
	c, err := abi.RoundCapacity(uint64(size))
	if err != nil {
		return 0, fmt.Errorf("logio: ring size: %w", err)
	}
	return c, nil
}

// OpenFile makes a Writer over the ring file at path, which another process
// drains ("logbuf archive", say). It opens the file when it exists, as an
// MPSC or SPSC ring, whichever it is; otherwise it creates an MPSC ring of
// opt.Capacity bytes there (spec section 10: the file appears whole or not
// at all, so two processes racing to create it end up sharing one).
//
// Close detaches the producer. The mapping itself is released once the
// Writer is garbage, so that a Write still running in another goroutine when
// Close is called never touches unmapped memory.
func OpenFile(path string, opt FileOptions) (*Writer, error) {
	f, err := openOrCreate(path, opt)
	if err != nil {
		return nil, err
	}
	p, err := ring.OpenProducer(f.Region())
	if err != nil {
		f.Close()
		return nil, err
	}
	w := NewWriter(p, opt.Options)
	runtime.AddCleanup(w, func(f *abi.File) { f.Close() }, f)
	return w, nil
}

func openOrCreate(path string, opt FileOptions) (*abi.File, error) {
	f, err := abi.OpenFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return f, err
	}
	capacity, err := ringCapacity(opt.Capacity)
	if err != nil {
		return nil, err
	}
	f, err = abi.Create(path, capacity, abi.MPSC, &abi.CreateOptions{Perm: opt.Perm})
	if errors.Is(err, fs.ErrExist) {
		return abi.OpenFile(path) // another process made it first
	}
	return f, err
}
