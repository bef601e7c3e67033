// Command service is a stand-in for a Go service whose log lines go to a
// ring file in /dev/shm, drained by another process:
//
//	logbuf create --capacity 4M --mode mpsc /dev/shm/service.ring
//	logbuf archive --follow --out /var/log/service /dev/shm/service.ring &
//	service --ring /dev/shm/service.ring
//
// Its workers log with slog's JSON handler through a logio.Writer, never
// waiting for the archiver (unless --wait says how long they may): when
// the ring is full, records are dropped and counted, and the count shows in
// "logbuf stat" and in the last line the service prints.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/logbuf/logbuf/logio"
)

func main() {
	path := flag.String("ring", "/dev/shm/service.ring", "ring file (created, MPSC, when missing)")
	workers := flag.Int("workers", 8, "goroutines logging at once")
	events := flag.Int("events", 10000, "events each worker logs")
	wait := flag.Duration("wait", 0, "how long a log call may wait for space in a full ring before the record is dropped")
	flag.Parse()
	if err := run(*path, *workers, *events, *wait); err != nil {
		fmt.Fprintln(os.Stderr, "service:", err)
		os.Exit(1)
	}
}

func run(path string, workers, events int, wait time.Duration) error {
	w, err := logio.OpenFile(path, logio.FileOptions{
		Capacity: 4 << 20,
		Options: logio.Options{Wait: wait, OnDrop: func(n uint64) {
			fmt.Fprintf(os.Stderr, "service: %d log records dropped: the ring is full\n", n)
		}},
	})
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(w, nil))
	var wg sync.WaitGroup
	for id := range workers {
		wg.Go(func() {
			log := logger.With("worker", id)
			for seq := range events {
				log.Info("request", "seq", seq, "method", "GET", "path", "/items", "status", 200)
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		return err
	}
	c := w.Counts()
	fmt.Fprintf(os.Stderr, "service: %d written, %d dropped, %d refused\n", c.Written, c.Dropped, c.Refused)
	return nil
}
