package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/logbuf/logbuf/abi"
)

func init() {
	register(command{name: "stat", args: "[--watch] [--json] FILE", summary: "show a ring file's positions, producers and counters", run: runStat, doc: `
Shows a ring file's capacity, mode, head, tail and fill level, the record
header word the consumer waits on, the consumer and each producer with its
liveness (by pid and start time, spec section 8), and the counters. It maps
the file read-only and writes nothing, so it never disturbs the ring, and
read permission is enough (another user's ring of mode 0444, say). With
--watch it refreshes every --interval until SIGINT, adding read and write
rates; with --json it writes one JSON object per refresh.`})
}

func runStat(e *env, args []string) (status int) {
	fs := newFlags(e, "stat")
	watch := fs.Bool("watch", false, "refresh every --interval until interrupted")
	interval := fs.Duration("interval", time.Second, "refresh period with --watch")
	count := fs.Int("count", 0, "with --watch, stop after this many reports (0: until\ninterrupted)")
	asJSON := fs.Bool("json", false, "write JSON (one object per line with --watch)")
	pos, st, ok := parse(e, fs, args, 1)
	if !ok {
		return st
	}
	if *interval <= 0 {
		return usageError(e, "stat", "--interval must be positive")
	}
	if *count < 0 {
		return usageError(e, "stat", "--count must not be negative")
	}
	var err error
	defer func() {
		if err != nil {
			status = fail(e, "stat", err)
		}
	}()
	defer guardFaults(&err)()
	f, err := abi.OpenFileReadOnly(pos[0])
	if err != nil {
		return exitFailure
	}
	defer f.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tty := isTerminal(e.stdout)
	var prev *snapshot
	var prevAt time.Time
	for n := 1; ; n++ {
		s := takeSnapshot(pos[0], f.Region())
		at := time.Now()
		if *asJSON {
			err = json.NewEncoder(e.stdout).Encode(s) // one line per object
		} else {
			if *watch && tty {
				fmt.Fprint(e.stdout, "\x1b[H\x1b[2J") // home, clear screen
			} else if n > 1 {
				fmt.Fprintln(e.stdout)
			}
			err = writeSnapshot(e.stdout, &s, prev, at.Sub(prevAt), *watch)
		}
		if err != nil || !*watch || (*count > 0 && n >= *count) {
			return exitOK
		}
		prev, prevAt = &s, at
		select {
		case <-ctx.Done():
			return exitOK
		case <-time.After(*interval):
		}
	}
}

func writeSnapshot(w io.Writer, s *snapshot, prev *snapshot, dt time.Duration, watch bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	if watch {
		p("time", "%s", time.Now().Format("15:04:05.000"))
	}
	p("ring", "%s", s.Path)
	p("mode", "%s", s.Mode)
	p("capacity", "%d bytes (largest record %d bytes)", s.Capacity, s.MaxPayload)
	p("head", "%d", s.Head)
	p("tail", "%d", s.Tail)
	if s.Inconsistent {
		p("fill", "INCONSISTENT: tail - head = %d is not within capacity (or head not 8-aligned)", s.Tail-s.Head)
	} else {
		p("fill", "%d of %d bytes (%.1f%%), %d free", s.Used, s.Capacity, s.FillPercent, s.Free)
		at := s.AtHead.Kind
		switch s.AtHead.Kind {
		case "invalid":
			at = fmt.Sprintf("INVALID word %#016x: %s", s.AtHead.Word, s.AtHead.Problem)
		case "EMPTY":
			if s.Used == 0 {
				at += " (ring empty)"
			} else {
				at += " (reserved by a producer, not yet stamped)"
			}
		case "CLAIMED":
			at += fmt.Sprintf(", %d bytes, by producer slot %d (the consumer waits for its commit)", s.AtHead.Len, s.AtHead.Owner)
		default:
			at += fmt.Sprintf(", %d bytes", s.AtHead.Len)
		}
		p("at head", "%s", at)
	}
	c := s.Consumer
	cons := strings.ToLower(c.State)
	if c.State != "FREE" {
		cons += fmt.Sprintf(", pid %d", c.PID)
	}
	if c.State == "ATTACHED" {
		cons += ", " + aliveWord(c.Alive)
		if c.Parked {
			cons += ", parked"
		} else {
			cons += ", not parked"
		}
	}
	if c.HeartbeatAgeMs >= 0 {
		cons += fmt.Sprintf(", heartbeat %s ago", time.Duration(c.HeartbeatAgeMs)*time.Millisecond)
	}
	p("consumer", "%s", cons)
	p("producers", "%d attached, %d table entries used", s.Attached, len(s.Producers))
	for _, pr := range s.Producers {
		line := fmt.Sprintf("pid %d, %s", pr.PID, strings.ToLower(pr.State))
		if pr.State == "ATTACHED" {
			line += ", " + aliveWord(pr.Alive)
		}
		line += fmt.Sprintf(", %d records, %d bytes", pr.Records, pr.Bytes)
		if pr.Dropped+pr.Refused > 0 {
			line += fmt.Sprintf(", %d dropped, %d refused", pr.Dropped, pr.Refused)
		}
		if pr.HeartbeatAgeMs >= 0 {
			line += fmt.Sprintf(", heartbeat %s ago", time.Duration(pr.HeartbeatAgeMs)*time.Millisecond)
		}
		p(fmt.Sprintf("  slot %d", pr.Slot), "%s", line)
	}
	k := s.Counters
	p("written", "%d records, %d bytes (published by producers in batches: may lag)", k.RecordsWritten, k.BytesWritten)
	p("read", "%d records, %d bytes", k.RecordsRead, k.BytesRead)
	p("lag", "%d records, %d bytes written, not yet released by the consumer (logbuf ship: not yet acknowledged by JetStream)", s.Lag.Records, s.Lag.Bytes)
	p("full events", "%d", k.FullEvents)
	p("aborts", "%d", k.Aborts)
	p("unblocks", "%d", k.Unblocks)
	if k.Dropped+k.Refused > 0 {
		p("writers", "%d records dropped (ring full), %d refused (too large)", k.Dropped, k.Refused)
	}
	if prev != nil && dt > 0 {
		sec := dt.Seconds()
		p("rates", "read %.0f records/s, %.2f MB/s; written %.0f records/s",
			float64(k.RecordsRead-prev.Counters.RecordsRead)/sec,
			float64(k.BytesRead-prev.Counters.BytesRead)/sec/1e6,
			float64(k.RecordsWritten-prev.Counters.RecordsWritten)/sec)
	}
	return tw.Flush()
}

// aliveWord says what the ring decided about a holder's process.
func aliveWord(alive bool) string {
	if alive {
		return "alive"
	}
	return "gone"
}
