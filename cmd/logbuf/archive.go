package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/archive"
	"github.com/logbuf/logbuf/drain"
)

func init() {
	register(command{name: "archive", args: "--out DIR [flags] FILE", summary: "drain a ring file into rolling, checksummed segment files", run: runArchive, doc: `
Attaches to the ring file as its consumer and appends its records to segment
files in --out (format: spec/ARCHIVE.md): each record in a frame with its
ring position, sequence number and CRC-32C; a new segment at each start and
when the open one would pass --segment-size. A record leaves the ring only
after its frame was written (to the kernel), and records the archive holds
already are not written again: stopping or killing the archiver loses
nothing and duplicates nothing. The next run repairs a frame a kill left
torn (and says so on stderr) and goes on after the newest record archived.

--fsync says when segments are forced to disk, and so what a power loss or
kernel crash may take (a crash of this process alone takes nothing):
  never    no fsync: records written in the kernel's writeback window
           (30 s by default) may be lost, in any segment written then
  segment  fsync each segment as it is closed, the directory when a segment
           is created, and the open segment when the ring is idle and
           --fsync-interval has passed since its last fsync: records written
           to the open segment after its last fsync may be lost (replay then
           reports a gap)
  always   as segment, and the open segment before each batch leaves the
           ring: no record that left the ring is lost
No mode ever writes a record twice.

Without --follow it ends when every producer has gone and the ring is
empty; on a ring whose producers have gone already it ends at once, saying
so. --follow keeps it waiting for new producers until SIGINT or SIGTERM.
--count ends it after that many records. Segments are created with --perm
(0600) and new directories likewise (0700), whatever the umask. Read an
archive back with "logbuf replay DIR".`})
}

// archiveOpts are an archive run's settings, shared with demo.
type archiveOpts struct {
	out      string
	writer   archive.WriterOptions
	drain    drain.Options
	progress io.Writer // progress lines every second, or nil
	stderr   io.Writer // repairs, recoveries and notes
}

