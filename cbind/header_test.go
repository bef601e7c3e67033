package cbind

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHeaderCXX compiles logbuf.h as C++17 (with sanitizers) and runs a
// producer and consumer through it, so the std::atomic spelling works, not
// only parses.
func TestHeaderCXX(t *testing.T) {
	cc(t)
	cxx, err := exec.LookPath("c++")
	if err != nil {
		t.Skip("skipping: no C++ compiler (c++) on PATH")
	}
	bin := filepath.Join(t.TempDir(), "cxx")
	args := []string{"-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic", "-fsanitize=address,undefined",
		"-fno-sanitize-recover=all", "-o", bin, "tests/cxx.cc"}
	if out, err := exec.Command(cxx, args...).CombinedOutput(); err != nil {
		t.Fatalf("c++ %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if out, err := exec.Command(bin).CombinedOutput(); err != nil || string(out) != "ok\n" {
		t.Fatalf("%v: %s", err, out)
	}
}

// TestExampleBuilds compiles the example producer with the strict flags and
// writes a line through it.
func TestExampleBuilds(t *testing.T) {
	cc(t)
	prog := cprog(t, "examples/producer.c", false)
	f, path := createRing(t, 1<<12, 0)
	cmd := exec.Command(prog, path)
	cmd.Stdin = strings.NewReader("hello from C\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	chk := f.Region().Data()[8:20]
	if string(chk) != "hello from C" {
		t.Fatalf("ring holds %q", chk)
	}
}

// TestGeneratedHeaderFresh regenerates logbuf_abi.h into a temporary file and
// compares: the committed header must be what abi says. (CI also runs
// "go generate ./... && git diff --exit-code".)
func TestGeneratedHeaderFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: builds the generator")
	}
	out := filepath.Join(t.TempDir(), "logbuf_abi.h")
	cmd := exec.Command("go", "run", "../abi/internal/genc", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot run the generator (%v): %s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("logbuf_abi.h")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("cbind/logbuf_abi.h is stale: run go generate ./cbind")
	}
}
