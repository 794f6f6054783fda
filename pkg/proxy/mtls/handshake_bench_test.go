package mtls

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"
)

// BenchmarkMutualHandshake is what a new connection between two meshed
// proxies costs before its first request: a TCP connect on loopback and
// the TLS 1.3 handshake with the proxies' own configurations (ECDSA P-256
// certificates from the mesh issuer, each side verifying the other's
// identity). BenchmarkPlainConnect is the connect alone; the difference is
// the handshake the first request pays.
func BenchmarkMutualHandshake(b *testing.B) {
	p := readyProvider(b)
	benchConnect(b, p.ServerConfig(), p.ClientConfig(webID))
}

// BenchmarkPlainConnect is BenchmarkMutualHandshake without TLS.
func BenchmarkPlainConnect(b *testing.B) {
	benchConnect(b, nil, nil)
}

func readyProvider(b *testing.B) *Provider {
	p := newProvider(b, &fakeIdentity{ca: newTestCA(b)}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	go p.Run(ctx)
	waitReady(b, p, 5*time.Second)
	return p
}

// benchConnect connects to a loopback server and, with configurations,
// completes a TLS handshake on both sides, once per iteration.
func benchConnect(b *testing.B, server, client *tls.Config) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if server != nil {
				tc := tls.Server(c, server)
				_ = tc.Handshake()
				c = tc
			}
			_, _ = c.Write([]byte{1}) // the client waits for the server's side to finish
			c.Close()
		}
	}()
	one := make([]byte, 1)
	for b.Loop() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		if client != nil {
			tc := tls.Client(c, client)
			if err := tc.Handshake(); err != nil {
				b.Fatal(err)
			}
			c = tc
		}
		if _, err := c.Read(one); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}
