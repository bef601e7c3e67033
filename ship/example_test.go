package ship_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/logbuf/logbuf/drain"
	"github.com/logbuf/logbuf/ship"
)

// Example ships a batch of ring records to a JetStream stream, then ships
// it again, as a shipper restarted after a crash would: the stream keeps
// one copy. (The example runs its own nats-server; a real shipper connects
// to yours.)
func Example() {
	dir, _ := os.MkdirTemp("", "ship-example-")
	defer os.RemoveAll(dir)
	srv, _ := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	srv.Start()
	defer srv.Shutdown()
	srv.ReadyForConnections(10 * time.Second)

	nc, err := ship.Connect(srv.ClientURL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	ctx := context.Background()
	js, _ := jetstream.New(nc)
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "LOGS", Subjects: []string{"logs.>"}, Storage: jetstream.FileStorage,
		Duplicates: 10 * time.Minute, // longer than any restart of the shipper
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	sink, err := ship.New(nc, ship.Options{Subject: "logs.web1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	// What drain.Run hands a sink: consecutive records of one ring.
	batch := &drain.Batch{RingID: [16]byte{0x6c, 0x6f, 0x67}, Records: []drain.Record{
		{Data: []byte("GET /index.html 200"), Pos: 4096, Seq: 100},
		{Data: []byte("GET /missing 404"), Pos: 4128, Seq: 101},
	}}
	for range 2 {
		if err := sink.Write(ctx, batch); err != nil {
			fmt.Println(err)
			return
		}
	}
	st := sink.Stats()
	fmt.Printf("acknowledged %d, of which duplicates %d\n", st.Records, st.Duplicates)

	info, _ := stream.Info(ctx)
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, _ := stream.GetMsg(ctx, seq)
		fmt.Printf("%s  %s\n", m.Header.Get(jetstream.MsgIDHeader), m.Data)
	}
	// Output:
	// acknowledged 4, of which duplicates 2
	// 6c6f6700000000000000000000000000-4096  GET /index.html 200
	// 6c6f6700000000000000000000000000-4128  GET /missing 404
}
