package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/logbuf/logbuf/internal/segment"
)

func init() {
	commandDocs["archive"] = `
Attaches to the ring file as its consumer and appends every record to segment
files in --out: each record framed with its length and a CRC-32C, a new
segment when the open one would pass --segment-size. A record is released
from the ring only after it was written to the segment (to the kernel), so
stopping or killing the archiver loses nothing: the next one resumes at the
first record not released, in a new segment. --fsync says when data is
forced to disk:
  never     the kernel writes back when it likes (survives a crash of this
            process, not of the machine)
  segment   fsync each segment when it is closed, and the directory when one
            is created
  interval  as segment, and the open segment every --fsync-interval
It ends like tail: producers gone and ring empty (unless --follow), --count,
or SIGINT/SIGTERM.
Read an archive back with "logbuf replay DIR".`
}

// archiveOpts are archive's settings, shared with demo.
type archiveOpts struct {
	out      string
	segSize  int64
	sync     segment.Sync
	interval time.Duration
	count    uint64
	unblock  time.Duration // --unblock-after
	progress io.Writer     // progress lines, or nil
	stderr   io.Writer     // warnings
	finished func() bool   // nil: producers gone (drainer.finished)
}

func runArchive(e *env, args []string) int {
	fs := newFlags(e, "archive")
	var o archiveOpts
	fs.StringVar(&o.out, "out", "", "archive directory (created if missing; required)")
	segSize := byteSize(64 << 20)
	fs.Var(&segSize, "segment-size", "start a new segment when the open one would pass this size")
	syncFlag := newChoice("segment", "never", "segment", "interval")
	fs.Var(syncFlag, "fsync", "fsync policy: never, segment or interval")
	fs.DurationVar(&o.interval, "fsync-interval", time.Second, "period of --fsync interval")
	fs.Uint64Var(&o.count, "count", 0, "stop after this many records (0: no limit)")
	fs.DurationVar(&o.unblock, "unblock-after", 0, "recover a claim left uncommitted at head this long by a dead producer (any producer on MPSC); 0: the ring's default, 5s; negative: never")
	progress := fs.Bool("progress", isTerminal(e.stderr), "print progress to stderr every second (default: when stderr is a terminal)")
	follow := fs.Bool("follow", false, "keep waiting when every producer has gone, for new ones, until interrupted (for a long-running archiver)")
	pos, st, ok := parse(e, fs, args, 1)
	if !ok {
		return st
	}
	if o.out == "" {
		return usageError(e, "archive", "--out DIR is required")
	}
	if segSize < 64 {
		return usageError(e, "archive", "--segment-size must be at least 64 bytes")
	}
	if o.interval <= 0 {
		return usageError(e, "archive", "--fsync-interval must be positive")
	}
	o.segSize = int64(segSize)
	o.sync, _ = segment.ParseSync(syncFlag.value)
	if *progress {
		o.progress = e.stderr
	}
	o.stderr = e.stderr
	if *follow {
		o.finished = func() bool { return false }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stats, err := archive(ctx, pos[0], o)
	if err != nil {
		return fail(e, "archive", err)
	}
	fmt.Fprintf(e.stderr, "archive: %s\n", stats)
	return exitOK
}

type archiveStats struct {
	records, bytes uint64
	segments       int
	dir            string
	elapsed        time.Duration
}

func (s archiveStats) String() string {
	return fmt.Sprintf("%d records, %d payload bytes into %d new segment(s) in %s (%.1f s, %.1f MB/s)",
		s.records, s.bytes, s.segments, s.dir, s.elapsed.Seconds(), float64(s.bytes)/max(s.elapsed.Seconds(), 1e-9)/1e6)
}

// archive drains the ring file at path into o.out.
func archive(ctx context.Context, path string, o archiveOpts) (stats archiveStats, err error) {
	defer guardFaults(&err)()
	start := time.Now()
	stats.dir = o.out
	f, c, err := openConsumer(path)
	if err != nil {
		return stats, err
	}
	defer f.Close()
	w, err := segment.Create(o.out, segment.Options{MaxSize: o.segSize, Sync: o.sync, Interval: o.interval})
	if err != nil {
		return stats, fmt.Errorf("archive directory: %w", err)
	}
	lastReport := time.Now()
	report := func(d *drainer) {
		if o.progress == nil || time.Since(lastReport) < time.Second {
			return
		}
		lastReport = time.Now()
		s := takeSnapshot(path, f.Region())
		fmt.Fprintf(o.progress, "archive: %d records, %.1f MB, segment %s, ring %.1f%% full, %d producer(s) attached\n",
			d.records, float64(d.bytes)/1e6, w.Path(), s.FillPercent, s.Attached)
	}
	d := &drainer{c: c, reg: f.Region(), limit: o.count, finished: o.finished,
		tick: min(time.Second, o.interval), stuck: stuckReporter(stderrOf(o), "archive")}
	d.setRecovery(o.unblock)
	d.sink = func(batch [][]byte) error {
		for _, b := range batch {
			if err := w.Append(b); err != nil {
				return err
			}
		}
		// Flushed (written to the kernel) before the ring releases them.
		if err := w.Flush(); err != nil {
			return err
		}
		report(d)
		return nil
	}
	d.idle = func() error {
		report(d)
		return w.Flush() // for --fsync interval: sync when idle too
	}
	if err := d.run(ctx); err != nil {
		// No c.Close: it would release records that never reached a segment.
		w.Close()
		return stats, err
	}
	if err := w.Close(); err != nil {
		return stats, err
	}
	c.Close()
	d.leftover(stderrOf(o), "archive", path)
	stats.records, stats.bytes, stats.segments, stats.elapsed = w.Records, w.Bytes, w.Segments, time.Since(start)
	return stats, nil
}

func stderrOf(o archiveOpts) io.Writer {
	if o.stderr != nil {
		return o.stderr
	}
	return io.Discard
}
