package ship

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/logbuf/logbuf/drain"
)

// ErrTooLarge is returned by Write under the StopOnTooLarge policy when a
// record is larger than the server or the stream accepts.
var ErrTooLarge = errors.New("ship: record too large for the server")

// TooLargePolicy says what Write does with a record larger than the server
// accepts.
type TooLargePolicy int

const (
	// StopOnTooLarge makes Write return ErrTooLarge; the record stays in
	// the ring.
	StopOnTooLarge TooLargePolicy = iota
	// SkipTooLarge leaves the record out of the stream, counts it in
	// Stats.Skipped and reports it to Options.OnSkip; it is released from
	// the ring with its batch.
	SkipTooLarge
)

// Options configure a Sink. Subject is required; the zero value of every
// other field is a default.
type Options struct {
	// Subject is the subject every record is published on; a stream must
	// hold it.
	Subject string
	// Header is added to every message (for example HeaderHost and
	// HeaderRing). The sink adds Nats-Msg-Id itself.
	Header nats.Header
	// SeqHeader adds HeaderSeq, the record's ring sequence number, to every
	// message, so that a reader can tell a missing record from a skipped
	// position. It costs the server time, as every header does (ship's
	// TestCompareHandLoop measures what the message id alone costs).
	SeqHeader bool
	// MaxInFlight bounds the publishes awaiting their ack at once; the
	// default is 4096.
	MaxInFlight int
	// AckTimeout is how long Write waits for the acks of an attempt after
	// its last publish before it counts the missing ones as failed and
	// publishes them again; the default is 5 s.
	AckTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between two attempts at a
	// batch: the first wait is MinBackoff (default 100 ms), each next one
	// twice the last, at most MaxBackoff (default 5 s).
	MinBackoff, MaxBackoff time.Duration
	// TooLarge is the policy for records larger than the server accepts.
	TooLarge TooLargePolicy
	// OnSkip, if set, is called for each record skipped under SkipTooLarge.
	OnSkip func(Skipped)
	// OnRetry, if set, is called after each failed attempt at a batch,
	// before the backoff wait.
	OnRetry func(Retry)
}

// Skipped describes a record left out of the stream as too large.
type Skipped struct {
	// RingID, Pos and Seq name the record as drain.Batch and drain.Record
	// do; Size is its payload length.
	RingID   [16]byte
	Pos, Seq uint64
	Size     int
	// Err is the error that refused it (nats.ErrMaxPayload, or the
	// stream's "message size exceeds maximum allowed").
	Err error
}

// Retry describes an attempt at a batch that failed.
type Retry struct {
	// Attempt counts the attempts at this batch, from 1.
	Attempt int
	// Pending is the number of records of the batch not yet stored.
	Pending int
	// Err is the first failure of the attempt.
	Err error
	// Wait is the backoff before the next attempt.
	Wait time.Duration
}

// Stats are a sink's counters since New. All fields are read atomically
// one by one, so Stats may be called from any goroutine.
type Stats struct {
	// Records and Bytes count the records (and payload bytes) JetStream
	// acknowledged as stored, duplicates included.
	Records, Bytes uint64
	// Duplicates counts acks that said the stream already held the
	// message: a batch published again after a restart or a retry.
	Duplicates uint64
	// Skipped and SkippedBytes count records left out as too large.
	Skipped, SkippedBytes uint64
	// Retries counts failed attempts at a batch.
	Retries uint64
	// Reordered counts records published again after a later record of
	// their batch was stored: they follow it in the stream.
	Reordered uint64
	// PendingRecords and PendingBytes are the records of the batch being
	// written that are not yet acknowledged: the shipper's lag inside its
	// batch (the rest of its lag is what is still in the ring).
	PendingRecords, PendingBytes uint64
}

// Sink publishes batches of ring records to JetStream; it implements
// drain.Sink. Write must not be called from two goroutines at once; Stats
// may be called from any.
type Sink struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	opts Options

	// Per batch, reused: what became of each record, and the future of
	// each publish of the current attempt with its record's index.
	state []recordState
	futs  []jetstream.PubAckFuture
	index []int

	ringID  [16]byte
	ringHex string
	idBuf   []byte

	records, bytes, duplicates atomic.Uint64
	skipped, skippedBytes      atomic.Uint64
	retries, reordered         atomic.Uint64
	pendRecords, pendBytes     atomic.Uint64
}

