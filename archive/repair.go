package archive

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Repair is what opening a directory for writing changed in it: bytes cut
// from the end of the newest segment (a frame torn by a crash), or a segment
// removed or set aside.
type Repair struct {
	Path   string // the segment
	Offset int64  // where the cut starts
	Bytes  int64  // bytes cut (to the end of the file)
	// Frames is the number of valid frames among the bytes cut (they
	// followed damage, and were copied to SetAside before the cut).
	Frames int
	// SetAside is the file that now holds the bytes cut, when they were
	// kept: copied there because valid frames were among them, or the whole
	// segment renamed there because its header is damaged. "" when the
	// bytes (a torn frame, a segment without frames) were dropped.
	SetAside string
	Reason   string // the damage found at Offset
}

// String says what was done, for a log line.
func (r Repair) String() string {
	s := fmt.Sprintf("archive: segment %s: cut %d bytes at offset %d (%s)", r.Path, r.Bytes, r.Offset, r.Reason)
	if r.SetAside != "" {
		s += fmt.Sprintf("; set aside in %s with the %d valid frame(s) among them", r.SetAside, r.Frames)
	}
	return s
}

// heldState is the newest record the archive holds of one ring.
type heldState struct {
	id RecordID
	ok bool
}

// knownSeg is a segment that was in the directory when it was opened.
type knownSeg struct {
	path string
	hdr  segHeader
	ok   bool // the header was valid
}

// inspection is what a writer needs to know of a directory before it
// appends: the segments, the next segment number, the newest record held of
// the rings whose newest segment has been read, and the repairs made.
type inspection struct {
	known   []knownSeg // oldest first
	nextNum uint64
	held    map[[16]byte]heldState
	last    heldState // the newest record of the archive as a whole
	repairs []Repair
}

// repairer makes the repairs of inspect.
type repairer struct {
	fsys    fileSystem
	dir     string
	perm    fs.FileMode // of a file it creates to set bytes aside
	durable bool        // fsync what it changes
	sc      scanner
	out     *inspection
}

// inspect opens the directory dir for appending (spec/ARCHIVE.md section
// 7): it lists the segments, repairs the newest and reads the headers of
// the others.
func inspect(fsys fileSystem, dir string, perm fs.FileMode, durable bool) (*inspection, error) {
	segs, err := list(dir)
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	out := &inspection{nextNum: 1, held: make(map[[16]byte]heldState)}
	if len(segs) > 0 {
		out.nextNum = segs[len(segs)-1].num + 1
	}
	r := &repairer{fsys: fsys, dir: dir, perm: perm, durable: durable, out: out}
	for len(segs) > 0 {
		kept, err := r.newest(segs[len(segs)-1])
		if err != nil {
			return nil, err
		}
		if kept {
			break
		}
		segs = segs[:len(segs)-1]
	}
	for _, s := range segs {
		k := knownSeg{path: s.path}
		k.hdr, k.ok = readHeader(s.path)
		out.known = append(out.known, k)
	}
	return out, nil
}

// newest checks the newest segment (spec/ARCHIVE.md section 7) and cuts
// what follows its first damage. It returns kept false when it removed the
// segment or set it aside (the caller then looks at the one before), and
// records what the segment holds.
func (r *repairer) newest(e segEntry) (kept bool, err error) {
	if !e.mode.IsRegular() {
		return false, fmt.Errorf("archive: newest segment %s is not a regular file (%v); refusing to write beside it", e.path, e.mode.Type())
	}
	f, err := r.fsys.openFile(e.path)
	if err != nil {
		return false, fmt.Errorf("archive: open newest segment: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("archive: %w", err)
	}
	size := st.Size()
	d, err := r.sc.reset(f, size, e.path, false)
	if err != nil {
		return false, err
	}
	if d != nil {
		return false, r.header(e.path, size, d)
	}
	var good heldState // the last frame before the first damage
	var first *DamageError
	after := 0 // valid frames after it
	for {
		fr, d, err := r.sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return false, err
		}
		switch {
		case d != nil && first == nil:
			first = d
		case d != nil:
		case first == nil:
			good = heldState{RecordID{r.sc.hdr.ringID, fr.pos, fr.seq}, true}
		default:
			after++
		}
	}
	if first == nil && good.ok {
		r.out.held[good.id.RingID], r.out.last = good, good
		return true, nil
	}
	rep := Repair{Path: e.path, Offset: HeaderSize, Bytes: size - HeaderSize, Reason: "the segment holds no frame"}
	if first != nil {
		rep.Offset, rep.Bytes, rep.Frames, rep.Reason = first.Offset, size-first.Offset, after, first.Reason
	}
	if after > 0 {
		// Valid frames follow the damage: keep them out of the archive (the
		// records they hold may still be in the ring, and are written
		// again) but not destroyed.
		rep.SetAside = fmt.Sprintf("%s.%d.cut", e.path, rep.Offset)
		if err := r.copyAside(f, rep.Offset, rep.Bytes, rep.SetAside); err != nil {
			return false, err
		}
	}
	if !good.ok {
		if err := r.fsys.remove(e.path); err != nil {
			return false, fmt.Errorf("archive: remove segment without frames: %w", err)
		}
	} else {
		if err := f.Truncate(rep.Offset); err != nil {
			return false, pathError("truncate segment", e.path, err)
		}
		if r.durable {
			if err := f.Sync(); err != nil {
				return false, pathError("fsync segment", e.path, err)
			}
		}
	}
	if err := r.syncDir(); err != nil {
		return false, err
	}
	r.out.repairs = append(r.out.repairs, rep)
	if !good.ok {
		return false, nil
	}
	r.out.held[good.id.RingID], r.out.last = good, good
	return true, nil
}

