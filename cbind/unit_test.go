package cbind

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCUnit runs every test of tests/unit.c (logbuf.h in one process, on
// regions between guard pages) as a subtest, built with AddressSanitizer and
// UndefinedBehaviorSanitizer, and again with ThreadSanitizer: the tests with
// threads (faults_per_producer_threads, close_wakes_consumer_wait,
// claim_timeout) are there for it.
func TestCUnit(t *testing.T) {
	for _, kind := range []build{asanBuild, tsanBuild} {
		prog := cbuild(t, "tests/unit.c", kind)
		out, err := exec.Command(prog, "-list").Output()
		names := strings.Fields(string(out))
		if err != nil || len(names) == 0 {
			t.Fatalf("%s -list: %v (%q)", prog, err, out)
		}
		for _, name := range names {
			t.Run(kind.String()+"/"+name, func(t *testing.T) {
				if out := start(t, procTimeout, prog, name).mustSucceed(t); out != "ok "+name+"\n" {
					t.Fatalf("%s said %q", name, out)
				}
			})
		}
	}
}
