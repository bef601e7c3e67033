package testrig

import (
	"errors"
	"os"
	"os/exec"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// Child processes of a test are the test binary itself, started again with
// an environment variable that names their role. A package whose tests use
// them calls RunRole from its TestMain before m.Run.

const roleEnv = "LOGBUF_TESTRIG_ROLE"

// roles are the child roles this package knows, by name.
var roles = map[string]func() int{}

// Child returns a command that runs role in a new process of this test
// binary, with env added to its environment and its stderr on the test's.
func Child(role string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), roleEnv+"="+role), env...)
	cmd.Stderr = os.Stderr
	return cmd
}

// RunRole runs this process's role and exits with its status when the
// process was started by Child; it returns at once otherwise.
func RunRole() {
	role := os.Getenv(roleEnv)
	if role == "" {
		return
	}
	fn, ok := roles[role]
	if !ok {
		os.Stderr.WriteString("testrig: unknown role " + role + "\n")
		os.Exit(2)
	}
	os.Exit(fn())
}

var (
	reexecOnce sync.Once
	reexecErr  error
)

// NeedReexec skips the test where the test binary cannot run itself again
// (an emulator that runs only the binary it was given).
func NeedReexec(t testing.TB) {
	t.Helper()
	reexecOnce.Do(func() { reexecErr = exec.Command(os.Args[0], "-test.run=^$").Run() })
	if errors.Is(reexecErr, unix.ENOEXEC) {
		t.Skipf("cannot re-execute the test binary here: %v", reexecErr)
	}
}
