package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/archive"
	"github.com/logbuf/logbuf/ring"
)

func init() {
	register(command{name: "replay", args: "[flags] DIR | --nats URL --stream NAME [flags]", summary: "write an archive's or a stream's records to stdout, checked", run: runReplay, doc: `
Reads the segments of an archive made by "logbuf archive" in order and writes
every record to stdout, then checks the order of what it read and reports on
stderr:
  damage      a span of a segment that holds no valid frame (cut short, or
              failing its checksum): the segment, the offset and the bytes
              skipped. Replay goes on at the next valid frame, so only the
              frames in the span are lost (--strict gives up the rest of the
              segment instead).
  gaps        sequence numbers of a ring missing between records: the records
              lost, to damage or to a power loss (see archive --fsync)
  duplicates  records of a ring archived twice
With --ring FILE it also compares the archive with the ring's counters: the
records the ring has released must all be in the archive. (Archived records
the ring has not released yet are reported too, and are normal: an archiver
stopped between writing them and releasing them; the next run skips them.)
Exit status 3 says that replay found damage, a gap, a duplicate, or records
missing against the ring; the records it could read were written all the same.

With --nats, it reads the JetStream stream --stream (the messages on
--subject, if given) from its first message to the last one it held when
replay started, in stream order, and writes their payloads. It checks what
"logbuf ship" wrote: per ring (named by each message's Nats-Msg-Id), the
positions must rise, and the sequence numbers (the Logbuf-Seq header, if the
shipper wrote it with --seq-header) rise by one. A duplicate, a record out of
order or a missing one is reported on stderr with its stream sequence, and
exit status 3 says so.

` + formatHelp})
}

func runReplay(e *env, args []string) int {
	fs := newFlags(e, "replay")
	format := newChoice("raw", formats...)
	fs.Var(format, "format", "output format: raw, len or hex")
	strict := fs.Bool("strict", false, "at a segment's first damage, skip the rest of the segment\ninstead of going on at the next valid frame")
	ringPath := fs.String("ring", "", "compare with this ring file: every record it released must\nbe in the archive")
	var no replayNATSOpts
	no.conn.register(fs)
	fs.StringVar(&no.stream, "stream", "", "with --nats: the stream to read (required)")
	fs.StringVar(&no.subject, "subject", "", "with --nats: read only the messages on this subject (wildcards allowed)")
	pos, st, ok := parse(e, fs, args, -1)
	if !ok {
		return st
	}
	if no.conn.url != "" {
		if *strict || *ringPath != "" {
			return usageError(e, "replay", "--strict and --ring read an archive directory, not a stream (--nats)")
		}
		if len(pos) != 0 {
			return usageError(e, "replay", "--nats reads a stream: no DIR argument (got %q)", pos)
		}
		if no.stream == "" {
			return usageError(e, "replay", "--nats needs --stream NAME")
		}
		if _, err := no.conn.options(); err != nil {
			return usageError(e, "replay", "%v", err)
		}
		no.conn.name, no.format = "logbuf replay", format.value
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		status, err := replayNATS(ctx, e, no)
		if err != nil {
			return fail(e, "replay", err)
		}
		return status
	}
	if len(pos) != 1 {
		return usageError(e, "replay", "want one argument, DIR, or --nats URL --stream NAME; got %d argument(s)", len(pos))
	}
	r, err := archive.OpenReader(pos[0], &archive.ReaderOptions{Strict: *strict})
	if err != nil {
		return fail(e, "replay", err)
	}
	defer r.Close()
	if r.Segments() == 0 {
		fmt.Fprintf(e.stderr, "logbuf replay: no segments in %s\n", pos[0])
	}
	out := newRecordWriter(e.stdout, format.value)
	var (
		chk      archive.Checker
		damaged  int
		unreadOK = true // no segment failed to open or read
	)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		var d *archive.DamageError
		if errors.As(err, &d) {
			damaged++
			fmt.Fprintf(e.stderr, "logbuf replay: damage in segment %s at offset %d, %d bytes skipped: %s (%v)\n",
				filepath.Base(d.Path), d.Offset, d.Skipped, d.Reason, d.Err)
			continue
		}
		if err != nil {
			unreadOK = false
			fmt.Fprintf(e.stderr, "logbuf replay: %v\n", strings.TrimPrefix(err.Error(), "archive: "))
			continue
		}
		out.write(rec.Data)
		chk.AddRecord(rec)
	}
	if err := out.flush(); err != nil {
		return fail(e, "replay", err)
	}
	clean := damaged == 0
	rings := chk.Rings()
	for _, rc := range rings {
		if !reportRing(e, &rc) {
			clean = false
		}
	}
	if *ringPath != "" {
		ok, err := compareRing(e, *ringPath, rings)
		if err != nil {
			return fail(e, "replay", err)
		}
		clean = clean && ok
	}
	verdict := "no damage, no gap, no duplicate"
	if !clean {
		verdict = "NOT CLEAN (see above)"
	}
	fmt.Fprintf(e.stderr, "logbuf replay: %d record(s) from %d segment(s) of %d ring(s), %d damaged span(s): %s\n",
		out.n, r.Segments(), len(rings), damaged, verdict)
	switch {
	case !unreadOK:
		return exitFailure
	case !clean:
		return exitDamaged
	}
	return exitOK
}

