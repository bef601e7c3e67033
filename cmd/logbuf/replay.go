package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/logbuf/logbuf/internal/segment"
)

func init() {
	commandDocs["replay"] = `
Reads the segments of an archive made by "logbuf archive" in order and writes
every record to stdout. A segment that is cut short in the middle of a record,
or fails its checksum, is reported on stderr with its name and the offset of
the damaged record; the records before it are written, and replay goes on with
the next segment. Exit status 3 says that damage was found.

` + formatHelp
}

func runReplay(e *env, args []string) int {
	fs := newFlags(e, "replay")
	format := newChoice("raw", formats...)
	fs.Var(format, "format", "output format: raw, len or hex")
	pos, st, ok := parse(e, fs, args, 1)
	if !ok {
		return st
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