type recordState uint8

const (
	unsent recordState = iota
	// overtaken: not stored, but a later record of the batch is.
	overtaken
	stored
	skipped
)

// noRetry turns off nats.go's re-publishing after "no responders": it
// would publish the message again from a timer, after Write may have
// returned and the record's bytes left the ring, and out of order. Write
// retries itself.
var noRetry = []jetstream.PublishOpt{jetstream.WithRetryAttempts(0)}

// New makes a sink that publishes on nc. The connection must not buffer
// publishes while it reconnects (see Connect and the package doc); New
// returns an error if it does.
func New(nc *nats.Conn, opts Options) (*Sink, error) {
	if opts.Subject == "" {
		return nil, errors.New("ship: Options.Subject is required")
	}
	if nc.Opts.AllowReconnect && nc.Opts.ReconnectBufSize >= 0 {
		return nil, errors.New("ship: the connection buffers publishes while it reconnects, which can store a record lost in a disconnect after later ones; connect with ship.Connect or nats.ReconnectBufSize(-1)")
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 4096
	}
	if opts.AckTimeout <= 0 {
		opts.AckTimeout = 5 * time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(opts.MaxInFlight))
	if err != nil {
		return nil, fmt.Errorf("ship: %w", err)
	}
	return &Sink{nc: nc, js: js, opts: opts}, nil
}

// Stats returns the sink's counters.
func (s *Sink) Stats() Stats {
	return Stats{
		Records: s.records.Load(), Bytes: s.bytes.Load(), Duplicates: s.duplicates.Load(),
		Skipped: s.skipped.Load(), SkippedBytes: s.skippedBytes.Load(),
		Retries: s.retries.Load(), Reordered: s.reordered.Load(),
		PendingRecords: s.pendRecords.Load(), PendingBytes: s.pendBytes.Load(),
	}
}

// Flush does nothing: Write returns only once its batch is stored.
func (s *Sink) Flush() error { return nil }

// Write publishes every record of b and returns nil once JetStream has
// stored each one (or, under SkipTooLarge, skipped it as too large). It
// publishes again what failed, with backoff, until ctx ends; it returns an
// error, leaving the batch to be written again, when ctx ends, when the
// connection is closed for good, or with ErrTooLarge under StopOnTooLarge.
func (s *Sink) Write(ctx context.Context, b *drain.Batch) error {
	if b.RingID != s.ringID || s.ringHex == "" {
		s.ringID, s.ringHex = b.RingID, hex.EncodeToString(b.RingID[:])
	}
	s.state = slices.Grow(s.state[:0], len(b.Records))[:len(b.Records)]
	clear(s.state)
	var size uint64
	for _, r := range b.Records {
		size += uint64(len(r.Data))
	}
	s.pendRecords.Store(uint64(len(b.Records)))
	s.pendBytes.Store(size)
	defer func() { s.pendRecords.Store(0); s.pendBytes.Store(0) }()

	wait := s.opts.MinBackoff
	for attempt := 1; ; attempt++ {
		pending, err := s.attempt(ctx, b)
		if pending == 0 {
			return nil
		}
		if errors.Is(err, ErrTooLarge) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("ship: %d of %d records not stored (%v): %w", pending, len(b.Records), err, ctx.Err())
		}
		if s.nc.IsClosed() {
			return fmt.Errorf("ship: %d of %d records not stored: the NATS connection is closed: %w", pending, len(b.Records), err)
		}
		s.retries.Add(1)
		if s.opts.OnRetry != nil {
			s.opts.OnRetry(Retry{Attempt: attempt, Pending: pending, Err: err, Wait: wait})
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		wait = min(2*wait, s.opts.MaxBackoff)
	}
}