// reportRing prints what the archive holds of one ring and what is wrong
// with its order; it returns false when something is.
func reportRing(e *env, rc *archive.RingCheck) bool {
	fmt.Fprintf(e.stderr, "logbuf replay: ring %s: %d record(s), seq %d..%d\n", abi.RingID(rc.RingID), rc.Records, rc.FirstSeq, rc.LastSeq)
	if rc.Missing > 0 {
		fmt.Fprintf(e.stderr, "logbuf replay: ring %s: %d record(s) missing in %d gap(s): seq %s\n",
			abi.RingID(rc.RingID), rc.Missing, len(rc.Gaps), spans(rc.Gaps))
	}
	if rc.Duplicates > 0 {
		fmt.Fprintf(e.stderr, "logbuf replay: ring %s: %d duplicate record(s): seq %s\n",
			abi.RingID(rc.RingID), rc.Duplicates, spans(rc.DuplicateSeqs))
	}
	if rc.Reordered > 0 {
		fmt.Fprintf(e.stderr, "logbuf replay: ring %s: %d record(s) out of order\n", abi.RingID(rc.RingID), rc.Reordered)
	}
	return rc.Missing == 0 && rc.Duplicates == 0 && rc.Reordered == 0
}

// compareRing reports what the ring file at path released that the archive
// lacks (spec/ARCHIVE.md section 6); it returns false when there is some.
func compareRing(e *env, path string, rings []archive.RingCheck) (ok bool, err error) {
	defer guardFaults(&err)()
	f, err := abi.OpenFileReadOnly(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	st := ring.ReadStats(f.Region())
	rc := archive.RingCheck{RingID: st.ID}
	for _, r := range rings {
		if r.RingID == [16]byte(st.ID) {
			rc = r
		}
	}
	missing, lacks, unreleased := rc.Against(st.RecordsRead)
	if lacks {
		fmt.Fprintf(e.stderr, "logbuf replay: ring %s (%s) released %d record(s) the archive lacks: seq %s\n",
			st.ID, path, missing.Len(), spans([]archive.Gap{missing}))
	} else {
		fmt.Fprintf(e.stderr, "logbuf replay: ring %s (%s): the archive holds every record it released (%d)\n", st.ID, path, st.RecordsRead)
	}
	if unreleased > 0 {
		fmt.Fprintf(e.stderr, "logbuf replay: ring %s: %d archived record(s) not released by the ring yet (the next archive run skips them)\n", st.ID, unreleased)
	}
	return !lacks, nil
}

// spans writes runs of sequence numbers, the first few of them.
func spans(gs []archive.Gap) string {
	const show = 8
	var b strings.Builder
	for i, g := range gs {
		if i == show {
			fmt.Fprintf(&b, " and %d more", len(gs)-show)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		if g.From == g.To {
			fmt.Fprintf(&b, "%d", g.From)
		} else {
			fmt.Fprintf(&b, "%d..%d", g.From, g.To)
		}
	}
	return b.String()
}
