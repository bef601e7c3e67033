package cbind

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/ring"
)

// The region images of spec/vectors/ (format: spec/vectors/README.md), read
// by the Go consumer here and by the C consumer in TestVectorsC.

const vectorDir = "../spec/vectors"

type vector struct {
	name   string
	image  []byte
	expect [][]string // each "expect" line, split into words after "expect"
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(vectorDir, "*.vec"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no vectors in %s: %v", vectorDir, err)
	}
	var vs []vector
	for _, p := range paths {
		v, err := parseVector(p)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

func parseVector(path string) (vector, error) {
	v := vector{name: strings.TrimSuffix(filepath.Base(path), ".vec")}
	data, err := os.ReadFile(path)
	if err != nil {
		return v, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		bad := func(why string) error { return fmt.Errorf("%s:%d: %s", path, n, why) }
		switch {
		case len(f) == 0:
		case f[0] == "size" && len(f) == 2:
			size, err := strconv.Atoi(f[1])
			if err != nil || size < 0 || size > 1<<20 {
				return v, bad("bad size")
			}
			v.image = alignedBytes(size)
		case f[0] == "expect" && len(f) >= 2:
			v.expect = append(v.expect, f[1:])
		case strings.HasSuffix(f[0], ":"):
			off, err := strconv.ParseUint(strings.TrimSuffix(f[0], ":"), 16, 32)
			if err != nil || v.image == nil {
				return v, bad("bad offset, or bytes before size")
			}
			for _, h := range f[1:] {
				b, err := hex.DecodeString(h)
				if err != nil || len(b) != 1 || off >= uint64(len(v.image)) {
					return v, bad("bad byte " + h)
				}
				v.image[off] = b[0]
				off++
			}
		default:
			return v, bad("unknown line")
		}
	}
	if v.image == nil || len(v.expect) == 0 {
		return v, fmt.Errorf("%s: no size or no expectations", path)
	}
	return v, nil
}

// alignedBytes returns n zero bytes at a 128-byte aligned address, as
// section 2 asks of a region.
func alignedBytes(n int) []byte {
	words := make([]uint64, (n+2*abi.LineSize)/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(words)*8)
	skip := (abi.LineSize - int(uintptr(unsafe.Pointer(unsafe.SliceData(b)))%abi.LineSize)) % abi.LineSize
	return b[skip : skip+n]
}

// TestVectors runs every vector through abi.Open and ring's consumer.
func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			if err := runVector(v); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func runVector(v vector) error {
	r, err := abi.Open(v.image)
	var c *ring.Consumer
	var head0 uint64
	if err == nil {
		head0 = r.Header().Head.Load()
		if c, err = ring.NewConsumer(r); err != nil {
			return err
		}
	}
	for i, e := range v.expect {
		if e[0] == "head" {
			if c == nil {
				return fmt.Errorf("expectation %d: head, but the region did not open", i+1)
			}
			want, _ := strconv.ParseUint(e[1], 10, 64)
			c.Release()
			head := r.Header().Head.Load()
			if head != want {
				return fmt.Errorf("head %d after release, want %d", head, want)
			}
			for p := head0; p != head; p++ {
				if b := r.Data()[p&(r.Capacity()-1)]; b != 0 {
					return fmt.Errorf("released byte at position %d is %#x, not 0", p, b)
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
				return fmt.Errorf("expectation %d: want record %x, got %v", i+1, want, err)
			}
			if !bytes.Equal(rec.Bytes(), want) {
				return fmt.Errorf("expectation %d: record %x, want %x", i+1, rec.Bytes(), want)
			}
		case "empty":
			if err != ring.ErrEmpty {
				return fmt.Errorf("expectation %d: want ErrEmpty, got %v", i+1, err)
			}
		case "corrupt":
			var ce *abi.CorruptError
			if !errors.Is(err, abi.ErrCorrupt) || !errors.As(err, &ce) {
				return fmt.Errorf("expectation %d: want corrupt %s, got %v", i+1, e[1], err)
			}
			where, _ := strconv.ParseUint(e[2], 10, 64)
			if ce.Field != e[1] || ce.Offset != where {
				return fmt.Errorf("expectation %d: %v; want field %s at %d", i+1, err, e[1], where)
			}
			if c != nil { // the consumer survives, and stays stopped
				if _, again := c.TryRead(); !errors.Is(again, abi.ErrCorrupt) {
					return fmt.Errorf("after the corruption TryRead gave %v", again)
				}
			}
		default:
			return fmt.Errorf("unknown expectation %q", e[0])
		}
	}
	return nil
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
