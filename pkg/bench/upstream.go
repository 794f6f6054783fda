package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// grpcMethod is the one unary method of the built-in upstream. It is
// wire-compatible gRPC (length-prefixed messages, grpc-status trailer) with
// an opaque payload, so no generated code is needed on either side.
const grpcMethod = "/meshctl.bench.v1.Echo/Get"

// Upstream is the built-in application behind the proxies: an HTTP server
// speaking HTTP/1.1 and HTTP/2 with prior knowledge (h2c), answering every
// request with a fixed body and the gRPC method with a fixed message, and a
// TCP echo server.
type Upstream struct {
	// HTTPAddr serves HTTP/1.1, h2c and gRPC.
	HTTPAddr string
	// TCPAddr echoes every byte back.
	TCPAddr string

	srv    *http.Server
	tcp    net.Listener
	wg     sync.WaitGroup
	closed chan struct{}
}

// StartUpstream listens on host (a loopback address) and serves until Close.
func StartUpstream(host string, bodySize int) (*Upstream, error) {
	if err := checkLoopbackHost(host); err != nil {
		return nil, err
	}
	hl, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("upstream: listen http: %w", err)
	}
	tl, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		_ = hl.Close()
		return nil, fmt.Errorf("upstream: listen tcp: %w", err)
	}
	body := bytes.Repeat([]byte("x"), bodySize)
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	u := &Upstream{
		HTTPAddr: hl.Addr().String(),
		TCPAddr:  tl.Addr().String(),
		srv: &http.Server{
			Handler:           upstreamHandler(body),
			Protocols:         &protocols,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
		},
		tcp:    tl,
		closed: make(chan struct{}),
	}
	u.wg.Add(2)
	go func() { defer u.wg.Done(); _ = u.srv.Serve(hl) }()
	go func() { defer u.wg.Done(); u.serveEcho() }()
	return u, nil
}

// Close stops both servers and waits for them.
func (u *Upstream) Close() error {
	close(u.closed)
	err := u.tcp.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if e := u.srv.Shutdown(ctx); e != nil {
		_ = u.srv.Close()
	}
	u.wg.Wait()
	return err
}

func upstreamHandler(body []byte) http.Handler {
	frame := grpcFrame(body)
	length := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == grpcMethod {
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set(http.TrailerPrefix+"Grpc-Status", "0")
			_, _ = w.Write(frame)
			return
		}
		w.Header().Set("Content-Length", length)
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(body)
	})
}

// grpcFrame wraps msg in gRPC's length-prefixed message framing
// (uncompressed flag, 4-byte big-endian length).
func grpcFrame(msg []byte) []byte {
	f := make([]byte, 5+len(msg))
	binary.BigEndian.PutUint32(f[1:5], uint32(len(msg)))
	copy(f[5:], msg)
	return f
}

func (u *Upstream) serveEcho() {
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := u.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			go func() { <-u.closed; _ = c.Close() }()
			_, _ = io.Copy(c, c)
			_ = c.Close()
		}()
	}
}
