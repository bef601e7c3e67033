package logio

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logbuf/logbuf/drain"
)

// Retry pacing for a destination that fails: the first retry after
// retryFirst, doubling up to retryMax.
const (
	retryFirst = time.Millisecond
	retryMax   = time.Second
)

// writerSink is the asynchronous writer's drain.Sink: it writes records to an io.Writer,
// one Write per record or several records per Write, and retries a failing
// destination, so that a batch is handed back to the drainer (and released
// from the ring) only once the destination took all of it.
type writerSink struct {
	dst      io.Writer
	newline  bool
	coalesce int
	onError  func(error)
	buf      []byte // records joined, or one record and its newline

	mu        sync.Mutex // serializes dst.Write (the drainer) and dst.Sync (Sync's caller)
	delivered atomic.Uint64
	failure   atomic.Pointer[error] // the destination's last error while it fails, else nil
	giveUpAt  atomic.Int64          // unix ns after which a failing destination is given up; 0: never
	closing   chan struct{}         // closed once giveUpAt is set: a retry waiting wakes to look
}

// newWriterSink makes the sink: newline ends records that lack one,
// coalesce > 0 joins records into Writes of at most that many bytes,
// onError hears of each failed Write.
func newWriterSink(dst io.Writer, newline bool, coalesce int, onError func(error)) *writerSink {
	return &writerSink{dst: dst, newline: newline, coalesce: coalesce, onError: onError,
		closing: make(chan struct{})}
}

// giveUpAfter makes a destination that fails for d from now be given up on.
func (s *writerSink) giveUpAfter(d time.Duration) {
	s.giveUpAt.Store(time.Now().Add(d).UnixNano())
	close(s.closing)
}

var _ drain.Sink = (*writerSink)(nil)

// Write writes the batch to the destination.
func (s *writerSink) Write(ctx context.Context, b *drain.Batch) error {
	if s.coalesce > 0 {
		return s.writeJoined(ctx, b)
	}
	for _, r := range b.Records {
		p := r.Data
		if s.needsNewline(p) {
			s.buf = append(append(s.buf[:0], p...), '\n')
			p = s.buf
		}
		if err := s.writeAll(ctx, p); err != nil {
			return err
		}
		// Counted as they go: a record written is one Close must not call
		// undelivered if a later one of the batch fails.
		s.delivered.Add(1)
	}
	return nil
}

// writeJoined writes the batch's records joined, up to s.coalesce bytes per
// Write (a larger record alone).
func (s *writerSink) writeJoined(ctx context.Context, b *drain.Batch) error {
	s.buf = s.buf[:0]
	joined := uint64(0)
	for _, r := range b.Records {
		if len(s.buf) > 0 && len(s.buf)+len(r.Data)+1 > s.coalesce {
			if err := s.writeAll(ctx, s.buf); err != nil {
				return err
			}
			s.delivered.Add(joined)
			s.buf, joined = s.buf[:0], 0
		}
		s.buf = append(s.buf, r.Data...)
		if s.needsNewline(r.Data) {
			s.buf = append(s.buf, '\n')
		}
		joined++
	}
	if err := s.writeAll(ctx, s.buf); err != nil {
		return err
	}
	s.delivered.Add(joined)
	return nil
}

func (s *writerSink) needsNewline(p []byte) bool {
	return s.newline && (len(p) == 0 || p[len(p)-1] != '\n')
}

// writeAll writes p whole, retrying what a failing destination did not
// take, until it takes it, ctx is done, or Close's patience runs out.
func (s *writerSink) writeAll(ctx context.Context, p []byte) error {
	wait := retryFirst
	closing := s.closing
	for {
		s.mu.Lock()
		n, err := s.dst.Write(p)
		s.mu.Unlock()
		if n < 0 || n > len(p) {
			n = 0 // a broken Writer: assume nothing was written
		}
		if err == nil && n == len(p) {
			if s.failure.Load() != nil {
				s.failure.Store(nil)
			}
			return nil
		}
		if err == nil {
			err = io.ErrShortWrite
		}
		p = p[n:]
		// A copy of its own: taking err's address would move err to the
		// heap on every Write, the ones that succeed included.
		failure := err
		s.failure.Store(&failure)
		if s.onError != nil {
			s.onError(err)
		}
		nap := wait
		if at := s.giveUpAt.Load(); at != 0 {
			left := time.Duration(at - time.Now().UnixNano())
			if left <= 0 {
				return fmt.Errorf("logio: gave up writing to the destination: %w", err)
			}
			nap = min(nap, left)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("logio: destination failing (%w) when the drain stopped: %w", err, ctx.Err())
		case <-time.After(nap):
		case <-closing:
			closing = nil // look at giveUpAt now, and wait as usual after
		}
		wait = min(2*wait, retryMax)
	}
}

// Flush is called by the drainer when the ring has run dry. Write hands
// the destination everything before it returns, so there is nothing to
// flush.
func (s *writerSink) Flush() error { return nil }

// failing returns the destination's last error while it fails.
func (s *writerSink) failing() error {
	if e := s.failure.Load(); e != nil {
		return *e
	}
	return nil
}

// syncDst calls the destination's Sync, if it has one, between its Writes.
func (s *writerSink) syncDst() error {
	ds, ok := s.dst.(interface{ Sync() error })
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return ds.Sync()
}
