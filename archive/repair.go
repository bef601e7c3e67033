package archive

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// repairNewest checks the newest segment when a directory is opened for
// writing (spec/ARCHIVE.md section 7) and cuts what follows its first
// damage. It returns kept false when it removed the segment or set it aside
// (the caller then looks at the one before), and records what the segment
// holds in w.held and w.last.
func (w *Writer) repairNewest(e segEntry) (kept bool, err error) {
	if !e.mode.IsRegular() {
		return false, fmt.Errorf("archive: newest segment %s is not a regular file (%v); refusing to write beside it", e.path, e.mode.Type())
	}
	f, err := w.fsys.openFile(e.path)
	if err != nil {
		return false, fmt.Errorf("archive: open newest segment: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("archive: %w", err)
	}
	size := st.Size()
	d, err := w.sc.reset(f, size, e.path, false)
	if err != nil {
		return false, err
	}
	if d != nil {
		return false, w.repairHeader(e.path, size, d)
	}
	var good heldState // the last frame before the first damage
	var first *DamageError
	after := 0 // valid frames after it
	for {
		fr, d, err := w.sc.next()
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
			good = heldState{RecordID{w.sc.hdr.ringID, fr.pos, fr.seq}, true}
		default:
			after++
		}
	}
	if first == nil && good.ok {
		w.held[good.id.RingID], w.last = good, good
		return true, nil
	}
	r := Repair{Path: e.path, Offset: HeaderSize, Bytes: size - HeaderSize, Reason: "the segment holds no frame"}
	if first != nil {
		r.Offset, r.Bytes, r.Frames, r.Reason = first.Offset, size-first.Offset, after, first.Reason
	}
	if after > 0 {
		// Valid frames follow the damage: keep them out of the archive (the
		// records they hold may still be in the ring, and are written
		// again) but not destroyed.
		r.SetAside = fmt.Sprintf("%s.%d.cut", e.path, r.Offset)
		if err := w.copyAside(f, r.Offset, r.Bytes, r.SetAside); err != nil {
			return false, err
		}
	}
	if !good.ok {
		if err := w.fsys.remove(e.path); err != nil {
			return false, fmt.Errorf("archive: remove segment without frames: %w", err)
		}
	} else {
		if err := f.Truncate(r.Offset); err != nil {
			return false, pathError("truncate segment", e.path, err)
		}
		if w.opts.Sync != SyncNever {
			if err := f.Sync(); err != nil {
				return false, pathError("fsync segment", e.path, err)
			}
		}
	}
	if err := w.syncRepair(); err != nil {
		return false, err
	}
	w.repairs = append(w.repairs, r)
	if !good.ok {
		return false, nil
	}
	w.held[good.id.RingID], w.last = good, good
	return true, nil
}

// repairHeader deals with a newest segment whose header is damaged: one cut
// short (a crash while it was created) holds no frame and is removed; one
// that is there but wrong is set aside; one of another format stops the
// Writer from touching the directory.
func (w *Writer) repairHeader(path string, size int64, d *DamageError) error {
	r := Repair{Path: path, Offset: 0, Bytes: size, Reason: d.Reason}
	switch {
	case errors.Is(d, ErrTruncated) && size <= HeaderSize:
		if err := w.fsys.remove(path); err != nil {
			return fmt.Errorf("archive: remove torn segment: %w", err)
		}
	case errors.Is(d, ErrTruncated) || (errors.Is(d, ErrCorrupt) && hasMagic(path)):
		r.SetAside = path + ".damaged"
		if _, err := os.Lstat(r.SetAside); err == nil {
			return fmt.Errorf("archive: cannot set damaged segment %s aside: %s exists", path, r.SetAside)
		}
		if err := w.fsys.rename(path, r.SetAside); err != nil {
			return fmt.Errorf("archive: set damaged segment aside: %w", err)
		}
	default:
		return fmt.Errorf("archive: newest segment %s: %s; move it away or use another directory", path, d.Reason)
	}
	if err := w.syncRepair(); err != nil {
		return err
	}
	w.repairs = append(w.repairs, r)
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
func (w *Writer) copyAside(f segFile, off, n int64, path string) error {
	out, err := w.fsys.createFile(path, w.opts.Perm)
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
		w.fsys.remove(path)
		return pathError("set aside", path, err)
	}
	return nil
}

// syncRepair makes the directory's changes durable, unless SyncNever.
func (w *Writer) syncRepair() error {
	if w.opts.Sync == SyncNever {
		return nil
	}
	if err := w.fsys.syncDir(w.dir); err != nil {
		return pathError("fsync directory", w.dir, err)
	}
	return nil
}
