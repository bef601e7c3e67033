package abi

import "fmt"

// State is the state a party record's lease gives it (spec section 3).
type State uint8

// The party states.
const (
	StateFree     State = 0 // never held: the whole lease is 0
	StateAttached State = 1 // held by the process the lease names, if it lives
	StateDetached State = 2 // its last holder left cleanly
	StateClosed   State = 3 // consumer only: the ring is closed for good
)

// String names the state as the spec does.
func (s State) String() string {
	switch s {
	case StateFree:
		return "FREE"
	case StateAttached:
		return "ATTACHED"
	case StateDetached:
		return "DETACHED"
	case StateClosed:
		return "CLOSED"
	}
	return fmt.Sprintf("state %d", uint8(s))
}

// Bit fields of a lease word.
const (
	leasePIDBits   = 24
	leaseStartBits = 36
	leaseStateShft = leasePIDBits + leaseStartBits

	// MaxLeasePID is the largest pid a lease can name: 2^24 - 1. Linux
	// allows at most 2^22.
	MaxLeasePID = 1<<leasePIDBits - 1
	// LeaseStartMask keeps the bits of a process start time that a lease
	// holds: start times are compared modulo 2^36.
	LeaseStartMask = 1<<leaseStartBits - 1
)

// Lease is the first word of a party record: the holder's pid, the start
// time of its process and the record's state, in one word, so that a party
// attaches, or takes over a dead holder's record, with one compare-and-swap
// from the exact value it judged (spec section 8).
type Lease uint64

// MakeLease is the lease of state s held by process pid started at start.
// The start time is kept modulo 2^36; pid must not exceed MaxLeasePID.
func MakeLease(s State, pid uint32, start uint64) Lease {
	return Lease(uint64(s)<<leaseStateShft | (start&LeaseStartMask)<<leasePIDBits | uint64(pid&MaxLeasePID))
}

// State is the lease's state.
func (l Lease) State() State { return State(l >> leaseStateShft) }

// PID is the pid of the holder (or last holder).
func (l Lease) PID() uint32 { return uint32(l & MaxLeasePID) }

// Start is the holder's process start time modulo 2^36, 0 when unknown.
func (l Lease) Start() uint64 { return uint64(l>>leasePIDBits) & LeaseStartMask }

// With is the same holder in state s: what a holder stores to detach or
// close.
func (l Lease) With(s State) Lease { return MakeLease(s, l.PID(), l.Start()) }

// Malformed reports whether the lease breaks the state table (spec section
// 8): an unknown state, a FREE lease with other bits set, or CLOSED in a
// producer entry, where only a consumer closes.
func (l Lease) Malformed(producerEntry bool) bool {
	switch l.State() {
	case StateFree:
		return l != 0
	case StateAttached, StateDetached:
		return false
	case StateClosed:
		return producerEntry
	}
	return true
}

// String shows the state and the holder.
func (l Lease) String() string {
	if l == 0 {
		return "FREE"
	}
	return fmt.Sprintf("%v pid %d start %d", l.State(), l.PID(), l.Start())
}
