package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/meshctl/meshctl/pkg/proxy/internal/h2frame"
)

// maxHelloRecord is the largest TLS record a ClientHello may arrive in
// (RFC 8446 section 5.1) plus its 5-byte header; inbound connections are
// buffered this much so the whole hello can be peeked.
const maxHelloRecord = 5 + 16384

// inboundBufferSize holds either an HTTP/1 request line or a ClientHello.
const inboundBufferSize = max(maxRequestLine, maxHelloRecord)

// opaqueTLSWait bounds how long an opaque port waits for a ClientHello: a
// meshed client's proxy sends one at once, while an unmeshed client of a
// server-speaks-first protocol sends nothing and must not be stalled.
const opaqueTLSWait = 300 * time.Millisecond

// errHelloSeen aborts the handshake used to read a ClientHello's SNI.
var errHelloSeen = errors.New("client hello seen")

// peekClientHello reports whether a connection starts with a TLS
// ClientHello and the server name it asks for. It consumes nothing: the
// bytes stay in br. A client silent for wait is not TLS.
func peekClientHello(conn net.Conn, br *bufio.Reader, wait time.Duration) (isTLS bool, sni string, err error) {
	if err := conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return false, "", err
	}
	defer conn.SetReadDeadline(time.Time{}) //nolint:errcheck // best effort reset
	head, err := br.Peek(5)
	if len(head) == 0 || head[0] != 0x16 {
		return false, "", quiet(err)
	}
	if len(head) < 5 {
		return false, "", quiet(err)
	}
	// A handshake record of TLS 1.0 to 1.3 (the record version of a
	// ClientHello is 0x0301 or 0x0303), of a length a record can have.
	n := int(head[3])<<8 | int(head[4])
	if head[1] != 3 || n == 0 || n > maxHelloRecord-5 {
		return false, "", nil
	}
	rec, err := br.Peek(5 + n)
	if err != nil {
		return false, "", quiet(err)
	}
	sni, ok := serverNameOf(rec)
	return ok, sni, nil
}

// quiet turns a read timeout into "no TLS"; other errors stay errors.
func quiet(err error) error {
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// serverNameOf parses a ClientHello record with crypto/tls itself (no
// hand-written parser): a server handshake over the recorded bytes stops
// at GetConfigForClient, which sees the parsed hello.
func serverNameOf(record []byte) (string, bool) {
	var name string
	var seen bool
	cfg := &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		name, seen = h.ServerName, true
		return nil, errHelloSeen
	}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = tls.Server(&recordConn{r: bytes.NewReader(record)}, cfg).HandshakeContext(ctx)
	return name, seen
}

// recordConn replays recorded bytes and discards what is written.
type recordConn struct {
	net.Conn // nil: only the methods below are used by the handshake
	r        *bytes.Reader
}

func (c *recordConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *recordConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *recordConn) Close() error                     { return nil }
func (c *recordConn) SetDeadline(time.Time) error      { return nil }
func (c *recordConn) SetReadDeadline(time.Time) error  { return nil }
func (c *recordConn) SetWriteDeadline(time.Time) error { return nil }
func (c *recordConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *recordConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }

// bufferedConn reads through a bufio.Reader that may hold peeked bytes.
type bufferedConn struct {
	net.Conn
	br *bufio.Reader
}

// Read drains what detection buffered, then reads the connection itself
// (with raw I/O, when it is one: see rawio.go).
func (c *bufferedConn) Read(p []byte) (int, error) {
	if c.br.Buffered() > 0 {
		return c.br.Read(p)
	}
	return c.Conn.Read(p)
}

// CloseWrite forwards a half-close to the TCP connection underneath.
func (c *bufferedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// terminateTLS completes the server handshake of a meshed peer within
// timeout and returns the decrypted connection and the client's verified
// identity ("" when the client sent no certificate). Its records are
// written through a BatchConn borrowing from bufs.
func terminateTLS(conn net.Conn, br *bufio.Reader, cfg *tls.Config, timeout time.Duration, bufs *h2frame.BatchBuffers) (*tls.Conn, string, error) {
	tc := tls.Server(h2frame.NewBatchConn(&bufferedConn{Conn: conn, br: br}, bufs), cfg)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, "", fmt.Errorf("tls handshake: %w", err)
	}
	cs := tc.ConnectionState()
	if len(cs.PeerCertificates) == 0 {
		return tc, "", nil
	}
	id, err := peerIdentity(cs)
	if err != nil {
		return nil, "", err
	}
	return tc, id, nil
}

// peerIdentity is the single DNS SAN of a verified peer certificate. The
// TLS configuration's VerifyConnection has already refused anything else.
func peerIdentity(cs tls.ConnectionState) (string, error) {
	leaf := cs.PeerCertificates[0]
	if len(leaf.DNSNames) != 1 {
		return "", errors.New("peer certificate does not name exactly one identity")
	}
	return leaf.DNSNames[0], nil
}
