//go:build logbuf_faults

package main

// The tool's fault-injection build, for its tests (go build -tags
// logbuf_faults): LOGBUF_FAULTS makes the archive's segment files fail or
// stall inside a real archiver process, through internal/fault. A normal
// build has none of this.
//
// LOGBUF_FAULTS is a comma-separated list of
//
//	write=N:stall   the write that takes this process's segment writes past
//	                N bytes writes up to N, says so on stderr ("logbuf:
//	                fault: stalled ...") and never returns: kill it there
//	write=N:enospc  that write writes up to N and fails with ENOSPC
//	write=N:eio     likewise with EIO
//	sync=K:eio      the K-th fsync of a segment (1 = the first) fails with
//	                EIO without syncing

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/logbuf/logbuf/internal/fault"
)

func init() {
	spec := os.Getenv("LOGBUF_FAULTS")
	if spec == "" {
		return
	}
	in, err := parseFaults(spec)
	if err != nil {
		fmt.Fprintf(os.Stderr, "logbuf: LOGBUF_FAULTS=%q: %v\n", spec, err)
		os.Exit(exitUsage)
	}
	fault.Wrap = in.wrap
}

// injector holds the faults still to come; one per kind, each fires once.
type injector struct {
	mu      sync.Mutex
	written int64 // bytes written to segments so far
	writeAt int64 // the write passing this many bytes fails; <0: none
	writeDo string
	syncs   int // fsyncs so far
	syncAt  int // the syncAt-th fails; 0: none
}

func parseFaults(spec string) (*injector, error) {
	in := &injector{writeAt: -1}
	for _, f := range strings.Split(spec, ",") {
		what, action, ok := strings.Cut(strings.TrimSpace(f), ":")
		op, arg, ok2 := strings.Cut(what, "=")
		n, err := strconv.ParseInt(arg, 10, 64)
		switch {
		case !ok || !ok2 || err != nil || n < 0:
			return nil, fmt.Errorf("%q: want write=N:stall|enospc|eio or sync=K:eio", f)
		case op == "write" && (action == "stall" || action == "enospc" || action == "eio"):
			in.writeAt, in.writeDo = n, action
		case op == "sync" && action == "eio" && n > 0:
			in.syncAt = int(n)
		default:
			return nil, fmt.Errorf("%q: want write=N:stall|enospc|eio or sync=K:eio (K > 0)", f)
		}
	}
	return in, nil
}

func (in *injector) wrap(path string, f fault.File) fault.File {
	return &faultyFile{File: f, in: in, path: path}
}

// faultyFile is a segment file that fails or stalls when its injector says.
type faultyFile struct {
	fault.File
	in   *injector
	path string
}

func (f *faultyFile) Write(p []byte) (int, error) {
	in := f.in
	in.mu.Lock()
	if in.writeAt < 0 || in.written+int64(len(p)) <= in.writeAt {
		in.written += int64(len(p))
		in.mu.Unlock()
		return f.File.Write(p)
	}
	part := p[:in.writeAt-in.written]
	do := in.writeDo
	in.writeAt = -1
	in.written += int64(len(part))
	in.mu.Unlock()
	n, err := f.File.Write(part)
	if err != nil {
		return n, err
	}
	switch do {
	case "enospc":
		return n, syscall.ENOSPC
	case "eio":
		return n, syscall.EIO
	}
	fmt.Fprintf(os.Stderr, "logbuf: fault: stalled in a write to %s after %d of %d bytes\n", f.path, n, len(p))
	for {
		time.Sleep(time.Hour)
	}
}

func (f *faultyFile) Sync() error {
	in := f.in
	in.mu.Lock()
	in.syncs++
	fail := in.syncs == in.syncAt
	in.mu.Unlock()
	if fail {
		return syscall.EIO
	}
	return f.File.Sync()
}
