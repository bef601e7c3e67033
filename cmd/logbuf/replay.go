package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/logbuf/logbuf/internal/segment"
)

func init() {
	commandDocs["replay"] = `
Reads the segments of an archive made by "logbuf archive" in order and writes
every record to stdout. A segment that is cut short in the middle of a record,
or fails its checksum, is reported on stderr with its name and the offset of
the damaged record; the records before it are written, and replay goes on with
the next segment. Exit status 3 says that damage was found.

With --nats, it reads the JetStream stream --stream (the messages on
--subject, if given) from its first message to the last one it held when
replay started, in stream order, and writes their payloads. It checks what
"logbuf ship" wrote: per ring (named by each message's Nats-Msg-Id), the
positions must rise, and the sequence numbers (the Logbuf-Seq header, if the
shipper wrote it with --seq-header) rise by one. A duplicate, a record out of
order or a missing one is reported on stderr with its stream sequence, and
exit status 3 says so.

` + formatHelp
}

func runReplay(e *env, args []string) int {
	fs := newFlags(e, "replay")
	format := newChoice("raw", formats...)
	fs.Var(format, "format", "output format: raw, len or hex")
	var no replayNATSOpts
	no.conn.register(fs)
	fs.StringVar(&no.stream, "stream", "", "with --nats: the stream to read (required)")
	fs.StringVar(&no.subject, "subject", "", "with --nats: read only the messages on this subject (wildcards allowed)")
	pos, st, ok := parse(e, fs, args, -1)
	if !ok {
		return st
	}
	if no.conn.url != "" {
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
	r, err := segment.Open(pos[0])
	if err != nil {
		return fail(e, "replay", err)
	}
	defer r.Close()
	if r.Segments() == 0 {
		fmt.Fprintf(e.stderr, "logbuf replay: no segments in %s\n", pos[0])
	}
	out := newRecordWriter(e.stdout, format.value)
	damaged := 0
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		var de *segment.DamageError
		if errors.As(err, &de) {
			damaged++
			fmt.Fprintf(e.stderr, "logbuf replay: %v (the records before it were kept)\n", de)
			continue
		}
		if err != nil {
			out.flush()
			return fail(e, "replay", err)
		}
		out.write(rec)
	}
	if err := out.flush(); err != nil {
		return fail(e, "replay", err)
	}
	if damaged > 0 {
		fmt.Fprintf(e.stderr, "logbuf replay: %d record(s) written; %d damaged segment(s)\n", out.n, damaged)
		return exitDamaged
	}
	return exitOK
}
