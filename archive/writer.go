package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/logbuf/logbuf/drain"
)

// Sync is when a Writer forces data to the disk with fsync. What each
// policy keeps after a power loss is in the package documentation.
type Sync int

const (
	// SyncNever never calls fsync: the kernel writes back when it likes.
	SyncNever Sync = iota
	// SyncSegment fsyncs a segment when it is closed (at a size or ring
	// change, and at Close) before the next segment gets a record, the
	// directory when a segment is created, and the open segment at a Flush
	// when WriterOptions.SyncInterval (if not 0) has passed since its last
	// fsync.
	SyncSegment
	// SyncAlways does what SyncSegment does and fsyncs the open segment
	// before every Write returns.
	SyncAlways
)

var syncNames = [...]string{"never", "segment", "always"}

// String is the policy's name: never, segment or always.
func (s Sync) String() string {
	if s < 0 || int(s) >= len(syncNames) {
		return fmt.Sprintf("Sync(%d)", int(s))
	}
	return syncNames[s]
}

// ParseSync reads a policy's name.
func ParseSync(name string) (Sync, error) {
	for i, n := range syncNames {
		if n == name {
			return Sync(i), nil
		}
	}
	return 0, fmt.Errorf("archive: unknown fsync policy %q (want never, segment or always)", name)
}

// WriterOptions tune a Writer. The zero value, like a nil pointer, means
// 64 MiB segments, SyncNever, files 0600 and directories 0700.
type WriterOptions struct {
	// MaxSize is the size at which a segment is closed and the next one
	// started: a frame that would take a segment past it goes to a new one
	// (a segment always holds at least one frame). 0 means 64 MiB.
	MaxSize int64
	// Sync is the fsync policy.
	Sync Sync
	// SyncInterval, with SyncSegment, makes Flush fsync the open segment
	// when this long has passed since its last fsync. 0: Flush never
	// fsyncs.
	SyncInterval time.Duration
	// Perm is the permission of the segment files; 0 means 0600. A
	// directory the Writer creates gets the same bits plus search (x) for
	// each class that may read: 0600 gives 0700, 0640 gives 0750. Both are
	// set exactly (chmod after creation), not filtered by the umask.
	Perm fs.FileMode
}

// DefaultMaxSize is the segment size when WriterOptions.MaxSize is 0.
const DefaultMaxSize = 64 << 20

// bufSize is the Writer's buffer: frames are gathered there and written with
// one write(2) per Write call or per bufSize bytes.
const bufSize = 256 << 10

// WriterStats count what a Writer did since it was opened.
type WriterStats struct {
	Records  uint64 // records written
	Bytes    uint64 // their payload bytes
	Skipped  uint64 // records handed to Write that the archive already held
	Segments int    // segments created
}

// Writer appends records to the segments of one archive directory. It is a
// drain.Sink and a drain.Resumer. It is not safe for concurrent use, and one
// directory has one Writer at a time (OpenWriter takes a lock).
type Writer struct {
	dir  string
	opts WriterOptions
	fsys fileSystem
	lock io.Closer

	known   []knownSeg // segments present at open, oldest first
	nextNum uint64     // number of the next segment to create
	held    map[[16]byte]heldState
	last    heldState // the newest record of the archive as a whole
	sc      scanner   // reads old segments for Resume

	// The open segment.
	f        segFile
	path     string
	size     int64 // bytes written to f (buf not included)
	ring     [16]byte
	tail     RecordID // its last frame
	buf      []byte   // frames not yet written to f
	dirty    bool     // written since its last fsync
	lastSync time.Time

	created []string // segments created by the Write in progress
	err     error    // the failure that ended this Writer, if any
	closed  bool
	stats   WriterStats
	repairs []Repair
}

// OpenWriter opens the archive directory dir for appending, creating it
// (and missing parents) if needed. It repairs the newest segment: a torn
// frame at its end is cut (see Repairs), and it learns what the archive
// holds of each ring (Resume). New records go to a new segment.
func OpenWriter(dir string, opts *WriterOptions) (*Writer, error) {
	return openWriter(dir, opts, osFS{})
}

