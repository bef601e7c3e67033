package logio_test

import (
	"fmt"
	"log"
	"log/slog"
	"os"
	"sync/atomic"

	"github.com/logbuf/logbuf/logio"
	"github.com/logbuf/logbuf/ring"
)

// slog's JSON handler over an Async writer: the handler encodes, the Async
// takes the line into its ring and returns, and a goroutine writes it to
// the destination. Close waits until every line is there.
func ExampleNewAsync_slog() {
	w, err := logio.NewAsync(os.Stdout, logio.AsyncOptions{})
	if err != nil {
		panic(err)
	}
	logger := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // no time: the output must not change from run to run
			}
			return a
		},
	}))
	logger.Info("request", "method", "GET", "path", "/items", "status", 200)
	logger.Warn("slow", "took_ms", 1500)
	if err := w.Close(); err != nil {
		panic(err)
	}
	// Output:
	// {"level":"INFO","msg":"request","method":"GET","path":"/items","status":200}
	// {"level":"WARN","msg":"slow","took_ms":1500}
}

// The standard log package over an Async writer.
func ExampleNewAsync_log() {
	w, err := logio.NewAsync(os.Stdout, logio.AsyncOptions{})
	if err != nil {
		panic(err)
	}
	logger := log.New(w, "svc: ", 0)
	logger.Printf("listening on %s", ":8080")
	logger.Print("ready")
	w.Close()
	// Output:
	// svc: listening on :8080
	// svc: ready
}

// Drop when full, and say so: OnDrop is told how many records were dropped,
// off the logging goroutine; Counts has every Write.
func ExampleNewAsync_drops() {
	held := make(chan struct{})
	var told atomic.Uint64
	w, err := logio.NewAsync(gate{held}, logio.AsyncOptions{
		Size:    4096, // 36 records of 100 bytes
		Options: logio.Options{OnDrop: func(n uint64) { told.Add(n) }},
	})
	if err != nil {
		panic(err)
	}
	line := make([]byte, 100)
	for range 100 {
		w.Write(line) // the destination holds everything: the ring fills
	}
	close(held)
	w.Close()
	fmt.Printf("%+v, OnDrop told of %d\n", w.Counts(), told.Load())
	// Output: {Counts:{Written:36 Dropped:64 Refused:0} Delivered:36}, OnDrop told of 64
}

// gate is a destination that takes nothing until its channel is closed.
type gate struct{ open chan struct{} }

func (g gate) Write(p []byte) (int, error) {
	<-g.open
	return len(p), nil
}

// A Writer over a producer of your own: here a heap ring read in the same
// goroutine. Any logger that takes an io.Writer can write to it.
func ExampleNewWriter() {
	p, c, err := ring.NewSPSC(4096)
	if err != nil {
		panic(err)
	}
	w := logio.NewWriter(p, logio.Options{})
	log.New(w, "", 0).Print("hello")
	r, _ := c.TryRead()
	fmt.Printf("%q\n", r.Bytes())
	// Output: "hello\n"
}
