package cbind

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logbuf/logbuf/internal/testrig"
)

// The region images of spec/vectors/ (format: spec/vectors/README.md), read
// by the Go consumer here and by the C consumer in TestVectorsC.

const vectorDir = "../spec/vectors"

// TestVectors runs every vector through abi.Open and ring's consumer.
func TestVectors(t *testing.T) {
	vs, err := testrig.LoadVectors(vectorDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			if err := testrig.RunVector(v); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestVectorsC runs every vector through the C consumer, built with the
// sanitizers.
func TestVectorsC(t *testing.T) {
	prog := cprog(t, "tests/vectors.c", true)
	paths, _ := filepath.Glob(filepath.Join(vectorDir, "*.vec"))
	out, err := exec.Command(prog, paths...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if n := strings.Count(string(out), "ok "); n != len(paths) {
		t.Fatalf("%d of %d vectors passed:\n%s", n, len(paths), out)
	}
}
