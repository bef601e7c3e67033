package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/logbuf/logbuf/drain"
	"github.com/logbuf/logbuf/ring"
	"github.com/logbuf/logbuf/ship"
)

func init() {
	register(command{name: "ship", args: "--nats URL --stream NAME --subject SUBJ [flags] FILE", summary: "drain a ring file into a NATS JetStream stream, each record once", run: runShip, doc: `
Attaches to the ring file as its consumer and publishes every record to
JetStream on --subject, one message per record, with a Nats-Msg-Id that names
the ring (the identity in its header) and the record (its position). A batch
of records is released from the ring only after JetStream acknowledged every
record of it, so a shipper killed at any point and restarted publishes at most
the batch that was in flight again, and the stream drops what it already
holds by message id: each record is stored once as long as the shipper is
back within the stream's duplicate window (--dup-window when --create-stream
makes it; JetStream's default is 2 minutes).
While the server is down or slow, nothing is released: the ring fills and its
producers wait or drop, per their own policy; the shipper retries with backoff
(up to --max-backoff), says so on stderr, and resumes by itself. "logbuf stat"
shows its lag: the records and bytes the ring still holds.
A record larger than the server accepts (max_payload, or the stream's
max_msg_size): --too-large stop exits with an error and leaves it in the ring;
skip reports it on stderr, counts it and goes on.
The stream must exist and hold --subject (--create-stream makes it: file
storage, --stream-subject, --replicas, --max-age, --dup-window; in a fleet,
each host publishes on its own subject, logs.HOST say, of a stream that
holds logs.>). It ends like archive: producers
gone and ring empty (unless --follow), --count, or SIGINT/SIGTERM.
Read the stream back with "logbuf replay --nats URL --stream NAME".`})
}

// shipOpts are ship's settings.
type shipOpts struct {
	conn                natsFlags
	stream, subject     string
	streamSubject       string
	create              bool
	replicas            int
	maxAge, dupWindow   time.Duration
	headers, seqHeader  bool
	batch               int
	batchBytes          int64
	inFlight            int
	ackTimeout, backoff time.Duration
	tooLarge            ship.TooLargePolicy
	count               uint64
	unblock             time.Duration
	follow              bool
	progress            io.Writer // progress lines, or nil
	stderr              io.Writer
}

