// Package logio connects Go loggers to logbuf rings: io.Writers that slog,
// zap, zerolog and the standard log package write to, with one logged event
// per Write and one record per event.
//
// Writer puts each Write into a ring as one record, copied once into a claim,
// with no allocation. What it does when the ring is full is chosen when it
// is made (Options): drop the record and count it, or wait for space for a
// while, then drop and count. Nothing is lost uncounted: every Write of a
// non-empty slice is counted once as written, dropped or refused (too large
// for the ring), in Go (Writer.Counts) and, for the ring's share of them, in
// the ring's header, where "logbuf stat" reads them. Over a ring file
// (OpenFile) the records go to whichever process drains that file, such as
// "logbuf archive".
//
// Async is the in-process form, the one-line replacement for zerolog's
// diode.Writer and zap's BufferedWriteSyncer: a Writer over a ring on the Go
// heap, drained by drain.Run on a goroutine of its own into any io.Writer. A
// record leaves the ring only once that io.Writer accepted it; Sync, Flush
// and Close wait for what was written before them. While the ring is empty
// the drainer looks at it every millisecond rather than sleep where a Write
// would have to wake it (AsyncOptions.Poll).
//
// Which value may be shared: a Writer over an MPSC ring (the kind Async and
// OpenFile make by default) and an Async are safe for concurrent use by any
// number of goroutines; a Writer over an SPSC ring belongs to one goroutine
// at a time, as its producer does. Close may be called from any goroutine.
package logio
