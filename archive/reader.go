package archive

import (
	"cmp"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// segEntry is a directory entry named like a segment.
type segEntry struct {
	num  uint64
	path string
	mode fs.FileMode // type bits of the entry itself (a symlink is not followed)
}

// list returns the entries of dir named like segments, in order, whatever
// their type.
func list(dir string) ([]segEntry, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []segEntry
	for _, e := range ents {
		if n, ok := parseName(e.Name()); ok {
			segs = append(segs, segEntry{n, filepath.Join(dir, e.Name()), e.Type()})
		}
	}
	slices.SortFunc(segs, func(a, b segEntry) int { return cmp.Compare(a.num, b.num) })
	return segs, nil
}

// List returns the paths of the segments in dir, in order. Other files,
// directories and files set aside by a Writer's repair are left out.
func List(dir string) ([]string, error) {
	segs, err := list(dir)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, s := range segs {
		if !s.mode.IsDir() {
			paths = append(paths, s.path)
		}
	}
	return paths, nil
}

// ReaderOptions tune a Reader. The zero value, like a nil pointer,
// resynchronises past damage.
type ReaderOptions struct {
	// Strict stops reading a segment at its first damage, reporting the rest
	// of the segment as skipped, and goes on with the next segment: the
	// behaviour of the format before this one. By default the reader
	// resynchronises: it looks for the next valid frame after the damage
	// and goes on from there (spec/ARCHIVE.md section 5).
	Strict bool
}

// Record is one archived record.
type Record struct {
	RecordID
	// Data is the payload; it is valid until the next call of Next.
	Data []byte
	// Segment and Offset say where the record's frame is.
	Segment string
	Offset  int64
	// SegmentFirstSeq is the sequence number the segment's header says its
	// first frame holds: a record read first from a segment with a higher
	// one follows frames that were lost (Checker.AddRecord counts them).
	SegmentFirstSeq uint64
}

// Reader reads the records of an archive directory in order, segment after
// segment. It reads the segments that were there when it was opened, each
// up to the size it had when the Reader came to it.
type Reader struct {
	segs []string
	next int // index of the next segment to open
	opts ReaderOptions
	f    *os.File // the open segment, or nil
	sc   scanner
}

// OpenReader lists the segments of dir for reading.
func OpenReader(dir string, opts *ReaderOptions) (*Reader, error) {
	segs, err := List(dir)
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	r := &Reader{segs: segs}
	if opts != nil {
		r.opts = *opts
	}
	return r, nil
}

// Segments is the number of segments the archive held when opened.
func (r *Reader) Segments() int { return len(r.segs) }

// Next returns the next record, or io.EOF at the end of the archive.
//
// Damage is returned as a *DamageError: a span of a segment that holds no
// valid frame, with its offset, the bytes skipped and the reason. The
// reader has then moved past the span (to the next valid frame, or the next
// segment), so the caller may report it and call Next again. Records after
// the damage are delivered; records whose frames lay in the span are lost,
// and a Checker fed with every record names them. Other errors (a segment
// that cannot be opened or read) are returned as they are, and Next goes on
// with the next segment too.
func (r *Reader) Next() (Record, error) {
	for {
		if r.f == nil {
			if r.next == len(r.segs) {
				return Record{}, io.EOF
			}
			path := r.segs[r.next]
			r.next++
			d, err := r.open(path)
			if err != nil {
				return Record{}, err
			}
			if d != nil {
				return Record{}, d
			}
		}
		f, d, err := r.sc.next()
		switch {
		case err == io.EOF:
			r.closeSegment()
			continue
		case err != nil:
			r.closeSegment()
			return Record{}, err
		case d != nil:
			return Record{}, d
		}
		return Record{
			RecordID: RecordID{RingID: r.sc.hdr.ringID, Pos: f.pos, Seq: f.seq},
			Data:     f.data, Segment: r.sc.path, Offset: f.off,
			SegmentFirstSeq: r.sc.hdr.firstSeq,
		}, nil
	}
}

// open opens a segment and reads its header; a damaged header is reported
// and the segment skipped.
func (r *Reader) open(path string) (*DamageError, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("archive: %w", err)
	}
	d, err := r.sc.reset(f, st.Size(), path, r.opts.Strict)
	if d != nil || err != nil {
		f.Close()
		return d, err
	}
	r.f = f
	return nil, nil
}

func (r *Reader) closeSegment() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

// Close closes the open segment, if any.
func (r *Reader) Close() error {
	r.closeSegment()
	return nil
}
