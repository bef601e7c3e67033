// Package testrig holds what the tests of several packages share: the
// spec's test vectors (spec/vectors) with a parser and the Go consumer's
// runner for them. Tests in ring, fuzz, cbind and cmd/logbuf use it instead
// of keeping copies that would drift.
package testrig

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/ring"
)

// Vector is one file of spec/vectors (format: spec/vectors/README.md): a
// region image and the steps a reader must follow on it.
type Vector struct {
	Name  string
	Image []byte // 128-byte aligned, as spec section 2 asks of a region
	Steps []Step
}

// Step is one "expect" or "set" line, in file order.
type Step struct {
	// Set, when not nil, is bytes to write into the region at Offset before
	// the next expectation.
	Set    []byte
	Offset int
	// Expect is an "expect" line split into words after "expect".
	Expect []string
}

// Static reports whether the vector is a plain image with no "set" steps
// and no expectations beyond records, empty, corrupt and head: what a
// reader that only walks a fixed image can check.
func (v Vector) Static() bool {
	for _, s := range v.Steps {
		if s.Set != nil || s.Expect[0] == "read_records" {
			return false
		}
	}
	return true
}

// LoadVectors parses every *.vec file in dir.
func LoadVectors(dir string) ([]Vector, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.vec"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("no vectors in %s: %v", dir, err)
	}
	var vs []Vector
	for _, p := range paths {
		v, err := ParseVector(p)
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, nil
}

// ParseVector reads one vector file.
func ParseVector(path string) (Vector, error) {
	v := Vector{Name: strings.TrimSuffix(filepath.Base(path), ".vec")}
	data, err := os.ReadFile(path)
	if err != nil {
		return v, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	expecting := false
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		bad := func(why string) error { return fmt.Errorf("%s:%d: %s", path, n, why) }
		switch {
		case len(f) == 0:
		case f[0] == "size" && len(f) == 2:
			size, err := strconv.Atoi(f[1])
			if err != nil || size < 0 || size > 1<<20 || v.Image != nil {
				return v, bad("bad or repeated size")
			}
			v.Image = AlignedBytes(size)
		case f[0] == "expect" && len(f) >= 2:
			expecting = true
			v.Steps = append(v.Steps, Step{Expect: f[1:]})
		case f[0] == "set" && len(f) >= 3 || strings.HasSuffix(f[0], ":"):
			set := f[0] == "set"
			if set {
				f = f[1:]
			}
			if set != expecting {
				return v, bad("byte lines come before the expectations, set lines among them")
			}
			off, err := strconv.ParseUint(strings.TrimSuffix(f[0], ":"), 16, 32)
			if err != nil || !strings.HasSuffix(f[0], ":") || v.Image == nil {
				return v, bad("bad offset, or bytes before size")
			}
			b, err := hex.DecodeString(strings.Join(f[1:], ""))
			if err != nil || len(f[1:]) != len(b) || off+uint64(len(b)) > uint64(len(v.Image)) {
				return v, bad("bad bytes")
			}
			if set {
				v.Steps = append(v.Steps, Step{Set: b, Offset: int(off)})
			} else {
				copy(v.Image[off:], b)
			}
		default:
			return v, bad("unknown line")
		}
	}
	if v.Image == nil || !expecting {
		return v, fmt.Errorf("%s: no size or no expectations", path)
	}
	return v, nil
}

// AlignedBytes returns n zero bytes at a 128-byte aligned address.
func AlignedBytes(n int) []byte {
	words := make([]uint64, (n+2*abi.LineSize)/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(words)*8)
	skip := (abi.LineSize - int(uintptr(unsafe.Pointer(unsafe.SliceData(b)))%abi.LineSize)) % abi.LineSize
	return b[skip : skip+n]
}

// RunVector runs a vector through abi.Open and ring's consumer, and says
// where they part from it. It works on a copy of the image.
func RunVector(v Vector) error {
	img := AlignedBytes(len(v.Image))
	copy(img, v.Image)
	r, err := abi.Open(img)
	var c *ring.Consumer
	var head0 uint64
	if err == nil {
		head0 = r.Header().Head.Load()
		c, err = ring.NewConsumer(r) // attaching may finish a release (7.2)
	}
	step := 0
	for _, s := range v.Steps {
		if s.Set != nil {
			copy(img[s.Offset:], s.Set)
			continue
		}
		step++
		e := s.Expect
		fail := func(format string, args ...any) error {
			return fmt.Errorf("expectation %d (%s): %s", step, strings.Join(e, " "), fmt.Sprintf(format, args...))
		}
		switch e[0] {
		case "head", "read_records":
			if c == nil {
				return fail("the region did not open: %v", err)
			}
			want, _ := strconv.ParseUint(e[1], 10, 64)
			if e[0] == "read_records" {
				if got := r.Header().ReadRecords.Load(); got != want {
					return fail("read_records is %d", got)
				}
				continue
			}
			c.Release()
			head := r.Header().Head.Load()
			if head != want {
				return fail("head %d after release", head)
			}
			for p := head0; p != head; p++ {
				if b := r.Data()[p&(r.Capacity()-1)]; b != 0 {
					return fail("released byte at position %d is %#x, not 0", p, b)
				}
			}
			continue
		}
		var rec ring.Record
		if err == nil {
			rec, err = c.TryRead()
		}
		switch e[0] {
		case "record":
			want, _ := hex.DecodeString(e[1])
			if err != nil {
				return fail("got %v", err)
			}
			if !bytes.Equal(rec.Bytes(), want) {
				return fail("record %x", rec.Bytes())
			}
		case "empty":
			if err != ring.ErrEmpty {
				return fail("got %v", err)
			}
			err = nil
		case "corrupt":
			var ce *abi.CorruptError
			if !errors.Is(err, abi.ErrCorrupt) || !errors.As(err, &ce) {
				return fail("got %v", err)
			}
			where, _ := strconv.ParseUint(e[2], 10, 64)
			if ce.Field != e[1] || ce.Offset != where {
				return fail("got %v", err)
			}
			if c != nil { // the consumer survives, and stays stopped
				if _, again := c.TryRead(); !errors.Is(again, abi.ErrCorrupt) {
					return fail("after the corruption TryRead gave %v", again)
				}
			}
		default:
			return fail("unknown expectation")
		}
	}
	return nil
}