// attempt publishes the records of b not yet stored, in order, and waits
// for their acks. It returns how many records are still not stored and the
// first error met.
func (s *Sink) attempt(ctx context.Context, b *drain.Batch) (pending int, err error) {
	s.futs, s.index = s.futs[:0], s.index[:0]
	for i := range b.Records {
		if s.state[i] >= stored {
			continue
		}
		f, perr := s.publish(ctx, b, i)
		if errors.Is(perr, nats.ErrMaxPayload) {
			if perr = s.tooLarge(b, i, perr); perr == nil {
				continue
			}
		}
		if perr != nil {
			// The connection is down or going: publishing the rest now
			// would fail too, and a record stored after this one would be
			// out of order.
			err = perr
			break
		}
		s.futs = append(s.futs, f)
		s.index = append(s.index, i)
	}
	if len(s.futs) > 0 {
		if werr := s.awaitAcks(ctx); err == nil {
			err = werr
		}
	}
	lastStored := -1
	for k, f := range s.futs {
		i := s.index[k]
		select {
		case ack := <-f.Ok():
			s.state[i] = stored
			lastStored = i
			s.records.Add(1)
			s.bytes.Add(uint64(len(b.Records[i].Data)))
			s.pendRecords.Add(^uint64(0))
			s.pendBytes.Add(-uint64(len(b.Records[i].Data)))
			if ack.Duplicate {
				s.duplicates.Add(1)
			}
		case aerr := <-f.Err():
			if isTooLargeForStream(aerr) {
				if aerr = s.tooLarge(b, i, aerr); aerr == nil {
					continue
				}
			}
			if err == nil || errors.Is(aerr, ErrTooLarge) {
				err = aerr
			}
		default:
			// awaitAcks resolved every future; keep the record to retry.
		}
	}
	for i, st := range s.state {
		if st < stored {
			pending++
			if st == unsent && i < lastStored {
				s.state[i] = overtaken
				s.reordered.Add(1)
			}
		}
	}
	return pending, err
}

// publish sends record i of b asynchronously. It waits while MaxInFlight
// publishes await their acks, for at most AckTimeout without progress.
func (s *Sink) publish(ctx context.Context, b *drain.Batch, i int) (jetstream.PubAckFuture, error) {
	r := b.Records[i]
	h := make(nats.Header, len(s.opts.Header)+2)
	for k, v := range s.opts.Header {
		h[k] = v
	}
	s.idBuf = appendMsgID(s.idBuf[:0], s.ringHex, r.Pos)
	h[jetstream.MsgIDHeader] = []string{string(s.idBuf)}
	if s.opts.SeqHeader {
		h[HeaderSeq] = []string{strconv.FormatUint(r.Seq, 10)}
	}
	m := &nats.Msg{Subject: s.opts.Subject, Header: h, Data: r.Data}
	var stalled time.Time
	for {
		f, err := s.js.PublishMsgAsync(m, noRetry...)
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			return f, err
		}
		// MaxInFlight acks outstanding; PublishMsgAsync waited 200 ms for
		// one. Wait on, unless the server stopped answering.
		if stalled.IsZero() {
			stalled = time.Now()
		}
		if ctx.Err() != nil || time.Since(stalled) > s.opts.AckTimeout {
			return nil, err
		}
	}
}

// awaitAcks waits until every publish of the attempt has its ack or error.
// After AckTimeout, or when ctx ends, it fails the ones still waiting so
// that none is left to resolve later.
func (s *Sink) awaitAcks(ctx context.Context) error {
	t := time.NewTimer(s.opts.AckTimeout)
	defer t.Stop()
	var err error
	select {
	case <-s.js.PublishAsyncComplete():
		return nil
	case <-t.C:
		err = fmt.Errorf("no ack within %v", s.opts.AckTimeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.js.CleanupPublisher()
	<-s.js.PublishAsyncComplete()
	return err
}

// tooLarge applies the TooLarge policy to record i of b, refused with err.
func (s *Sink) tooLarge(b *drain.Batch, i int, err error) error {
	r := b.Records[i]
	if s.opts.TooLarge != SkipTooLarge {
		return fmt.Errorf("%w: record at position %d (sequence %d) is %d bytes: %v", ErrTooLarge, r.Pos, r.Seq, len(r.Data), err)
	}
	s.state[i] = skipped
	s.skipped.Add(1)
	s.skippedBytes.Add(uint64(len(r.Data)))
	s.pendRecords.Add(^uint64(0))
	s.pendBytes.Add(-uint64(len(r.Data)))
	if s.opts.OnSkip != nil {
		s.opts.OnSkip(Skipped{RingID: b.RingID, Pos: r.Pos, Seq: r.Seq, Size: len(r.Data), Err: err})
	}
	return nil
}

// isTooLargeForStream reports an ack error saying the message exceeds the
// stream's max_msg_size.
func isTooLargeForStream(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum
}
