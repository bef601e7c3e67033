// Package logbuftool builds the logbuf command of the library module this
// module replaces, for the programs and tests here that run it in a process
// of its own.
package logbuftool

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// Build builds ./cmd/logbuf of the library module into dir and returns the
// binary's path.
func Build(dir string) (string, error) {
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/logbuf/logbuf").Output()
	if err != nil {
		return "", fmt.Errorf("finding the library module: %w", err)
	}
	bin := filepath.Join(dir, "logbuf")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/logbuf")
	cmd.Dir = strings.TrimSpace(string(root))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/logbuf: %w\n%s", err, out)
	}
	return bin, nil
}