func runShip(e *env, args []string) int {
	fs := newFlags(e, "ship")
	var o shipOpts
	o.conn.register(fs)
	fs.StringVar(&o.stream, "stream", "", "JetStream stream that holds --subject (required)")
	fs.StringVar(&o.subject, "subject", "", "subject to publish the records on (required)")
	fs.BoolVar(&o.create, "create-stream", false, "create the stream if it does not exist (file storage,\nholding --stream-subject)")
	fs.StringVar(&o.streamSubject, "stream-subject", "", "with --create-stream: the subjects the stream holds,\nwildcards allowed (default --subject; for a fleet whose\nhosts publish on logs.HOST: 'logs.>')")
	fs.IntVar(&o.replicas, "replicas", 1, "with --create-stream: replicas of the stream in a\nJetStream cluster")
	fs.DurationVar(&o.maxAge, "max-age", 0, "with --create-stream: drop messages older than this\n(0: keep them)")
	fs.DurationVar(&o.dupWindow, "dup-window", 2*time.Minute, "with --create-stream: the stream's duplicate window; a\nshipper restarted within it stores no record twice")
	fs.BoolVar(&o.headers, "headers", true, "add "+ship.HeaderHost+" (this host's name) and "+ship.HeaderRing+" (the ring\nfile's path) headers to every message")
	fs.BoolVar(&o.seqHeader, "seq-header", false, "add "+ship.HeaderSeq+" (the record's ring sequence number) to every\nmessage, so replay can count missing records; costs\nserver time")
	fs.IntVar(&o.batch, "batch", 4096, "records per batch: a batch is released when all its records\nare acknowledged")
	batchBytes := byteSize(4 << 20)
	fs.Var(&batchBytes, "batch-bytes", "payload bytes per batch at most")
	fs.IntVar(&o.inFlight, "max-in-flight", 4096, "publishes awaiting their ack at once")
	fs.DurationVar(&o.ackTimeout, "ack-timeout", 5*time.Second, "wait this long for acks before publishing the unacknowledged\nrecords again")
	fs.DurationVar(&o.backoff, "max-backoff", 5*time.Second, "longest wait between two attempts while the server is away")
	tooLarge := newChoice("stop", "stop", "skip")
	fs.Var(tooLarge, "too-large", "a record larger than the server accepts: stop (exit,\nrecord kept in the ring) or skip (report, count, go on)")
	fs.Uint64Var(&o.count, "count", 0, "stop after this many records (0: no limit)")
	fs.DurationVar(&o.unblock, "unblock-after", 0, unblockUsage)
	progress := fs.Bool("progress", isTerminal(e.stderr), "print progress to stderr every second (default: when stderr\nis a terminal)")
	fs.BoolVar(&o.follow, "follow", false, "when every producer has gone, wait for new ones until\ninterrupted (a long-running shipper)")
	pos, st, ok := parse(e, fs, args, 1)
	if !ok {
		return st
	}
	switch {
	case o.conn.url == "":
		return usageError(e, "ship", "--nats URL is required")
	case o.stream == "" || o.subject == "":
		return usageError(e, "ship", "--stream NAME and --subject SUBJ are required")
	case o.batch < 1 || batchBytes < 1 || o.inFlight < 1:
		return usageError(e, "ship", "--batch, --batch-bytes and --max-in-flight must be positive")
	case o.ackTimeout <= 0 || o.backoff <= 0 || o.dupWindow <= 0 || o.maxAge < 0 || o.replicas < 1:
		return usageError(e, "ship", "--ack-timeout, --max-backoff, --dup-window and --replicas must be positive, --max-age not negative")
	}
	if _, err := o.conn.options(); err != nil {
		return usageError(e, "ship", "%v", err)
	}
	if o.streamSubject == "" {
		o.streamSubject = o.subject
	}
	o.batchBytes = int64(batchBytes)
	if tooLarge.value == "skip" {
		o.tooLarge = ship.SkipTooLarge
	}
	if *progress {
		o.progress = e.stderr
	}
	o.stderr = e.stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stats, err := shipRing(ctx, pos[0], o)
	if err != nil {
		return fail(e, "ship", err)
	}
	fmt.Fprintf(e.stderr, "ship: %s\n", stats)
	return exitOK
}

type shipStats struct {
	ship.Stats
	stream  string
	end     drain.End
	elapsed time.Duration
}

func (s shipStats) String() string {
	out := fmt.Sprintf("%d records, %d payload bytes stored in stream %s (%d of them already there) in %.1f s (%.1f MB/s), ended by %s",
		s.Records, s.Bytes, s.stream, s.Duplicates, s.elapsed.Seconds(), float64(s.Bytes)/max(s.elapsed.Seconds(), 1e-9)/1e6, s.end)
	if s.Skipped > 0 {
		out += fmt.Sprintf("; %d records (%d bytes) skipped as too large", s.Skipped, s.SkippedBytes)
	}
	return out
}

// shipRing drains the ring file at path into JetStream.
func shipRing(ctx context.Context, path string, o shipOpts) (stats shipStats, err error) {
	start := time.Now()
	stats.stream = o.stream
	abs, err := filepath.Abs(path)
	if err != nil {
		return stats, err
	}
	host, _ := os.Hostname()
	o.conn.name = "logbuf ship " + host + ":" + abs
	var disconnected atomic.Bool
	nc, err := o.conn.connect(true,
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			// err is nil when this process closes the connection.
			if err != nil && disconnected.CompareAndSwap(false, true) {
				fmt.Fprintf(o.stderr, "logbuf ship: disconnected from NATS (%v); records stay in the ring until it is back\n", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			disconnected.Store(false)
			fmt.Fprintf(o.stderr, "logbuf ship: reconnected to %s\n", nc.ConnectedUrlRedacted())
		}))
	if err != nil {
		return stats, err
	}
	defer nc.Close()
	if err := checkStream(ctx, nc, o); err != nil {
		return stats, err
	}
	so := ship.Options{
		Subject: o.subject, SeqHeader: o.seqHeader, MaxInFlight: o.inFlight,
		AckTimeout: o.ackTimeout, MaxBackoff: o.backoff, TooLarge: o.tooLarge,
		OnSkip: func(k ship.Skipped) {
			fmt.Fprintf(o.stderr, "logbuf ship: skipped the record at position %d (sequence %d, %d bytes): %v\n", k.Pos, k.Seq, k.Size, k.Err)
		},
		OnRetry: func(r ship.Retry) {
			fmt.Fprintf(o.stderr, "logbuf ship: attempt %d: %d record(s) of the batch not stored: %v; trying again in %v\n", r.Attempt, r.Pending, r.Err, r.Wait)
		},
	}
	if o.headers {
		so.Header = nats.Header{ship.HeaderHost: {host}, ship.HeaderRing: {abs}}
	}
	sink, err := ship.New(nc, so)
	if err != nil {
		return stats, err
	}
	stats.end, err = drainToSink(ctx, path, sink, o)
	stats.Stats, stats.elapsed = sink.Stats(), time.Since(start)
	return stats, err
}

