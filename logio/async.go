package logio

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/drain"
	"github.com/logbuf/logbuf/ring"
)

// AsyncOptions are NewAsync's. The zero value makes a 1 MiB ring, drops
// records when it is full, and writes each record to the destination with
// a Write of its own, as diode.Writer does.
type AsyncOptions struct {
	// Options say what a Write does when the ring is full.
	Options
	// Size is the ring's data area in bytes, rounded up to a power of two;
	// 0 means 1 MiB. The largest record is an eighth of it.
	Size int
	// Newline ends every record that does not end in '\n' with one, on its
	// way to the destination: for loggers that do not end their lines.
	Newline bool
	// Coalesce, when positive, joins consecutive records into Writes of up
	// to this many bytes (a larger record goes alone): far fewer system
	// calls into a file. Leave it 0 for a destination that takes each Write
	// as one event, such as zerolog.ConsoleWriter or a datagram socket.
	Coalesce int
	// OnError, when not nil, is told of every failed Write of the
	// destination, on the drainer's goroutine. A failed Write is retried,
	// after 1 ms, then twice as long each time up to a second, with the
	// records it did not take still in the ring: while the destination
	// fails, the ring fills and Writes drop as the Options say.
	OnError func(error)
	// CloseRetry is how long Close keeps retrying a destination that fails
	// before it gives up on the records not yet written; 0 means 5 s.
	CloseRetry time.Duration
	// Poll is how often the drainer looks at the ring while it is empty;
	// 0 means 1 ms. A negative Poll makes the drainer sleep on the ring's
	// futex instead, with no wake-ups while nothing is logged, but then the
	// Write that finds it asleep wakes it with a system call, which costs
	// that Write microseconds (BENCHMARKS.md). With polling, a record
	// written into an empty ring waits up to about Poll for the drainer.
	Poll time.Duration
}

const (
	defaultCloseRetry = 5 * time.Second
	defaultPoll       = time.Millisecond
)

// Async is an io.Writer that hands each Write to a ring on the Go heap and
// returns, while a goroutine of its own drains the ring into a destination
// io.Writer with the library's drainer (drain.Run). It is the one-line
// replacement for zerolog's diode.NewWriter and zap's BufferedWriteSyncer,
// and it is safe for concurrent use.
type Async struct {
	w    *Writer
	hdr  *abi.Header
	cons *ring.Consumer
	sink *writerSink
	opt  AsyncOptions

	finished chan struct{} // closed when the drainer returns
	result   drain.Result  // the drainer's, once finished
	err      error         // likewise

	closeOnce sync.Once
	closeErr  error
}

// AsyncCounts are an Async's Writer counts and what reached the destination.
type AsyncCounts struct {
	Counts
	// Delivered is records the destination took. After Close it equals
	// Written unless Close returned an error.
	Delivered uint64
}

// NewAsync starts an Async writer into dst.
func NewAsync(dst io.Writer, opt AsyncOptions) (*Async, error) {
	capacity, err := ringCapacity(opt.Size)
	if err != nil {
		return nil, err
	}
	if opt.CloseRetry <= 0 {
		opt.CloseRetry = defaultCloseRetry
	}
	if opt.Poll == 0 {
		opt.Poll = defaultPoll
	}
	r, err := abi.NewHeap(capacity, abi.MPSC)
	if err != nil {
		return nil, err
	}
	p, err := ring.NewMPSCProducer(r)
	if err != nil {
		return nil, err
	}
	c, err := ring.NewConsumer(r)
	if err != nil {
		return nil, err
	}
	a := &Async{
		w: NewWriter(p, opt.Options), hdr: r.Header(), cons: c, opt: opt,
		sink:     newWriterSink(dst, opt.Newline, opt.Coalesce, opt.OnError),
		finished: make(chan struct{}),
	}
	go a.drain()
	return a, nil
}

// drain runs until the Writer is closed and the ring drained (the end of
// the stream: its only producer left), or the destination was given up on.
func (a *Async) drain() {
	defer close(a.finished)
	// Polling (Poll > 0) keeps the drainer off the ring's futex, so that no
	// Write pays the system call that wakes it; Poll < 0 parks.
	a.result, a.err = drain.Run(context.Background(), a.cons, a.sink, drain.Options{Poll: max(a.opt.Poll, 0)})
}

// Write hands p to the ring as one record; see Writer.Write.
func (a *Async) Write(p []byte) (int, error) { return a.w.Write(p) }

// Flush waits until the destination took every record written before it.
// It returns the destination's error at once while it fails, and the
// drainer's when it has stopped short of them.
func (a *Async) Flush() error {
	// Every record written before now lies before this tail; the drainer
	// moves head past a record only once the destination took it.
	target := a.hdr.Tail.Load()
	nap := time.Duration(0)
	for {
		if int64(a.hdr.Head.Load()-target) >= 0 {
			return nil
		}
		if err := a.sink.failing(); err != nil {
			return fmt.Errorf("logio: flush: the destination fails: %w", err)
		}
		select {
		case <-a.finished:
			if int64(a.hdr.Head.Load()-target) >= 0 {
				return nil
			}
			return fmt.Errorf("logio: flush: the drainer stopped: %w", a.stopErr())
		default:
		}
		// Flush is rare (zap calls Sync when a program ends, or after a
		// panic): poll, from a microsecond up to a millisecond.
		nap = min(max(2*nap, time.Microsecond), time.Millisecond)
		time.Sleep(nap)
	}
}

// Sync flushes, as Flush does, then calls the destination's Sync, if it
// has one (an *os.File has): zap's WriteSyncer. The destination's Sync is
// never called during one of its Writes.
func (a *Async) Sync() error {
	if err := a.Flush(); err != nil {
		return err
	}
	return a.sink.syncDst()
}

// Close stops Writes (they fail with ring.ErrClosed from then on) and
// returns once every record written before it is in the destination, or the
// destination failed for AsyncOptions.CloseRetry: then the error says how
// many records were not written. Close does not close the destination
// (diode.Writer's Close does, when it is an io.Closer). It is idempotent and
// safe for concurrent use.
func (a *Async) Close() error {
	a.closeOnce.Do(func() {
		a.sink.giveUpAfter(a.opt.CloseRetry)
		err := a.w.Close() // the producer leaves: the drainer ends when the ring is empty
		<-a.finished
		if a.err != nil {
			c := a.Counts()
			err = fmt.Errorf("logio: %d of %d records written were not delivered: %w",
				c.Written-c.Delivered, c.Written, a.err)
		}
		a.cons.Close()
		a.closeErr = err
	})
	return a.closeErr
}

// stopErr is why the drainer stopped.
func (a *Async) stopErr() error {
	if a.err != nil {
		return a.err
	}
	return fmt.Errorf("logio: %v", a.result.End)
}

// Counts returns what the Writer did and what the destination took.
func (a *Async) Counts() AsyncCounts {
	return AsyncCounts{Counts: a.w.Counts(), Delivered: a.sink.delivered.Load()}
}

// MaxPayload is the largest Write the ring accepts.
func (a *Async) MaxPayload() int { return a.w.MaxPayload() }
