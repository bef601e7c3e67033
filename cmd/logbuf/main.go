// Command logbuf works with logbuf rings from the shell: it measures the
// library against the Rust original's workloads and Go channels (bench),
// makes and inspects ring files (create, stat), writes test records into
// them (produce), and drains them to stdout (tail), to an archive of
// checksummed segments (archive, spec/ARCHIVE.md) or to a NATS JetStream
// stream (ship), which it reads back and checks (replay).
//
// Usage:
//
//	logbuf <command> [flags] [args]
//
// Run "logbuf help" for the commands and "logbuf <command> --help" for each
// one's flags.
//
// Exit status:
//
//	0  success, and the normal ends of tail and archive: every producer
//	   gone and the ring drained, --count records, SIGINT or SIGTERM
//	1  failure: an error, printed on stderr (a ring file that cannot be
//	   opened, a corrupt record, a full disk...)
//	2  bad usage: an unknown command or flag, a bad flag value
//	3  replay found the archive (or the stream) not clean: damage, a gap,
//	   a duplicate, or records the ring released missing (--ring); the
//	   records it could read were written all the same
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	exitDamaged = 3
)

// env is what a command runs with: its streams, so tests and the demo can
// run commands in process.
type env struct {
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	name    string
	args    string // synopsis after the name
	summary string
	run     func(e *env, args []string) int
	hidden  bool
}

var commands []command

func init() {
	commands = []command{
		{"bench", "[flags]", "measure rings against the Rust original's workloads and Go channels", runBench, false},
		{"create", "--capacity N --mode spsc|mpsc [--force] FILE", "create a ring file", runCreate, false},
		{"stat", "[--watch] [--json] FILE", "show a ring file's positions, producers and counters", runStat, false},
		{"tail", "[--format raw|len|hex] FILE", "drain a ring file to stdout", runTail, false},
		{"archive", "--out DIR [flags] FILE", "drain a ring file into rolling, checksummed segment files", runArchive, false},
		{"ship", "--nats URL --stream NAME --subject SUBJ [flags] FILE", "drain a ring file into a NATS JetStream stream, each record once", runShip, false},
		{"replay", "[flags] DIR | --nats URL --stream NAME [flags]", "write an archive's or a stream's records to stdout, checked", runReplay, false},
		{"demo", "[flags]", "create a ring, run producer processes into it and archive it", runDemo, false},
		{"produce", "[--count N] [--id N] FILE", "write test records into a ring file, as one producer", runProduce, false},
	}
}

func main() {
	os.Exit(run(&env{stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:]))
}

// run dispatches to a command and returns the exit status.
func run(e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return run(e, []string{args[1], "--help"})
		}
		usage(e.stdout)
		return exitOK
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "logbuf: unknown command %q\n\n", name)
	usage(e.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: logbuf <command> [flags] [args]\n\nCommands:\n")
	for _, c := range commands {
		if !c.hidden {
			fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
		}
	}
	fmt.Fprintf(w, "\nRun \"logbuf <command> --help\" for a command's flags.\n"+
		"Exit status: 0 success, 1 failure, 2 bad usage, 3 replay found damage, a gap\n"+
		"or a duplicate.\n")
}

// newFlags makes a command's flag set; its usage names the command and what
// it does, then lists the flags.
func newFlags(e *env, name string) *flag.FlagSet {
	var c command
	for _, c = range commands {
		if c.name == name {
			break
		}
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: logbuf %s %s\n\n%s.\n", c.name, c.args, upperFirst(c.summary))
		if doc := commandDocs[name]; doc != "" {
			fmt.Fprintf(fs.Output(), "\n%s\n", strings.TrimSpace(doc))
		}
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintf(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// commandDocs is each command's longer description, shown by --help.
var commandDocs = map[string]string{}

// parse parses args with flags and positional arguments in any order
// ("archive FILE --out DIR" as well as "archive --out DIR FILE"); "--" ends
// the flags. It returns the positional arguments, or a status to exit with:
// exitOK for --help (usage printed to stdout), exitUsage for a bad flag.
// npos < 0 accepts any number of positional arguments (the caller checks).
func parse(e *env, fs *flag.FlagSet, args []string, npos int) ([]string, int, bool) {
	var pos []string
	usage := fs.Usage
	fs.Usage = func() {} // printed below, to stdout for --help
	defer func() { fs.Usage = usage }()
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(e.stdout)
			usage()
			return nil, exitOK, false
		}
		if err != nil {
			usage() // after the flag package's line saying what was wrong
			return nil, exitUsage, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if npos >= 0 && len(pos) != npos {
		want := "no arguments"
		switch npos {
		case 1:
			want = "one argument"
		case 2:
			want = "two arguments"
		}
		fmt.Fprintf(e.stderr, "logbuf %s: want %s, got %d", fs.Name(), want, len(pos))
		if len(pos) > 0 {
			fmt.Fprintf(e.stderr, " (%s)", strings.Join(pos, " "))
		}
		fmt.Fprintf(e.stderr, "\nRun \"logbuf %s --help\" for usage.\n", fs.Name())
		return nil, exitUsage, false
	}
	return pos, 0, true
}

// usageError reports a bad flag value and returns exitUsage.
func usageError(e *env, cmd, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "logbuf %s: %s\nRun \"logbuf %s --help\" for usage.\n", cmd, fmt.Sprintf(format, args...), cmd)
	return exitUsage
}

// fail reports an error and returns exitFailure.
func fail(e *env, cmd string, err error) int {
	// The library's errors start with "logbuf: " too; once is enough.
	msg := strings.ReplaceAll(strings.TrimPrefix(err.Error(), "logbuf: "), ": logbuf: ", ": ")
	fmt.Fprintf(e.stderr, "logbuf %s: %s\n", cmd, msg)
	return exitFailure
}

// guardFaults turns a fault on mapped memory (a ring file truncated by
// another process while this one maps it: SIGBUS) into an error instead of
// a crash, for the goroutine that calls it. Use as
//
//	defer guardFaults(&err)()
func guardFaults(err *error) func() {
	old := debug.SetPanicOnFault(true)
	return func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			if re, ok := r.(interface{ Addr() uintptr }); ok {
				*err = fmt.Errorf("memory fault at %#x reading the ring file: was it truncated while mapped?", re.Addr())
				return
			}
			panic(r)
		}
	}
}
