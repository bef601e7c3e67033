package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/nats-io/nats.go"

	"github.com/logbuf/logbuf/ship"
)

// natsFlags are the connection flags ship and replay --nats share; each
// maps to one nats.go option.
type natsFlags struct {
	url, name            string
	creds, nkey          string
	token                string
	user, password       string
	tlsCert, tlsKey, tls string
}

func (n *natsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.url, "nats", "", "NATS server URL(s), comma-separated")
	fs.StringVar(&n.creds, "creds", "", "credentials file (JWT and NKey seed;\nnats.UserCredentials)")
	fs.StringVar(&n.nkey, "nkey", "", "NKey seed file (nats.NkeyOptionFromSeed)")
	fs.StringVar(&n.token, "token", "", "authentication token (nats.Token); the NATS_TOKEN\nenvironment variable keeps it off the command line")
	fs.StringVar(&n.user, "user", "", "user name (nats.UserInfo); the password comes from\n--password or NATS_PASSWORD")
	fs.StringVar(&n.password, "password", "", "password for --user")
	fs.StringVar(&n.tls, "tls-ca", "", "PEM file of the CA certificates that sign the server's\n(nats.RootCAs); turns TLS on")
	fs.StringVar(&n.tlsCert, "tls-cert", "", "client certificate PEM file, with --tls-key\n(nats.ClientCert); turns TLS on")
	fs.StringVar(&n.tlsKey, "tls-key", "", "client key PEM file, with --tls-cert")
}

// options turns the flags into nats.go options, or says what is wrong.
func (n *natsFlags) options() ([]nats.Option, error) {
	if n.url == "" {
		return nil, errors.New("--nats URL is required")
	}
	opts := []nats.Option{nats.Name(n.name)}
	if n.creds != "" {
		opts = append(opts, nats.UserCredentials(n.creds))
	}
	if n.nkey != "" {
		o, err := nats.NkeyOptionFromSeed(n.nkey)
		if err != nil {
			return nil, fmt.Errorf("--nkey: %w", err)
		}
		opts = append(opts, o)
	}
	token := n.token
	if token == "" {
		token = os.Getenv("NATS_TOKEN")
	}
	if token != "" {
		opts = append(opts, nats.Token(token))
	}
	if n.user != "" {
		pw := n.password
		if pw == "" {
			pw = os.Getenv("NATS_PASSWORD")
		}
		opts = append(opts, nats.UserInfo(n.user, pw))
	} else if n.password != "" {
		return nil, errors.New("--password needs --user")
	}
	if (n.tlsCert == "") != (n.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if n.tlsCert != "" {
		opts = append(opts, nats.ClientCert(n.tlsCert, n.tlsKey))
	}
	if n.tls != "" {
		opts = append(opts, nats.RootCAs(n.tls))
	}
	return opts, nil
}

// connect connects with the flags' options; a shipper connects through
// ship.Connect (reconnect for ever, no reconnect buffer), a reader plainly.
func (n *natsFlags) connect(shipper bool, extra ...nats.Option) (*nats.Conn, error) {
	opts, err := n.options()
	if err != nil {
		return nil, err
	}
	dial := nats.Connect
	if shipper {
		dial = ship.Connect
	}
	nc, err := dial(n.url, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", n.url, err)
	}
	return nc, nil
}