func runArchive(e *env, args []string) int {
	fs := newFlags(e, "archive")
	o := archiveOpts{stderr: e.stderr}
	fs.StringVar(&o.out, "out", "", "archive directory, created if missing (required)")
	segSize := byteSize(archive.DefaultMaxSize)
	fs.Var(&segSize, "segment-size", "start a new segment when the open one would pass this\nsize")
	syncFlag := newChoice("segment", "never", "segment", "always")
	fs.Var(syncFlag, "fsync", "when to fsync: never, segment, always (see above)")
	fs.DurationVar(&o.writer.SyncInterval, "fsync-interval", time.Second,
		"with --fsync segment: fsync the open segment when the ring\nis idle and this long has passed since its last fsync\n(0: never)")
	perm := fs.String("perm", "0600", "segment file permission bits, octal (directories get x\nwhere r is set)")
	fs.Uint64Var(&o.drain.Limit, "count", 0, "stop after this many records (0: no limit)")
	fs.DurationVar(&o.drain.UnblockAfter, "unblock-after", 0, unblockUsage)
	fs.DurationVar(&o.drain.Poll, "poll", 0, pollUsage)
	progress := fs.Bool("progress", isTerminal(e.stderr), "print progress to stderr every second (default: when stderr\nis a terminal)")
	fs.BoolVar(&o.drain.Follow, "follow", false, "when every producer has gone, wait for new ones until\ninterrupted (a long-running archiver)")
	pos, st, ok := parse(e, fs, args, 1)
	if !ok {
		return st
	}
	if o.out == "" {
		return usageError(e, "archive", "--out DIR is required")
	}
	if segSize < 4096 {
		return usageError(e, "archive", "--segment-size must be at least 4KiB")
	}
	if o.writer.SyncInterval < 0 {
		return usageError(e, "archive", "--fsync-interval must not be negative")
	}
	p, ok := parsePerm(*perm)
	if !ok {
		return usageError(e, "archive", "--perm %q is not octal permission bits such as 0600", *perm)
	}
	o.writer.Perm = p
	o.writer.MaxSize = int64(segSize)
	o.writer.Sync, _ = archive.ParseSync(syncFlag.value)
	if *progress {
		o.progress = e.stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stats, err := archiveRing(ctx, pos[0], o)
	if err != nil {
		return fail(e, "archive", err)
	}
	fmt.Fprintf(e.stderr, "archive: %s\n", stats.doneLine())
	if stats.End == drain.EndOfStream && stats.WriterStats.Records == 0 {
		fmt.Fprintf(e.stderr, "archive: every producer of %s has gone and it holds no record to archive; --follow waits for producers\n", pos[0])
	}
	return exitOK
}

// parsePerm reads octal permission bits, 0001..0777 (--perm of create and
// archive).
func parsePerm(s string) (fs.FileMode, bool) {
	p, err := strconv.ParseUint(s, 8, 32)
	if err != nil || p == 0 || p > 0o777 {
		return 0, false
	}
	return fs.FileMode(p), true
}

// archiveStats is what an archive run did.
type archiveStats struct {
	drain.Result
	archive.WriterStats
	dir     string
	elapsed time.Duration
}

// doneLine is the line archive ends with.
func (s archiveStats) doneLine() string {
	line := fmt.Sprintf("%d records, %d payload bytes into %d new segment(s) in %s (%.1f s, %.1f MB/s); %s",
		s.WriterStats.Records, s.WriterStats.Bytes, s.Segments, s.dir, s.elapsed.Seconds(),
		float64(s.WriterStats.Bytes)/max(s.elapsed.Seconds(), 1e-9)/1e6, endWords[s.End])
	if skipped := s.Result.Skipped + s.WriterStats.Skipped; skipped > 0 {
		line += fmt.Sprintf("; %d record(s) the archive held already skipped", skipped)
	}
	return line
}

// endWords say why a drain ended, as archive reports it.
var endWords = map[drain.End]string{
	drain.EndOfStream: "every producer gone, ring drained",
	drain.EndLimit:    "--count reached",
	drain.EndCanceled: "interrupted",
}

// archiveRing drains the ring file at path into the archive directory
// o.out until the drain ends (drain.Run); it returns what it did.
func archiveRing(ctx context.Context, path string, o archiveOpts) (stats archiveStats, err error) {
	defer guardFaults(&err)()
	start := time.Now()
	stats.dir = o.out
	f, c, err := openConsumer(path)
	if err != nil {
		return stats, err
	}
	defer f.Close()
	// Close detaches: records read and not released (a batch the archive
	// refused) stay in the ring for the next consumer.
	defer c.Close()
	w, err := archive.OpenWriter(o.out, &o.writer)
	if err != nil {
		return stats, err
	}
	for _, r := range w.Repairs() {
		fmt.Fprintf(o.stderr, "logbuf archive: repaired %s\n", strings.TrimPrefix(r.String(), "archive: "))
	}
	sink := &progressSink{Writer: w, path: path, region: f.Region(), out: o.progress}
	opt := o.drain
	opt.Stuck = stuckReporter(o.stderr, "archive")
	opt.Idle = func(drain.Progress) error { sink.report(); return nil }
	stats.Result, err = drain.Run(ctx, c, sink, opt)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	stats.WriterStats, stats.elapsed = w.Stats(), time.Since(start)
	return stats, err
}

// progressSink is the archive Writer (a drain.Sink and drain.Resumer) with
// a progress line every second, busy or idle.
type progressSink struct {
	*archive.Writer
	path   string
	region *abi.Region
	out    io.Writer // nil: no progress
	last   time.Time
}

func (s *progressSink) Write(ctx context.Context, b *drain.Batch) error {
	if err := s.Writer.Write(ctx, b); err != nil {
		return err
	}
	s.report()
	return nil
}

func (s *progressSink) report() {
	if s.out == nil || time.Since(s.last) < time.Second {
		return
	}
	s.last = time.Now()
	st := s.Writer.Stats()
	snap := takeSnapshot(s.path, s.region)
	seg := s.Writer.Path()
	if seg == "" {
		seg = "none open"
	}
	fmt.Fprintf(s.out, "archive: %d records, %.1f MB, segment %s, ring %.1f%% full, %d producer(s) attached\n",
		st.Records, float64(st.Bytes)/1e6, seg, snap.FillPercent, snap.Attached)
}