func openWriter(dir string, opts *WriterOptions, fsys fileSystem) (*Writer, error) {
	var o WriterOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxSize == 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.MaxSize < HeaderSize+minFrame {
		return nil, fmt.Errorf("archive: segment size %d is too small (at least %d)", o.MaxSize, HeaderSize+minFrame)
	}
	if o.Sync < SyncNever || o.Sync > SyncAlways {
		return nil, fmt.Errorf("archive: unknown fsync policy %d", o.Sync)
	}
	o.Perm = o.Perm.Perm()
	if o.Perm == 0 {
		o.Perm = 0o600
	}
	w := &Writer{dir: dir, opts: o, fsys: fsys, buf: make([]byte, 0, bufSize)}
	if err := w.makeDir(dir); err != nil {
		return nil, fmt.Errorf("archive: create directory: %w", err)
	}
	lock, err := fsys.lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("archive: %s: %w", dir, err)
	}
	w.lock = lock
	found, err := inspect(fsys, dir, o.Perm, o.Sync != SyncNever)
	if err != nil {
		lock.Close()
		return nil, err
	}
	w.known, w.nextNum, w.held, w.last, w.repairs = found.known, found.nextNum, found.held, found.last, found.repairs
	return w, nil
}

// dirPerm is the permission of a directory holding files of permission p.
func dirPerm(p fs.FileMode) fs.FileMode { return p | (p&0o444)>>2 }

// makeDir creates dir and its missing parents with the exact permissions
// dirPerm(Perm).
func (w *Writer) makeDir(dir string) error {
	st, err := os.Stat(dir)
	if err == nil {
		if !st.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: errors.New("not a directory")}
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := w.makeDir(parent); err != nil {
			return err
		}
	}
	if err := w.fsys.mkdir(dir, dirPerm(w.opts.Perm)); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if w.opts.Sync != SyncNever {
		return w.fsys.syncDir(parent)
	}
	return nil
}

// Repairs returns what OpenWriter changed in the directory.
func (w *Writer) Repairs() []Repair { return w.repairs }

// Stats returns what the Writer did since it was opened.
func (w *Writer) Stats() WriterStats { return w.stats }

// Path is the open segment's path, or "" when none is open.
func (w *Writer) Path() string {
	if w.f == nil {
		return ""
	}
	return w.path
}

// Last returns the newest record of the archive: the last one written, or
// at open the last frame of the newest segment (after its repair).
func (w *Writer) Last() (RecordID, bool) { return w.last.id, w.last.ok }

// Newest returns the newest record the archive holds of the ring ringID,
// with ok false when it holds none. It reads the newest segments of that
// ring the first time it is asked about it.
func (w *Writer) Newest(ringID [16]byte) (id RecordID, ok bool, err error) {
	h, err := w.newest(ringID)
	return h.id, h.ok, err
}

// Resume returns the position of the newest record the archive holds of
// the ring ringID (drain.Resumer): the drainer releases the records at or
// before it without handing them to Write. Write also skips them itself.
func (w *Writer) Resume(ringID [16]byte) (pos uint64, ok bool, err error) {
	h, err := w.newest(ringID)
	return h.id.Pos, h.ok, err
}

func (w *Writer) newest(ringID [16]byte) (heldState, error) {
	if h, ok := w.held[ringID]; ok {
		return h, nil
	}
	var h heldState
	for i := len(w.known) - 1; i >= 0 && !h.ok; i-- {
		k := w.known[i]
		if !k.ok || k.hdr.ringID != ringID {
			continue
		}
		var err error
		if h, err = lastFrame(&w.sc, k.path); err != nil {
			return heldState{}, err
		}
	}
	w.held[ringID] = h
	return h, nil
}