// header deals with a newest segment whose header is damaged: one cut
// short (a crash while it was created) holds no frame and is removed; one
// that is there but wrong is set aside; one of another format stops the
// Writer from touching the directory.
func (r *repairer) header(path string, size int64, d *DamageError) error {
	rep := Repair{Path: path, Offset: 0, Bytes: size, Reason: d.Reason}
	switch {
	case errors.Is(d, ErrTruncated) && size <= HeaderSize:
		if err := r.fsys.remove(path); err != nil {
			return fmt.Errorf("archive: remove torn segment: %w", err)
		}
	case errors.Is(d, ErrTruncated) || (errors.Is(d, ErrCorrupt) && hasMagic(path)):
		rep.SetAside = path + ".damaged"
		if _, err := os.Lstat(rep.SetAside); err == nil {
			return fmt.Errorf("archive: cannot set damaged segment %s aside: %s exists", path, rep.SetAside)
		}
		if err := r.fsys.rename(path, rep.SetAside); err != nil {
			return fmt.Errorf("archive: set damaged segment aside: %w", err)
		}
	default:
		return fmt.Errorf("archive: newest segment %s: %s; move it away or use another directory", path, d.Reason)
	}
	if err := r.syncDir(); err != nil {
		return err
	}
	r.out.repairs = append(r.out.repairs, rep)
	return nil
}

// hasMagic reports whether the file at path starts with Magic.
func hasMagic(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [len(Magic)]byte
	n, _ := f.ReadAt(b[:], 0)
	return n == len(b) && string(b[:]) == Magic
}

// copyAside copies n bytes of f from off into a new file at path.
func (r *repairer) copyAside(f segFile, off, n int64, path string) error {
	out, err := r.fsys.createFile(path, r.perm)
	if err != nil {
		return pathError("create", path, err)
	}
	_, err = io.Copy(out, io.NewSectionReader(f, off, n))
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		r.fsys.remove(path)
		return pathError("set aside", path, err)
	}
	return nil
}

// syncDir makes the directory's changes durable, when they are to be.
func (r *repairer) syncDir() error {
	if !r.durable {
		return nil
	}
	if err := r.fsys.syncDir(r.dir); err != nil {
		return pathError("fsync directory", r.dir, err)
	}
	return nil
}

// readHeader reads and checks the header of the segment at path.
func readHeader(path string) (segHeader, bool) {
	f, err := os.Open(path)
	if err != nil {
		return segHeader{}, false
	}
	defer f.Close()
	var b [HeaderSize]byte
	n, _ := f.ReadAt(b[:], 0)
	h, fl := parseHeader(b[:n])
	return h, fl == nil
}

// lastFrame reads a whole segment, past any damage, and returns its last
// valid frame: what the archive holds of its ring when it is that ring's
// newest segment.
func lastFrame(sc *scanner, path string) (heldState, error) {
	f, err := os.Open(path)
	if err != nil {
		return heldState{}, fmt.Errorf("archive: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return heldState{}, fmt.Errorf("archive: %w", err)
	}
	var h heldState
	if d, err := sc.reset(f, st.Size(), path, false); d != nil || err != nil {
		return h, err
	}
	for {
		fr, d, err := sc.next()
		if err == io.EOF {
			return h, nil
		}
		if err != nil {
			return heldState{}, err
		}
		if d == nil {
			h = heldState{RecordID{sc.hdr.ringID, fr.pos, fr.seq}, true}
		}
	}
}
