package archive_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/logbuf/logbuf/archive"
	"github.com/logbuf/logbuf/drain"
)

var ring = [16]byte{0: 0x52, 15: 0x01} // the ring_id from the ring's header

// A drainer hands batches of a ring's records to a Writer (a drain.Sink)
// and releases them from the ring when Write returns nil. Opened again, the
// Writer says how far the archive goes, so nothing is archived twice.
func ExampleWriter() {
	dir, err := os.MkdirTemp("", "archive")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	w, err := archive.OpenWriter(dir, &archive.WriterOptions{Sync: archive.SyncSegment})
	if err != nil {
		log.Fatal(err)
	}
	batch := &drain.Batch{RingID: ring, Records: []drain.Record{
		{Data: []byte("GET /index.html 200"), Pos: 0, Seq: 0},
		{Data: []byte("GET /missing 404"), Pos: 32, Seq: 1},
	}}
	if err := w.Write(context.Background(), batch); err != nil {
		log.Fatal(err) // the drainer keeps the batch in the ring
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	w, err = archive.OpenWriter(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	for _, r := range w.Repairs() {
		fmt.Println(r) // a torn frame cut after a crash
	}
	pos, ok, err := w.Resume(ring)
	fmt.Println("archive holds the ring up to position", pos, ok, err)
	// Output:
	// archive holds the ring up to position 32 true <nil>
}

// Replaying an archive: records come in order with their ring, position and
// sequence number; damage is reported and the reader goes on past it.
func ExampleReader() {
	dir, err := os.MkdirTemp("", "archive")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	w, err := archive.OpenWriter(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	err = w.Write(context.Background(), &drain.Batch{RingID: ring, Records: []drain.Record{
		{Data: []byte("first"), Pos: 4096, Seq: 100},
		{Data: []byte("second"), Pos: 4112, Seq: 101},
	}})
	if err != nil {
		log.Fatal(err)
	}
	w.Close()

	r, err := archive.OpenReader(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		var d *archive.DamageError
		if errors.As(err, &d) {
			fmt.Println("damaged:", d) // records after it still come
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("ring %x.. seq %d pos %d: %s\n", rec.RingID[:1], rec.Seq, rec.Pos, rec.Data)
	}
	// Output:
	// ring 52.. seq 100 pos 4096: first
	// ring 52.. seq 101 pos 4112: second
}

// Check reads a whole archive and reports, per ring, the records missing
// and duplicated; Against compares with the ring's read_records counter.
func ExampleCheck() {
	dir, err := os.MkdirTemp("", "archive")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	w, err := archive.OpenWriter(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, seq := range []uint64{0, 1, 2, 5, 6} { // 3 and 4 never reached the archive
		err := w.Write(context.Background(), &drain.Batch{RingID: ring, Records: []drain.Record{
			{Data: []byte("x"), Pos: seq * 16, Seq: seq},
		}})
		if err != nil {
			log.Fatal(err)
		}
	}
	w.Close()

	rep, err := archive.Check(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, g := range rep.Rings {
		fmt.Printf("%d records, seq %d..%d, missing %v, %d duplicates\n", g.Records, g.FirstSeq, g.LastSeq, g.Gaps, g.Duplicates)
		missing, ok, _ := g.Against(9) // the ring's read_records
		fmt.Println("released by the ring but not archived:", missing, ok)
	}
	// Output:
	// 5 records, seq 0..6, missing [{3 4}], 0 duplicates
	// released by the ring but not archived: {7 8} true
}
