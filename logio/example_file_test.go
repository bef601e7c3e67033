//go:build linux

package logio_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/logio"
	"github.com/logbuf/logbuf/ring"
)

// A Writer over a ring file: another process drains it ("logbuf archive",
// "logbuf tail"); "logbuf stat" shows what was written, dropped and
// refused. Here nobody drains, and the example reads the ring back.
func ExampleOpenFile() {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("logio-example-%d.ring", os.Getpid()))
	defer os.Remove(path)
	w, err := logio.OpenFile(path, logio.FileOptions{Capacity: 64 << 10})
	if err != nil {
		panic(err)
	}
	logger := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	logger.Info("started", "pid", "1234")
	_, err = w.Write(make([]byte, w.MaxPayload()+1))
	fmt.Println("too large:", err != nil)
	w.Close()
	fmt.Printf("%+v\n", w.Counts())

	// What a consumer in another process would read.
	f, err := abi.OpenFile(path)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	c, err := ring.NewConsumer(f.Region())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	r, err := c.TryRead()
	fmt.Printf("%q %v\n", r.Bytes(), err)
	// Output:
	// too large: true
	// {Written:1 Dropped:0 Refused:1}
	// "level=INFO msg=started pid=1234\n" <nil>
}
