package main

import (
	"errors"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/ring"
)

// snapshot is what stat shows: a ring's header read field by field with
// atomic loads, never written. Fields are each exact but not mutually
// consistent while the ring runs.
type snapshot struct {
	Path        string  `json:"path"`
	Mode        string  `json:"mode"`
	ID          string  `json:"ring_id"`
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

	AtHead    headWord `json:"at_head"`
	Consumer  party    `json:"consumer"`
	Producers []party  `json:"producers"` // table entries held now or before
	Attached  int      `json:"producers_attached"`
	Counters  counters `json:"counters"`
	// Lag is what producers wrote and the consumer has not released: for
	// logbuf ship, the records JetStream has not acknowledged yet. It comes
	// from the written counts, so it may lag too (low, never high).
	Lag lag `json:"lag"`
}

type lag struct {
	Records uint64 `json:"records"`
	Bytes   uint64 `json:"bytes"` // payload bytes
}

// headWord is the record header word at head: what the consumer waits on.
type headWord struct {
	Kind  string `json:"kind"` // a kind's name, or "invalid"
	Word  uint64 `json:"word"`
	Len   uint32 `json:"len"`
	Owner uint8  `json:"owner,omitempty"` // slot index + 1 of a CLAIMED stamp
	// Problem says why an invalid word is: the consumer stops there with
	// a corrupt-record error.
	Problem string `json:"problem,omitempty"`
}

// party is a party record as stat shows it. Whether its holder lives is
// the ring package's verdict (spec section 8), not this command's.
type party struct {
	Slot    int    `json:"slot,omitempty"` // producers: owner id, table index + 1
	PID     uint32 `json:"pid"`
	State   string `json:"state"` // FREE, ATTACHED, DETACHED, CLOSED
	Alive   bool   `json:"alive"` // ATTACHED by a process that lives
	Since   uint64 `json:"since"` // position at which the holder attached
	Parked  bool   `json:"parked,omitempty"`
	Records uint64 `json:"records,omitempty"`
	Bytes   uint64 `json:"bytes,omitempty"`
	Dropped uint64 `json:"dropped,omitempty"`
	Refused uint64 `json:"refused,omitempty"`
	// HeartbeatAgeMs is how long ago the holder last showed life, or -1
	// when it never wrote a heartbeat.
	HeartbeatAgeMs int64 `json:"heartbeat_age_ms"`
}

type counters struct {
	// Written counts are published by producers in batches (at least when
	// they find the ring full and when they detach): they may lag.
	RecordsWritten uint64 `json:"records_written"`
	BytesWritten   uint64 `json:"bytes_written"`
	RecordsRead    uint64 `json:"records_read"`
	BytesRead      uint64 `json:"bytes_read"`
	FullEvents     uint64 `json:"full_events"`
	Aborts         uint64 `json:"aborts"`
	Unblocks       uint64 `json:"unblocks"`
	Dropped        uint64 `json:"dropped"`
	Refused        uint64 `json:"refused"`
}

func toParty(p ring.Party) party {
	age := int64(-1)
	if p.Heartbeat != 0 {
		age = p.HeartbeatAge().Milliseconds()
	}
	return party{
		Slot: p.Owner, PID: p.Lease.PID(), State: p.Lease.State().String(), Alive: p.Held,
		Since: p.Since, Records: p.Records, Bytes: p.Bytes, Dropped: p.Dropped, Refused: p.Refused,
		HeartbeatAgeMs: age,
	}
}

func takeSnapshot(path string, r *abi.Region) snapshot {
	st := ring.ReadStats(r)
	s := snapshot{
		Path: path, Mode: st.Mode.String(), ID: st.ID.String(), Capacity: st.Capacity, MaxPayload: r.MaxPayload(),
		Head: st.Head, Tail: st.Tail, Used: st.Used, Free: st.Free, Attached: st.Producers,
		Counters: counters{
			RecordsWritten: st.RecordsWritten, BytesWritten: st.BytesWritten,
			RecordsRead: st.RecordsRead, BytesRead: st.BytesRead,
			FullEvents: st.FullEvents, Aborts: st.Aborts, Unblocks: st.Unblocks,
			Dropped: st.Dropped, Refused: st.Refused,
		},
		Consumer: toParty(st.ConsumerParty),
	}
	s.Lag = lagOf(st)
	s.Consumer.Parked = r.Header().ConsumerWait.Load() != 0
	if st.Used > st.Capacity || st.Head%abi.WordSize != 0 {
		s.Inconsistent = true
	} else {
		s.FillPercent = 100 * float64(st.Used) / float64(st.Capacity)
		w, _ := ring.HeadWord(r)
		s.AtHead = readHeadWord(r, st.Head, w)
	}
	for _, p := range st.Entries {
		s.Producers = append(s.Producers, toParty(p))
	}
	return s
}

// readHeadWord decodes the word at head. A word that breaks a rule of
// spec section 7.1 (ring.CheckWord, the consumer's own check) is shown as
// invalid, with the rule, rather than as a record.
func readHeadWord(r *abi.Region, head uint64, w abi.Word) headWord {
	h := headWord{Kind: w.Kind().String(), Word: uint64(w), Len: w.Len()}
	var ce *abi.CorruptError
	switch err := ring.CheckWord(r, head, w); {
	case errors.As(err, &ce):
		h.Kind, h.Problem = "invalid", ce.Reason
	case w.Kind() == abi.KindClaimed:
		h.Owner = w.Owner()
	}
	return h
}

// lagOf is what producers wrote and the consumer has not released (the
// written counts lag, so it is never below 0).
func lagOf(st ring.Stats) lag {
	var l lag
	if st.RecordsWritten > st.RecordsRead {
		l.Records = st.RecordsWritten - st.RecordsRead
	}
	if st.BytesWritten > st.BytesRead {
		l.Bytes = st.BytesWritten - st.BytesRead
	}
	return l
}