// Write appends the batch's records to the archive (drain.Sink). Records
// the archive already holds (position at or below Resume's) are skipped.
// The frames are gathered in a buffer and written to the kernel before
// Write returns (one write(2) per 256 KiB), so a crash of this process
// after Write returns loses nothing; with SyncAlways they are on the disk.
//
// The records must be in ring order: positions and sequence numbers
// increasing, each payload 1..MaxRecord bytes; a batch that is not is
// refused whole, nothing written. An error from the file system (ENOSPC,
// EIO from a write or an fsync) names the segment and the operation; the
// frames this Write had appended are then removed again (segments it
// created are deleted, the one it extended is truncated back), so the
// archive holds exactly what earlier Writes acknowledged, and the Writer
// is failed: every later call returns the same error. Close it and open
// the directory again to go on.
func (w *Writer) Write(ctx context.Context, b *drain.Batch) error {
	if err := w.usable(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	h, err := w.newest(b.RingID)
	if err != nil {
		return err
	}
	first, err := checkBatch(b, h)
	if err != nil {
		return err
	}
	w.stats.Skipped += uint64(first)
	recs := b.Records[first:]
	if len(recs) == 0 {
		return nil
	}
	undo := undoState{path: w.Path(), size: w.size, last: w.last, stats: w.stats}
	w.created = w.created[:0]
	for i := range recs {
		if err := w.appendFrame(b.RingID, &recs[i]); err != nil {
			return w.fail(err, undo)
		}
	}
	if err := w.writeOut(); err != nil {
		return w.fail(err, undo)
	}
	if w.opts.Sync == SyncAlways {
		if err := w.sync(); err != nil {
			return w.fail(err, undo)
		}
	}
	w.held[b.RingID] = heldState{w.tail, true}
	w.last = heldState{w.tail, true}
	return nil
}

// checkBatch checks that a batch is in ring order and returns the index of
// its first record the archive does not hold.
func checkBatch(b *drain.Batch, h heldState) (int, error) {
	first := 0
	for i := range b.Records {
		r := &b.Records[i]
		if i > 0 && (r.Pos <= b.Records[i-1].Pos || r.Seq <= b.Records[i-1].Seq) {
			return 0, fmt.Errorf("archive: batch not in ring order: record %d (position %d, seq %d) after position %d, seq %d",
				i, r.Pos, r.Seq, b.Records[i-1].Pos, b.Records[i-1].Seq)
		}
		if h.ok && r.Pos <= h.id.Pos {
			first = i + 1
			continue
		}
		if h.ok && r.Seq <= h.id.Seq {
			return 0, fmt.Errorf("archive: record at position %d has seq %d, but the archive holds seq %d (position %d) of that ring",
				r.Pos, r.Seq, h.id.Seq, h.id.Pos)
		}
		if len(r.Data) == 0 || len(r.Data) > MaxRecord {
			return 0, fmt.Errorf("archive: record at position %d has %d bytes, want 1..%d", r.Pos, len(r.Data), MaxRecord)
		}
	}
	return first, nil
}

// appendFrame adds one frame, starting a new segment when the ring changes,
// the sequence numbers jump (so that within a segment they rise by one) or
// the segment would pass MaxSize.
func (w *Writer) appendFrame(ring [16]byte, r *drain.Record) error {
	n := FrameHeaderSize + len(r.Data)
	if w.f != nil {
		size := w.size + int64(len(w.buf))
		if w.ring != ring || r.Seq != w.tail.Seq+1 || (size+int64(n) > w.opts.MaxSize && size > HeaderSize) {
			if err := w.closeSegment(); err != nil {
				return err
			}
		}
	}
	if w.f == nil {
		if err := w.openSegment(ring, r.Pos, r.Seq); err != nil {
			return err
		}
	}
	if len(w.buf)+n > cap(w.buf) {
		if err := w.writeOut(); err != nil {
			return err
		}
	}
	if n <= cap(w.buf) {
		o := len(w.buf)
		w.buf = w.buf[:o+n]
		fr := w.buf[o:]
		putFrameHeader(fr, len(r.Data), r.Pos, r.Seq)
		copy(fr[FrameHeaderSize:], r.Data)
		sealFrame(fr)
	} else {
		// Larger than the buffer: the header goes through it, the payload
		// straight from the record.
		o := len(w.buf)
		w.buf = w.buf[:o+FrameHeaderSize]
		hdr := w.buf[o:]
		putFrameHeader(hdr, len(r.Data), r.Pos, r.Seq)
		putCRC(hdr, frameCRC(hdr[offLength:], r.Data))
		if err := w.writeOut(); err != nil {
			return err
		}
		if err := w.write(r.Data); err != nil {
			return err
		}
	}
	w.tail = RecordID{ring, r.Pos, r.Seq}
	w.stats.Records++
	w.stats.Bytes += uint64(len(r.Data))
	return nil
}

// openSegment creates the next segment; its header goes out with the first
// frames.
func (w *Writer) openSegment(ring [16]byte, pos, seq uint64) error {
	path := filepath.Join(w.dir, Name(w.nextNum))
	w.nextNum++
	f, err := w.fsys.createFile(path, w.opts.Perm)
	if err != nil {
		return pathError("create segment", path, err)
	}
	w.created = append(w.created, path)
	w.f, w.path, w.size, w.ring = f, path, 0, ring
	w.dirty, w.lastSync = true, time.Now()
	w.stats.Segments++
	if w.opts.Sync != SyncNever {
		// The segment's name must survive a power loss with its records.
		if err := w.fsys.syncDir(w.dir); err != nil {
			return pathError("fsync directory", w.dir, err)
		}
	}
	w.buf = w.buf[:HeaderSize]
	putHeader(w.buf, segHeader{ringID: ring, firstPos: pos, firstSeq: seq})
	return nil
}

// closeSegment writes what is buffered, fsyncs the segment (unless
// SyncNever) and closes it.
func (w *Writer) closeSegment() error {
	err := w.writeOut()
	if err == nil && w.opts.Sync != SyncNever {
		err = w.sync()
	}
	if cerr := w.f.Close(); cerr != nil && err == nil {
		err = pathError("close segment", w.path, cerr)
	}
	w.f = nil
	return err
}

func (w *Writer) writeOut() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.write(w.buf)
	w.buf = w.buf[:0]
	return err
}

