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
	doc     string // the longer description --help shows
}

// commands are the tool's commands by name; each command's file registers
// its own in an init function, so this file names none of them.
var commands = map[string]command{}

// commandOrder is the order of the help's list of commands.
var commandOrder = []string{"bench", "create", "stat", "tail", "archive", "ship", "replay", "demo", "produce"}

func register(c command) { commands[c.name] = c }

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
	if c, ok := commands[name]; ok {
		return c.run(e, args[1:])
	}
	fmt.Fprintf(e.stderr, "logbuf: unknown command %q\n\n", name)
	usage(e.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: logbuf <command> [flags] [args]\n\nCommands:\n")
	for _, name := range commandOrder {
		if c, ok := commands[name]; ok && !c.hidden {
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
	c := commands[name]
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: logbuf %s %s\n\n%s.\n", c.name, c.args, upperFirst(c.summary))
		if c.doc != "" {
			fmt.Fprintf(fs.Output(), "\n%s\n", strings.TrimSpace(c.doc))
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
