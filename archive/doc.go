// Package archive stores the records of logbuf rings in a directory of
// append-only segment files, and reads them back. The format is specified
// in spec/ARCHIVE.md so that other languages can read archives; this
// package is its reference implementation.
//
// A segment starts with a header naming the ring (its 16-byte ring_id) and
// the format version; each frame after it carries one record's length, ring
// position, ring sequence number and payload, under a CRC-32C. A writer
// starts a new segment when the ring changes, when the sequence numbers
// jump, at a size limit, and whenever it is opened, so within a segment the
// sequence numbers rise by exactly one.
//
// # Writing
//
// OpenWriter opens a directory for appending. It cuts a torn frame off the
// end of the newest segment (Repairs says what it cut) and learns the newest
// record it holds of each ring. The Writer is a drain.Sink and a
// drain.Resumer: Write appends a batch and hands it to the kernel before it
// returns; Flush applies the fsync policy when the ring is idle; Resume says
// up to which ring position the archive already holds a ring, so that a
// drainer that restarts hands nothing over twice. Write skips records it
// already holds in any case.
//
// What survives a crash depends on the fsync policy (spec/ARCHIVE.md
// section 8). In every policy a crash of the writing process loses nothing
// Write acknowledged, and the records of a Write that did not return come
// again from the ring. After a power loss or a kernel crash:
//
//   - SyncAlways: every record whose Write returned is kept. The frames of a
//     Write in progress may be torn, or missing in the middle where pages
//     reached the disk out of order; opening the directory cuts the newest
//     segment at its first damage, and the ring hands those records again.
//     Nothing lost, nothing twice, nothing damaged left in the archive.
//   - SyncSegment: every record of a segment that was closed (a segment is
//     fsynced before the next one gets a record, and at Close) is kept, and
//     of the open segment every record written before its last fsync (at a
//     Flush, once SyncInterval has passed). Records written to the open
//     segment after that may be lost, released already from the ring: a gap
//     in the sequence numbers, found by Check. Nothing twice; damage only in
//     the newest segment, which opening the directory cuts.
//   - SyncNever: records written in the kernel's writeback window before the
//     power loss (dirty_expire_centisecs, 30 s by default) may be lost, in
//     any segment written in that window; damage there is skipped and
//     reported by the Reader. Nothing twice.
//
// Where opening the directory cuts valid frames that follow damage (only
// pages written out of order do that), it copies them to a file beside the
// segment first (Repair.SetAside) rather than destroy them.
//
// A file-system error (ENOSPC, EIO from a write or an fsync) fails the
// Write or Flush with an error naming the segment and the operation. A
// failed Write takes back what it appended, so the archive holds exactly
// what earlier Writes acknowledged; after any such error the Writer only
// returns it again, and the drainer, which released nothing of the failed
// batch, opens the directory anew to go on.
//
// Files are private by default: segments 0600, directories the Writer
// creates 0700, set exactly whatever the umask (WriterOptions.Perm). A
// segment is created with O_EXCL|O_NOFOLLOW, never through a symbolic link,
// and one Writer at a time holds a directory (flock).
//
// # Reading
//
// A Reader returns the records of a directory in order with their ring,
// position, sequence number and payload. Damage comes back as a
// *DamageError (segment, offset, bytes skipped, reason), after which the
// Reader resynchronises: it goes on at the next valid frame whose sequence
// number and position follow the last good one, so that only the damaged
// frames are lost. ReaderOptions.Strict gives up on the rest of a segment
// at its first damage instead. A Checker (or Check, for a whole directory)
// reports per ring the gaps and duplicates in the sequence numbers, and
// compares with a ring's read_records counter.
package archive
