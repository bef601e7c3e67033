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
	checkExample(t, cprog(t, "examples/producer.c", false))
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

// acceptedWarnings reads the warnings logbuf.h says it accepts under clang's
// -Weverything, per language ("c" or "c++"), from the lines between its
// warnings-accepted markers: " * LANG -Wno-NAME  reason".
func acceptedWarnings(t *testing.T) map[string][]string {
	t.Helper()
	src, err := os.ReadFile("logbuf.h")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok1 := strings.Cut(string(src), "warnings-accepted:begin\n")
	block, _, ok2 := strings.Cut(rest, " * warnings-accepted:end")
	if !ok1 || !ok2 {
		t.Fatal("logbuf.h has no warnings-accepted block")
	}
	accepted := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "*"))
		if len(f) < 3 || (f[0] != "c" && f[0] != "c++") || !strings.HasPrefix(f[1], "-Wno-") {
			t.Fatalf("logbuf.h: bad warnings-accepted line %q: want \"LANG -Wno-NAME reason\"", line)
		}
		accepted[f[0]] = append(accepted[f[0]], f[1])
	}
	return accepted
}

// TestHeaderWarnings compiles logbuf.h with clang's -Weverything -Werror, as
// C11 (a file that includes it) and as C++17 (tests/cxx.cc, which uses
// every part of it), turning off only the warnings the header documents it
// accepts; and checks that each of those is still needed, so the list does
// not outlive its reasons.
func TestHeaderWarnings(t *testing.T) {
	accepted := acceptedWarnings(t)
	dir := t.TempDir()
	tu := filepath.Join(dir, "include.c")
	if err := os.WriteFile(tu, []byte("#include \"logbuf.h\"\nint main(void) { return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []struct{ name, compiler, std, src string }{
		{"c", "clang", "-std=c11", tu},
		{"c++", "clang++", "-std=c++17", "tests/cxx.cc"},
	} {
		t.Run(lang.name, func(t *testing.T) {
			compiler, err := exec.LookPath(lang.compiler)
			if err != nil {
				t.Skipf("skipping: no %s on PATH", lang.compiler)
			}
			compile := func(off []string) (string, error) {
				args := append([]string{lang.std, "-Weverything", "-Werror", "-fsyntax-only", "-I", cwd}, off...)
				out, err := exec.Command(compiler, append(args, lang.src)...).CombinedOutput()
				return string(out), err
			}
			if out, err := compile(accepted[lang.name]); err != nil {
				t.Fatalf("%s -Weverything with %v off: %v\n%s", lang.compiler, accepted[lang.name], err, out)
			}
			for i, flag := range accepted[lang.name] {
				others := append(append([]string{}, accepted[lang.name][:i]...), accepted[lang.name][i+1:]...)
				if _, err := compile(others); err == nil {
					t.Errorf("logbuf.h accepts %s, but compiles without it: drop it from the list", flag)
				}
			}
		})
	}
}
