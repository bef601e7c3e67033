// Package segment is the archive format of `logbuf archive`: a directory of
// append-only segment files, each a sequence of records framed with their
// length and a CRC-32C, so that a reader detects a segment cut short in the
// middle of a record (a crash, a full disk) and keeps every record before it.
//
// A segment file is named by its sequence number, NNNNNNNNNNNNNNNNNNNN.seg
// (20 decimal digits, so names sort in order); a writer never reopens an
// existing segment, it starts the next number. The file is:
//
//	header: magic "LBSEG\x00\x00\x01" (8 bytes)
//	frames: length u32 LE | crc u32 LE | payload (length bytes)
//
// where crc is CRC-32C (Castagnoli) of the four length bytes followed by the
// payload: a damaged length fails the check as well as a damaged payload.
// Lengths are 1..MaxRecord. There is no padding and no trailer; a segment
// ends where its file ends.
package segment
