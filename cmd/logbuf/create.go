package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/logbuf/logbuf/abi"
)

func init() {
	register(command{name: "create", args: "--capacity N --mode spsc|mpsc [--force] FILE", summary: "create a ring file", run: runCreate, doc: `
Creates a ring file: a 4096-byte header and a data area of --capacity bytes
(rounded up to a power of two, 64 B to 2 GiB), all zero, mapped by every
process that produces into it or consumes from it. Put it under /dev/shm to
keep it in memory. The largest record is capacity/8. The file gets --perm
exactly, whatever the umask. --force replaces an existing ring file (never a
directory, device, FIFO, socket or symbolic link).`})
}

func runCreate(e *env, args []string) int {
	flags := newFlags(e, "create")
	capacity := byteSize(1 << 20)
	flags.Var(&capacity, "capacity", "data area size in bytes, rounded up to a power of two\n(64B..2GiB)")
	mode := newChoice("", "spsc", "mpsc")
	flags.Var(mode, "mode", "spsc (one producer) or mpsc (any number of producers);\nrequired")
	force := flags.Bool("force", false, "replace an existing regular file (processes that map it\nkeep the old ring)")
	perm := flags.String("perm", "0600", "file permission bits, octal")
	pos, st, ok := parse(e, flags, args, 1)
	if !ok {
		return st
	}
	if mode.value == "" {
		return usageError(e, "create", "--mode spsc|mpsc is required")
	}
	p, ok := parsePerm(*perm)
	if !ok {
		return usageError(e, "create", "--perm %q is not octal permission bits such as 0600", *perm)
	}
	c, err := abi.RoundCapacity(uint64(capacity))
	if err != nil || capacity <= 0 {
		return usageError(e, "create", "--capacity %d: want %d bytes to %s", capacity, abi.MinCapacity, formatBytes(abi.MaxCapacity))
	}
	m := abi.SPSC
	if mode.value == "mpsc" {
		m = abi.MPSC
	}
	path := pos[0]
	f, err := abi.Create(path, c, m, &abi.CreateOptions{Perm: p, Overwrite: *force})
	if errors.Is(err, fs.ErrExist) {
		return fail(e, "create", fmt.Errorf("%s exists (--force replaces it)", path))
	}
	if err != nil {
		return fail(e, "create", err)
	}
	defer f.Close()
	note := ""
	if c != uint64(capacity) {
		note = fmt.Sprintf(" (rounded up from %d)", capacity)
	}
	fmt.Fprintf(e.stdout, "created %s: %s ring, capacity %d bytes%s, largest record %d bytes\n",
		path, m, c, note, abi.MaxPayload(c))
	return exitOK
}
