package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/rs/zerolog/diode"
	"go.uber.org/zap/zapcore"

	"github.com/logbuf/logbuf/logio"
)

// An encoder turns a writer into a log call: one structured event of five
// fields, a message, a level and a time, as a service logs a request.
type encoder struct {
	name string
	make func(w io.Writer) func(i int)
}

var encoders = []encoder{
	{"zerolog", func(w io.Writer) func(int) {
		l := zerolog.New(w).With().Timestamp().Logger()
		return func(i int) {
			l.Info().Str("user", "alice").Int("id", i).Float64("took_ms", 1.25).Bool("ok", true).
				Str("path", "/api/v1/items").Msg("request")
		}
	}},
	{"slog", func(w io.Writer) func(int) {
		l := slog.New(slog.NewJSONHandler(w, nil))
		ctx := context.Background()
		return func(i int) {
			l.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("user", "alice"), slog.Int("id", i),
				slog.Float64("took_ms", 1.25), slog.Bool("ok", true), slog.String("path", "/api/v1/items"))
		}
	}},
}

// destKind is where the events end up.
type destKind int

const (
	destFile      destKind = iota // a file on /dev/shm
	destDiscard                   // io.Discard (counting lines)
	destThrottled                 // a writer slower than the producers: the overload run
)

func (k destKind) String() string {
	return [...]string{"shm file", "discard", "throttled"}[k]
}

// dest is one run's destination.
type dest struct {
	kind  destKind
	path  string   // destFile
	file  *os.File // destFile
	lines *lineSink
}

// lineSink is io.Discard that counts the lines it is given, and, with a
// rate, takes at most that many bytes a second (sleeping in Write).
type lineSink struct {
	lines atomic.Uint64
	rate  float64 // bytes a second; 0 for no limit

	mu    sync.Mutex
	start time.Time
	taken float64
}

func (s *lineSink) Write(p []byte) (int, error) {
	s.lines.Add(uint64(bytes.Count(p, []byte{'\n'})))
	if s.rate > 0 {
		s.mu.Lock()
		if s.start.IsZero() {
			s.start = time.Now()
		}
		s.taken += float64(len(p))
		due := s.start.Add(time.Duration(s.taken / s.rate * float64(time.Second)))
		s.mu.Unlock()
		time.Sleep(time.Until(due))
	}
	return len(p), nil
}

// writer is the in-process destination of d.
func (d *dest) writer() io.Writer {
	if d.kind == destFile {
		return d.file
	}
	return d.lines
}

// delivered counts the events that reached the destination.
func (d *dest) delivered() (uint64, error) {
	if d.kind != destFile {
		return d.lines.lines.Load(), nil
	}
	b, err := os.ReadFile(d.path)
	return uint64(bytes.Count(b, []byte{'\n'})), err
}

// A backend is the writer under test between the logger and the
// destination. start returns the writer, and finish, which flushes and
// closes it and says how many events it reported dropped (and, when it
// knows better than the destination, how many were delivered: -1 if not).
type backend struct {
	name  string
	short string
	start func(b *bench, d *dest) (io.Writer, func() (said uint64, delivered int64, err error), error)
}

// ringSize is the buffer of every backend that has one, in bytes or the
// nearest: diode's 1000 events of about 150 bytes, zap's 256 KiB default.
const ringSize = 256 << 10

var backends = []backend{
	{"zerolog diode.Writer", "a", func(_ *bench, d *dest) (io.Writer, func() (uint64, int64, error), error) {
		var missed atomic.Uint64
		// As zerolog's README sets it up. Its Close would close the
		// destination: hide it.
		w := diode.NewWriter(writerOnly{d.writer()}, 1000, 10*time.Millisecond, func(n int) { missed.Add(uint64(n)) })
		return w, func() (uint64, int64, error) {
			err := w.Close()
			return missed.Load(), -1, err
		}, nil
	}},
	{"zap BufferedWriteSyncer", "b", func(_ *bench, d *dest) (io.Writer, func() (uint64, int64, error), error) {
		ws := &zapcore.BufferedWriteSyncer{WS: zapcore.AddSync(writerOnly{d.writer()})} // 256 KiB, 30 s
		return ws, func() (uint64, int64, error) { return 0, -1, ws.Stop() }, nil
	}},
	{"straight to the destination", "c", func(_ *bench, d *dest) (io.Writer, func() (uint64, int64, error), error) {
		return d.writer(), func() (uint64, int64, error) { return 0, -1, nil }, nil
	}},
	{"logio.Async", "d", func(_ *bench, d *dest) (io.Writer, func() (uint64, int64, error), error) {
		var told atomic.Uint64
		a, err := logio.NewAsync(d.writer(), logio.AsyncOptions{Size: ringSize, Coalesce: 64 << 10,
			Options: logio.Options{OnDrop: func(n uint64) { told.Add(n) }}})
		if err != nil {
			return nil, nil, err
		}
		return a, func() (uint64, int64, error) {
			err := a.Close()
			if c := a.Counts(); err == nil && c.Dropped != told.Load() {
				err = fmt.Errorf("OnDrop told of %d drops, Counts has %d", told.Load(), c.Dropped)
			}
			return told.Load(), -1, err
		}, nil
	}},
	{"logio.Writer, ring file, logbuf tail", "e", startRingFile},
}

// writerOnly hides every method of a Writer but Write.
type writerOnly struct{ io.Writer }

// startRingFile makes a ring file, a "logbuf tail" process that drains it
// to the destination, and a logio.Writer over it. tail polls every 1 ms, as
// (d)'s drainer does by default (logio.AsyncOptions.Poll): a tail that
// parks makes the Write after each of its naps pay the futex wake-up.
func startRingFile(b *bench, d *dest) (io.Writer, func() (uint64, int64, error), error) {
	b.seq++
	path := filepath.Join(b.dir, fmt.Sprintf("ring-%d", b.seq))
	var told atomic.Uint64
	w, err := logio.OpenFile(path, logio.FileOptions{Capacity: ringSize,
		Options: logio.Options{OnDrop: func(n uint64) { told.Add(n) }}})
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(b.logbuf, "tail", "--poll", "1ms", "--format", "raw", path)
	cmd.Stderr = os.Stderr
	var copied chan struct{}
	switch d.kind {
	case destFile:
		cmd.Stdout = d.file
	case destDiscard:
		// /dev/null; the ring counts what tail read.
	case destThrottled:
		pr, pw, err := os.Pipe()
		if err != nil {
			return nil, nil, err
		}
		cmd.Stdout = pw
		copied = make(chan struct{})
		go func() {
			defer close(copied)
			io.CopyBuffer(d.lines, pr, make([]byte, 4096))
			pr.Close()
		}()
		defer pw.Close() // the child has its copy
	}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, nil, err
	}
	for !w.Stats().ConsumerParty.Held {
		time.Sleep(time.Millisecond)
	}
	return w, func() (uint64, int64, error) {
		err := w.Close()
		if werr := cmd.Wait(); werr != nil && err == nil {
			err = fmt.Errorf("logbuf tail: %w", werr)
		}
		if copied != nil {
			<-copied
		}
		delivered := int64(-1)
		if d.kind == destDiscard {
			delivered = int64(w.Stats().RecordsRead)
		}
		if c := w.Counts(); err == nil && c.Dropped != told.Load() {
			err = fmt.Errorf("OnDrop told of %d drops, Counts has %d", told.Load(), c.Dropped)
		}
		os.Remove(path)
		return told.Load(), delivered, err
	}, nil
}
