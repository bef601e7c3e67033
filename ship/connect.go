package ship

import "github.com/nats-io/nats.go"

// Connect connects to the NATS servers at url (a comma-separated list) with
// opts, then with what the sink needs: reconnect for ever, and fail
// publishes while reconnecting instead of buffering them (see the package
// doc on order). Write publishes again what failed.
func Connect(url string, opts ...nats.Option) (*nats.Conn, error) {
	opts = append(opts, nats.MaxReconnects(-1), nats.ReconnectBufSize(-1))
	return nats.Connect(url, opts...)
}
