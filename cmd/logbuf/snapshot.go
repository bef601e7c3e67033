package main

import (
	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/ring"
)

// snapshot is what stat shows: a ring's header read field by field with
// atomic loads, never written. Fields are each exact but not mutually
// consistent while the ring runs.
type snapshot struct {
	Path        string  `json:"path"`
	Mode        string  `json:"mode"`
	Capacity    uint64  `json:"capacity"`
	MaxPayload  uint64  `json:"max_payload"`
	Head        uint64  `json:"head"`
	Tail        uint64  `json:"tail"`
	Used        uint64  `json:"used"` // tail - head: reserved, not yet released
	Free        uint64  `json:"free"`
	FillPercent float64 `json:"fill_percent"`
	// Inconsistent is set when tail - head is not within capacity: the
	// header was changed by something that does not follow the protocol
	// (or read between two updates of a torn write).
	Inconsistent bool `json:"inconsistent,omitempty"`

	AtHead    headWord       `json:"at_head"`
	Consumer  consumerInfo   `json:"consumer"`
	Producers []producerInfo `json:"producers"` // table entries in use or used before
	Attached  int            `json:"producers_attached"`
	Counters  counters       `json:"counters"`
}

// headWord is the record header word at head: what the consumer waits on.
type headWord struct {
	Kind  string `json:"kind"`
	Len   uint32 `json:"len"`
	Owner uint8  `json:"owner,omitempty"` // slot index + 1 of a CLAIMED stamp
}

type consumerInfo struct {
	PID      uint32 `json:"pid"`
	State    string `json:"state"`    // none, attached, closed
	Liveness string `json:"liveness"` // alive, gone, unknown
	Parked   bool   `json:"parked"`   // waiting on the futex word
	// HeartbeatAgeMs is how long ago the consumer last showed life, or -1
	// when it never wrote a heartbeat.
	HeartbeatAgeMs int64 `json:"heartbeat_age_ms"`
}

type producerInfo struct {
	Slot           int    `json:"slot"` // owner id: table index + 1
	PID            uint32 `json:"pid"`
	State          string `json:"state"`
	Liveness       string `json:"liveness"`
	Records        uint64 `json:"records"`
	Bytes          uint64 `json:"bytes"`
	HeartbeatAgeMs int64  `json:"heartbeat_age_ms"`
}

type counters struct {
	// Written counts are published by producers in batches (at least when
	// they find the ring full and when they close): they may lag.
	RecordsWritten uint64 `json:"records_written"`
	BytesWritten   uint64 `json:"bytes_written"`
	RecordsRead    uint64 `json:"records_read"`
	BytesRead      uint64 `json:"bytes_read"`
	FullEvents     uint64 `json:"full_events"`
	Aborts         uint64 `json:"aborts"`
	Unblocks       uint64 `json:"unblocks"`
}

func stateName(s uint32) string {
	switch s {
	case abi.StateFree:
		return "none"
	case abi.StateAttached:
		return "attached"
	case abi.StateClosed:
		return "closed"
	case abi.StateAttaching:
		return "attaching"
	}
	return "invalid"
}

// heartbeatAge is now - hb in milliseconds, or -1 when there is none.
func heartbeatAge(hb uint64) int64 {
	now, ok := monotonicNow()
	if hb == 0 || !ok || now < hb {
		return -1
	}
	return int64((now - hb) / 1e6)
}

// partyLiveness is the liveness of a party whose state word says state.
func partyLiveness(state, pid uint32, start uint64) liveness {
	if state != abi.StateAttached {
		return livenessUnknown
	}
	return processLiveness(pid, start)
}

func takeSnapshot(path string, r *abi.Region) snapshot {
	st := ring.ReadStats(r)
	h := r.Header()
	s := snapshot{
		Path: path, Mode: st.Mode.String(), Capacity: st.Capacity, MaxPayload: r.MaxPayload(),
		Head: st.Head, Tail: st.Tail, Used: st.Used, Free: st.Free,
		Counters: counters{
			RecordsWritten: st.RecordsWritten, BytesWritten: st.BytesWritten,
			RecordsRead: st.RecordsRead, BytesRead: st.BytesRead,
			FullEvents: st.FullEvents, Aborts: st.Aborts, Unblocks: st.Unblocks,
		},
	}
	if st.Used > st.Capacity || st.Head%abi.WordSize != 0 {
		s.Inconsistent = true
	} else {
		s.FillPercent = 100 * float64(st.Used) / float64(st.Capacity)
		w := abi.Word(r.WordAt(st.Head & (st.Capacity - 1)).Load())
		s.AtHead = headWord{Kind: w.Kind().String(), Len: w.Len()}
		if !w.Valid() {
			s.AtHead.Kind = "invalid"
		} else if w.Kind() == abi.KindClaimed {
			s.AtHead.Owner = w.Owner()
		}
	}
	cs := h.ConsumerState.Load()
	cpid := h.ConsumerPID.Load()
	s.Consumer = consumerInfo{
		PID: cpid, State: stateName(cs),
		Liveness:       partyLiveness(cs, cpid, h.ConsumerStart.Load()).String(),
		Parked:         h.ConsumerWait.Load() != 0,
		HeartbeatAgeMs: heartbeatAge(h.ConsumerHeartbeat.Load()),
	}
	for i := range abi.ProducerSlots {
		sl := r.Slot(i)
		state := sl.State.Load()
		if state == abi.StateFree {
			continue
		}
		pid := sl.PID.Load()
		if state == abi.StateAttached {
			s.Attached++
		}
		s.Producers = append(s.Producers, producerInfo{
			Slot: i + 1, PID: pid, State: stateName(state),
			Liveness: partyLiveness(state, pid, sl.Start.Load()).String(),
			Records:  sl.Records.Load(), Bytes: sl.Bytes.Load(),
			HeartbeatAgeMs: heartbeatAge(sl.Heartbeat.Load()),
		})
	}
	return s
}
