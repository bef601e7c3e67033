package segment

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Sync is when a Writer makes data durable with fsync.
type Sync int

const (
	// SyncNever leaves durability to the kernel's writeback: a record is in
	// the page cache once Flush returns, and survives the writer's crash,
	// not the machine's.
	SyncNever Sync = iota
	// SyncSegment fsyncs each segment when it is closed (at rollover and at
	// Close), and the directory when a segment is created.
	SyncSegment
	// SyncInterval does what SyncSegment does and also fsyncs the open
	// segment at a Flush when Interval has passed since the last fsync.
	SyncInterval
)

// ParseSync reads "never", "segment" or "interval".
func ParseSync(s string) (Sync, error) {
	switch s {
	case "never":
		return SyncNever, nil
	case "segment":
		return SyncSegment, nil
	case "interval":
		return SyncInterval, nil
	}
	return 0, fmt.Errorf("unknown fsync policy %q (want never, segment or interval)", s)
}

// String is the policy as the --fsync flag spells it.
func (s Sync) String() string {
	return [...]string{"never", "segment", "interval"}[s]
}

// Options configure a Writer.
type Options struct {
	// MaxSize is the size at which a segment is closed and the next one
	// started: a record that would take a segment past it goes to a new
	// one (a segment always holds at least one record). 0 means 64 MiB.
	MaxSize int64
	Sync    Sync
	// Interval is SyncInterval's period; 0 means one second.
	Interval time.Duration
}

// Writer appends records to the segments of one archive directory. It is
// not safe for concurrent use.
type Writer struct {
	dir      string
	opts     Options
	seq      uint64 // number of the open segment, or of the last one closed
	f        *os.File
	bw       *bufio.Writer
	size     int64 // bytes in the open segment, buffered ones included
	lastSync time.Time
	dirty    bool // written since the last fsync

	Records  uint64 // records appended
	Bytes    uint64 // payload bytes appended
	Segments int    // segments created
}

// Create opens an archive directory for appending, creating it if needed.
// New records go to a new segment after the highest-numbered one present:
// existing segments are never written again.
func Create(dir string, opts Options) (*Writer, error) {
	if opts.MaxSize <= 0 {
		opts.MaxSize = 64 << 20
	}
	if opts.MaxSize < int64(len(Magic))+FrameHeader+1 {
		return nil, fmt.Errorf("segment size %d is too small", opts.MaxSize)
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	segs, err := List(dir)
	if err != nil {
		return nil, err
	}
	w := &Writer{dir: dir, opts: opts, lastSync: time.Now()}
	if len(segs) > 0 {
		w.seq, _ = parseName(filepath.Base(segs[len(segs)-1]))
	}
	return w, nil
}

// Path is the open segment's path, or "" before the first record.
func (w *Writer) Path() string {
	if w.f == nil {
		return ""
	}
	return w.f.Name()
}

// Append adds one record (1..MaxRecord bytes). It is buffered: call Flush
// to hand it to the kernel.
func (w *Writer) Append(p []byte) error {
	if len(p) == 0 || len(p) > MaxRecord {
		return fmt.Errorf("record of %d bytes: want 1..%d", len(p), MaxRecord)
	}
	frame := int64(FrameHeader + len(p))
	if w.f != nil && w.size+frame > w.opts.MaxSize && w.size > int64(len(Magic)) {
		if err := w.closeSegment(); err != nil {
			return err
		}
	}
	if w.f == nil {
		if err := w.openSegment(); err != nil {
			return err
		}
	}
	var hdr [FrameHeader]byte
	binary.LittleEndian.PutUint32(hdr[0:4], uint32(len(p)))
	binary.LittleEndian.PutUint32(hdr[4:8], checksum(hdr[0:4], p))
	if _, err := w.bw.Write(hdr[:]); err != nil {
		return err
	}
	if _, err := w.bw.Write(p); err != nil {
		return err
	}
	w.size += frame
	w.dirty = true
	w.Records++
	w.Bytes += uint64(len(p))
	return nil
}

// Flush writes buffered records to the open segment, and fsyncs it when the
// policy is SyncInterval and the interval has passed.
func (w *Writer) Flush() error {
	if w.f == nil {
		return nil
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	if w.opts.Sync == SyncInterval && w.dirty && time.Since(w.lastSync) >= w.opts.Interval {
		return w.sync()
	}
	return nil
}

// Close flushes and closes the open segment, with an fsync unless the
// policy is SyncNever.
func (w *Writer) Close() error {
	if w.f == nil {
		return nil
	}
	return w.closeSegment()
}

func (w *Writer) sync() error {
	if err := w.f.Sync(); err != nil {
		return err
	}
	w.lastSync = time.Now()
	w.dirty = false
	return nil
}

func (w *Writer) openSegment() error {
	w.seq++
	path := filepath.Join(w.dir, Name(w.seq))
	// O_EXCL: a second writer on the same directory fails here instead of
	// interleaving records with ours.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	// The magic goes out at once, so that a segment file on disk is never
	// shorter than its header unless a crash interrupted its creation.
	if _, err := f.Write([]byte(Magic)); err != nil {
		f.Close()
		return err
	}
	if w.opts.Sync != SyncNever {
		if err := syncDir(w.dir); err != nil {
			f.Close()
			return err
		}
	}
	w.f, w.size, w.dirty, w.lastSync = f, int64(len(Magic)), true, time.Now()
	if w.bw == nil {
		w.bw = bufio.NewWriterSize(f, 256<<10)
	} else {
		w.bw.Reset(f)
	}
	w.Segments++
	return nil
}

func (w *Writer) closeSegment() error {
	err := w.bw.Flush()
	if err == nil && w.opts.Sync != SyncNever {
		err = w.sync()
	}
	err = errors.Join(err, w.f.Close())
	w.f = nil
	return err
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
