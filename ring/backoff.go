package ring

import (
	"context"
	"runtime"
	"time"

	"github.com/logbuf/logbuf/asm"
)

// A producer waiting for space never makes a system call of its own: it
// spins, yields, and then sleeps in growing steps of at most a millisecond,
// so a ring that stays full does not cost a core. It waits for as long as
// its context allows whether or not a consumer is attached: a consumer that
// is gone or detached is one that has not come back yet (spec section 8).
// It stops early only when this producer is closed, or when the consumer
// closed the ring for good (TryClaim then says ErrRingClosed, not ErrFull).

const (
	producerSpins   = 64                     // TryClaim retries, one asm.Pause apart
	producerYield   = time.Millisecond       // then runtime.Gosched for this long
	producerMaxNap  = time.Millisecond       // then sleeps, doubling from 16 µs up to this
	producerLiveGap = 100 * time.Millisecond // how often a waiting producer asks whether the consumer lives
)

// claimer is either producer. claimWait takes it as a type parameter, not an
// interface value, so that calling it allocates nothing.
type claimer interface {
	TryClaim(n int) (Claim, error)
}

// claimWait retries TryClaim, backing off, until it is not ErrFull.
func claimWait[P claimer](ctx context.Context, p P, c *core, n int) (Claim, error) {
	var b backoff
	for {
		cl, err := p.TryClaim(n)
		if err != ErrFull {
			return cl, err
		}
		if err := b.wait(ctx, c); err != nil {
			return Claim{}, err
		}
	}
}

// backoff paces a producer waiting for space: spin, then yield, then sleep.
type backoff struct {
	n      int
	first  time.Time // when yielding began
	nap    time.Duration
	live   time.Time // last look at the consumer's process
	absent bool      // no live consumer at that look
}

// wait is called after each ErrFull; nil means "try again".
func (b *backoff) wait(ctx context.Context, c *core) error {
	b.n++
	if b.n <= producerSpins {
		asm.Pause()
		return nil
	}
	if c.shut.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		if b.absent || consumerOf(c.hdr, true) == consumerAbsent {
			return &noConsumerError{ctxErr: err}
		}
		return err
	}
	now := time.Now()
	if b.first.IsZero() {
		b.first = now
	}
	if now.Sub(b.first) < producerYield {
		runtime.Gosched()
		return nil
	}
	// The ring has been full for a millisecond: the consumer is slow, or
	// gone. Heartbeat (spec section 8), look at the consumer now and then,
	// and sleep.
	if now.Sub(b.live) >= producerLiveGap {
		b.live = now
		b.absent = consumerOf(c.hdr, true) == consumerAbsent
		if c.party != nil {
			c.party.Heartbeat.Store(monoNow())
		}
	}
	b.nap = min(max(2*b.nap, 16*time.Microsecond), producerMaxNap)
	time.Sleep(b.nap)
	return nil
}
