package cbind

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstall installs the header with "cmake --install" into a temporary
// prefix, then builds the example producer from there twice: through
// examples/CMakeLists.txt (find_package(logbuf) and the logbuf::logbuf
// target) and through pkg-config --cflags logbuf, and runs both on a ring.
// The installed version, as both tools report it, is the one in logbuf.h.
func TestInstall(t *testing.T) {
	compiler := cc(t)
	cmake, err := exec.LookPath("cmake")
	if err != nil {
		t.Skip("skipping: no cmake on PATH")
	}
	pkgConfig, err := exec.LookPath("pkg-config")
	if err != nil {
		t.Skip("skipping: no pkg-config on PATH")
	}
	dir := t.TempDir()
	prefix := filepath.Join(dir, "prefix")
	run := func(env []string, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run(nil, cmake, "-S", ".", "-B", filepath.Join(dir, "build"))
	run(nil, cmake, "--install", filepath.Join(dir, "build"), "--prefix", prefix)
	version := libVersion(t)

	// find_package: the example's own CMake project, as a user writes it.
	app := filepath.Join(dir, "app")
	run(nil, cmake, "-S", "examples", "-B", app, "-DCMAKE_PREFIX_PATH="+prefix, "-DCMAKE_C_COMPILER="+compiler)
	run(nil, cmake, "--build", app)
	if cache := run(nil, cmake, "-L", "-N", app); !strings.Contains(cache, "logbuf_DIR:PATH="+filepath.Join(prefix, "share", "cmake", "logbuf")) {
		t.Errorf("find_package did not find the installed package:\n%s", cache)
	}
	checkExample(t, filepath.Join(app, "producer"))

	// pkg-config: the flags and version it gives, and a build with them.
	env := []string{"PKG_CONFIG_PATH=" + filepath.Join(prefix, "share", "pkgconfig")}
	if got := strings.TrimSpace(run(env, pkgConfig, "--modversion", "logbuf")); got != version {
		t.Errorf("pkg-config --modversion logbuf = %q, logbuf.h says %q", got, version)
	}
	cflags := strings.Fields(run(env, pkgConfig, "--cflags", "logbuf"))
	if len(cflags) != 1 || !strings.HasPrefix(cflags[0], "-I") {
		t.Fatalf("pkg-config --cflags logbuf = %q, want one -I", cflags)
	}
	if inc, _ := filepath.EvalSymlinks(strings.TrimPrefix(cflags[0], "-I")); inc != filepath.Join(prefix, "include", "logbuf") {
		t.Errorf("pkg-config's include directory %s is not the installed one", inc)
	}
	bin := filepath.Join(dir, "producer-pc")
	run(nil, compiler, append(append([]string{}, cflags...), "-std=c11", "-O2", "-Wall", "-Werror", "-o", bin, "examples/producer.c")...)
	checkExample(t, bin)
}

// libVersion is LOGBUF_LIB_VERSION_STRING from logbuf.h.
func libVersion(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("logbuf.h")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(src), "#define LOGBUF_LIB_VERSION_STRING \"")
	version, _, ok2 := strings.Cut(rest, "\"")
	if !ok || !ok2 {
		t.Fatal("logbuf.h defines no LOGBUF_LIB_VERSION_STRING")
	}
	return version
}

// checkExample runs an example producer binary on a new ring and checks the
// record it wrote.
func checkExample(t *testing.T, prog string) {
	t.Helper()
	f, path := createRing(t, 1<<12, 0)
	cmd := exec.Command(prog, path)
	cmd.Stdin = strings.NewReader("hello from C\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", prog, err, out)
	}
	if got := string(f.Region().Data()[8:20]); got != "hello from C" {
		t.Fatalf("%s: the ring holds %q", prog, got)
	}
}