// drainToSink attaches to the ring at path and drains it into sink, with a
// progress line every second if o.progress is set.
func drainToSink(ctx context.Context, path string, sink *ship.Sink, o shipOpts) (end drain.End, err error) {
	defer guardFaults(&err)()
	f, c, err := openConsumer(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if o.progress != nil {
		done := make(chan struct{})
		stopped := make(chan struct{})
		defer func() { close(done); <-stopped }()
		go func() {
			defer close(stopped)
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
				}
				// ring.ReadStats, not a snapshot: the word at head, which a
				// snapshot reads, races with the drain's zeroing here.
				s, st := sink.Stats(), ring.ReadStats(f.Region())
				l := lagOf(st)
				fmt.Fprintf(o.progress, "ship: %d records, %.1f MB stored; lag %d records, %.1f MB (ring %.1f%% full); %d retries, %d skipped; %d producer(s) attached\n",
					s.Records, float64(s.Bytes)/1e6, l.Records, float64(l.Bytes)/1e6, 100*float64(min(st.Used, st.Capacity))/float64(st.Capacity), s.Retries, s.Skipped, st.Producers)
			}
		}()
	}
	res, err := drain.Run(ctx, c, sink, drain.Options{
		MaxRecords: o.batch, MaxBytes: int(o.batchBytes), Follow: o.follow, Limit: o.count,
		UnblockAfter: o.unblock, Stuck: stuckReporter(o.stderr, "ship"),
	})
	// Records not acknowledged stay in the ring for the next shipper.
	c.Close()
	return res.End, err
}

// checkStream makes sure the stream exists and holds the subject, creating
// it with --create-stream, and says how long a restart may take.
func checkStream(ctx context.Context, nc *nats.Conn, o shipOpts) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	name, err := js.StreamNameBySubject(ctx, o.subject)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound) && o.create:
		_, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name: o.stream, Subjects: []string{o.streamSubject}, Storage: jetstream.FileStorage,
			Replicas: o.replicas, MaxAge: o.maxAge, Duplicates: o.dupWindow,
		})
		if err != nil {
			return fmt.Errorf("create stream %s: %w", o.stream, err)
		}
		if name, err = js.StreamNameBySubject(ctx, o.subject); err != nil {
			return fmt.Errorf("stream %s was created, but does not hold subject %s (--stream-subject %s): %w", o.stream, o.subject, o.streamSubject, err)
		}
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return fmt.Errorf("no stream holds subject %s: create one (--create-stream, or \"nats stream add\")", o.subject)
	case err != nil:
		return fmt.Errorf("look up the stream of subject %s: %w", o.subject, err)
	}
	if name != o.stream {
		return fmt.Errorf("subject %s is held by stream %s, not %s", o.subject, name, o.stream)
	}
	st, err := js.Stream(ctx, name)
	if err != nil {
		return err
	}
	dup := st.CachedInfo().Config.Duplicates
	fmt.Fprintf(o.stderr, "ship: stream %s, duplicate window %v: a shipper restarted within it stores no record twice\n", name, dup)
	return nil
}
