// Package ship sends the records of a logbuf ring to a NATS JetStream
// stream, exactly once across restarts of the shipper: Sink is a drain.Sink
// that publishes every record of a batch asynchronously, waits until
// JetStream has stored each one, and only then lets the drainer release the
// batch from the ring.
//
// # Exactly once
//
// Each message carries a Nats-Msg-Id header naming the ring and the record
// (MsgID): the ring identity from the ring's header, in hex, a dash, and the
// record's ring position in decimal. The position, not the ring's sequence
// number, names the record because it is what the ring itself guarantees
// never to repeat: positions only grow for the life of a ring, and a ring
// made anew gets new random identity bytes from its creator (spec section 3;
// abi.Create, which logbuf create uses, writes them), so a position reached
// again in a re-created ring comes with another identity. The id is therefore unique per record across
// hosts, rings and ring re-creation.
//
// Nothing leaves the ring before JetStream stored it, so a shipper killed at
// any point loses nothing: the next one resumes at the first record not
// released, which is at most the batch that was in flight. That batch is
// published again with the same message ids; JetStream drops a message
// whose id it stored within the stream's Duplicates window (two minutes
// unless the stream says otherwise) and acknowledges it as a duplicate. So
// the stream holds every record once as long as a shipper restarts within
// that window. A restart later than the window can store the batch that was
// in flight a second time (at most one batch; a reader can drop it by its
// message id).
//
// Sink does not implement drain.Resumer: the newest message of the stream
// does not say that every earlier record of the ring was stored (a record
// can fail while a later one of the same batch is stored, see below), so
// resuming after it could lose records. The duplicate window is the
// mechanism, and it is exact.
//
// # Order
//
// The records of one batch are published in ring order on one connection,
// and a batch is retried from its first record not acknowledged, so a
// stream served by one server (or one stream leader) stores the records of
// a ring in ring order, hence each producer's records in the order it
// committed them. Two things keep this true across faults: the connection
// must not buffer publishes while it reconnects (Connect sets
// nats.ReconnectBufSize(-1) and New refuses a connection that buffers:
// a record lost with the old socket could otherwise be stored after later
// records replayed from that buffer), and nats.go's own re-publishing after
// "no responders" is turned off (the sink retries itself). When a record
// still fails while a later record of its batch is stored (a stream leader
// change in a cluster, a server that refuses one message), the retried
// record lands after it: Stats.Reordered counts such records, and a reader
// can put them back in order by the position in their message ids.
//
// # Faults
//
// When the server is down or slow, Write does not return: it publishes
// again what was not acknowledged, with a backoff that doubles up to
// Options.MaxBackoff, reports each failed attempt to Options.OnRetry, and
// returns nil once the batch is stored. Meanwhile the ring fills and its
// producers see ErrFull or wait, per their own policy. Write gives up only
// when its context ends, the connection is closed for good, or a record is
// too large under the StopOnTooLarge policy.
//
// A record larger than the server accepts (its max_payload, headers
// included, or the stream's max_msg_size) is never dropped silently: the
// TooLarge option either stops the shipper with ErrTooLarge (the record
// stays in the ring) or skips it, counts it in Stats.Skipped and reports it
// to Options.OnSkip.
package ship
