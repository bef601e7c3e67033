package cbind

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logbuf/logbuf/internal/testrig"
)

// The C programs (and the Rust crate's, rust_test.go) are built once per test
// binary, on first use, into a directory TestMain removes.
var (
	buildDir string
	buildMu  sync.Mutex
	built    = map[string]*buildResult{}
	cFlags   = []string{"-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic", "-pthread"}
)

// A build is how a C program is compiled: plainly, or with sanitizers that
// abort it on their first finding.
type build int

const (
	plainBuild build = iota
	asanBuild        // AddressSanitizer and UndefinedBehaviorSanitizer
	tsanBuild        // ThreadSanitizer
)

func (b build) String() string { return [...]string{"plain", "asan", "tsan"}[b] }

// flags are what the build adds to cFlags.
func (b build) flags() []string {
	switch b {
	case asanBuild:
		return []string{"-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"}
	case tsanBuild:
		return []string{"-O1", "-g", "-fsanitize=thread"}
	}
	return nil
}

type buildResult struct {
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	testrig.RunRole() // the Go consumer processes of the kill rig
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(childProducer(spec))
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// cc returns the C compiler, or skips the test when there is none.
func cc(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("skipping: no C compiler (cc) on PATH; the C binding's tests need one (.ci/run installs gcc)")
	}
	return path
}

// testBuildDir returns the directory programs are built in, made on first
// use; TestMain removes it.
func testBuildDir(t *testing.T) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildDir == "" {
		dir, err := os.MkdirTemp("", "logbuf-cbind-")
		if err != nil {
			t.Fatal(err)
		}
		buildDir = dir
	}
	return buildDir
}

// cprog builds tests/NAME.c (or another source under cbind/) once and returns
// the binary. With sanitize, it is built with AddressSanitizer and
// UndefinedBehaviorSanitizer (asanBuild).
func cprog(t *testing.T, src string, sanitize bool) string {
	t.Helper()
	if sanitize {
		return cbuild(t, src, asanBuild)
	}
	return cbuild(t, src, plainBuild)
}

// cbuild builds src once per build kind and returns the binary.
func cbuild(t *testing.T, src string, kind build) string {
	t.Helper()
	compiler := cc(t)
	dir := testBuildDir(t)
	key := fmt.Sprintf("%s/%v", src, kind)
	buildMu.Lock()
	b := built[key]
	if b == nil {
		b = &buildResult{}
		built[key] = b
	}
	buildMu.Unlock()
	b.once.Do(func() {
		name := strings.ReplaceAll(strings.TrimSuffix(src, ".c"), "/", "-")
		if kind != plainBuild {
			name += "-" + kind.String()
		}
		b.path = filepath.Join(dir, name)
		args := append(append(append([]string{}, cFlags...), kind.flags()...), "-I", ".", "-o", b.path, src)
		out, err := exec.Command(compiler, args...).CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("%s %s: %v\n%s", compiler, strings.Join(args, " "), err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// proc is a C (or Go) program running beside the test.
type proc struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
	cancel context.CancelFunc
}

// start runs a program with a deadline; wait collects it.
func start(t *testing.T, timeout time.Duration, path string, args ...string) *proc {
	t.Helper()
	return startEnv(t, timeout, nil, path, args...)
}

// startEnv is start with variables added to the environment.
func startEnv(t *testing.T, timeout time.Duration, env []string, path string, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	p := &proc{cmd: exec.CommandContext(ctx, path, args...), cancel: cancel}
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if p.cmd.ProcessState == nil {
			p.cmd.Wait()
		}
	})
	return p
}

// wait returns the program's exit code (-1 if it was killed) and its output.
func (p *proc) wait() (int, string, string) {
	err := p.cmd.Wait()
	p.cancel()
	code := p.cmd.ProcessState.ExitCode()
	if err != nil && code == 0 {
		code = -1
	}
	return code, p.stdout.String(), p.stderr.String()
}

// mustSucceed waits for p and fails the test unless it exited 0.
func (p *proc) mustSucceed(t *testing.T) string {
	t.Helper()
	code, out, errOut := p.wait()
	if code != 0 {
		t.Fatalf("%s exited %d\nstdout: %s\nstderr: %s", strings.Join(p.cmd.Args, " "), code, out, errOut)
	}
	return out
}