func (w *Writer) write(p []byte) error {
	n, err := w.f.Write(p)
	w.size += int64(n)
	w.dirty = true
	if err != nil {
		return pathError("write segment", w.path, err)
	}
	return nil
}

func (w *Writer) sync() error {
	if !w.dirty {
		return nil
	}
	if err := w.f.Sync(); err != nil {
		return pathError("fsync segment", w.path, err)
	}
	w.dirty, w.lastSync = false, time.Now()
	return nil
}

// undoState is what a failed Write restores.
type undoState struct {
	path  string // the segment open when the Write began, or ""
	size  int64  // its size then
	last  heldState
	stats WriterStats
}

// fail takes back what the failed Write appended and ends the Writer.
func (w *Writer) fail(err error, u undoState) error {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	w.buf = w.buf[:0]
	var undo []error
	for _, p := range w.created {
		if rerr := w.fsys.remove(p); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			undo = append(undo, pathError("remove segment", p, rerr))
		}
	}
	if u.path != "" {
		if terr := w.truncate(u.path, u.size); terr != nil {
			undo = append(undo, terr)
		}
	}
	w.last, w.stats = u.last, u.stats
	if len(undo) > 0 {
		err = fmt.Errorf("%w (and taking back this write failed too, the next OpenWriter repairs what is left: %w)", err, errors.Join(undo...))
	}
	w.err = err
	return err
}

func (w *Writer) truncate(path string, size int64) error {
	f, err := w.fsys.openFile(path)
	if err != nil {
		return pathError("open segment", path, err)
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return pathError("truncate segment", path, err)
	}
	return nil
}

func (w *Writer) usable() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("archive: writer is closed")
	}
	return nil
}

// Flush applies the fsync policy when the drainer has nothing to hand over
// (drain.Sink): with SyncSegment and a SyncInterval it fsyncs the open
// segment when the interval has passed since its last fsync; otherwise it
// has nothing to do, since Write hands every frame to the kernel before it
// returns. An fsync error fails the Writer as a Write error does, but
// nothing is taken back: the records are released already.
func (w *Writer) Flush() error {
	if err := w.usable(); err != nil {
		return err
	}
	if w.f == nil || w.opts.Sync != SyncSegment || w.opts.SyncInterval <= 0 || time.Since(w.lastSync) < w.opts.SyncInterval {
		return nil
	}
	if err := w.sync(); err != nil {
		w.f.Close()
		w.f = nil
		w.err = err
		return err
	}
	return nil
}

// Close closes the open segment, with an fsync unless the policy is
// SyncNever, and gives the directory up. A Writer that failed returns only
// what closing adds.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	var err error
	if w.f != nil {
		err = w.closeSegment()
	}
	return errors.Join(err, w.lock.Close())
}
