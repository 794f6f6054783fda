package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/meshctl/meshctl/pkg/identity"
)

// SpliceOptions configure the floor proxy.
type SpliceOptions struct {
	// Target is the loopback ip:port every accepted connection is
	// forwarded to.
	Target string
	// ServerTLS, when set, terminates TLS on every accepted connection
	// (side B of the mTLS floor).
	ServerTLS *tls.Config
	// ClientTLS, when set, opens TLS to Target (side A of the mTLS floor).
	ClientTLS *tls.Config
}

// Splice is the floor proxy: it accepts connections on ln and forwards
// bytes to o.Target both ways without looking at them, forwarding
// half-closes. Between plain TCP connections io.Copy uses splice(2); with
// TLS on one side the bytes pass through crypto/tls, which is what a Go L4
// mTLS hop costs. It serves until ctx ends. `meshctl bench splice` runs it
// as a subprocess.
func Splice(ctx context.Context, ln net.Listener, o SpliceOptions) error {
	if err := CheckLoopback(o.Target); err != nil {
		return err
	}
	go func() { <-ctx.Done(); _ = ln.Close() }()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			continue
		}
		if o.ServerTLS != nil {
			c = tls.Server(c, o.ServerTLS)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			spliceConn(ctx, c, o)
		}()
	}
}

// closeWriter is a connection that can half-close: *net.TCPConn shuts its
// write side down, *tls.Conn sends close_notify.
type closeWriter interface {
	net.Conn
	CloseWrite() error
}

func spliceConn(ctx context.Context, in net.Conn, o SpliceOptions) {
	defer in.Close()
	if tc, ok := in.(*tls.Conn); ok {
		hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			return
		}
	}
	var out net.Conn
	var err error
	if o.ClientTLS != nil {
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: o.ClientTLS}
		out, err = d.DialContext(ctx, "tcp", o.Target)
	} else {
		var d net.Dialer
		out, err = d.DialContext(ctx, "tcp", o.Target)
	}
	if err != nil {
		return
	}
	defer out.Close()
	stop := context.AfterFunc(ctx, func() { _ = in.Close(); _ = out.Close() })
	defer stop()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(out, in)
		closeWrite(out)
		close(done)
	}()
	_, _ = io.Copy(in, out)
	closeWrite(in)
	<-done
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(closeWriter); ok {
		_ = cw.CloseWrite()
	}
}

// FloorTLS are the files of one side of the mTLS floor.
type FloorTLS struct {
	// Cert is the side's certificate chain (leaf first) and Key its key,
	// both PEM; CA holds the trust anchors the peer must chain to.
	Cert, Key, CA string
	// ServerName is the name the client side requires of the server's
	// certificate; empty on the server side.
	ServerName string
}

// ServerConfig terminates TLS 1.3 and requires a client certificate that
// chains to the anchors, as nginx's ssl_verify_client on does.
func (f FloorTLS) ServerConfig() (*tls.Config, error) {
	cert, pool, err := f.load()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}, nil
}

// ClientConfig opens TLS 1.3, presents the side's certificate and verifies
// the server's chain and ServerName.
func (f FloorTLS) ClientConfig() (*tls.Config, error) {
	if f.ServerName == "" {
		return nil, errors.New("floor tls: the client side needs the server name to verify")
	}
	cert, pool, err := f.load()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{cert},
		RootCAs:            pool,
		ServerName:         f.ServerName,
		ClientSessionCache: tls.NewLRUClientSessionCache(64),
	}, nil
}

func (f FloorTLS) load() (tls.Certificate, *x509.CertPool, error) {
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("floor tls: %w", err)
	}
	pem, err := os.ReadFile(f.CA)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("floor tls: %w", err)
	}
	anchors, err := identity.ParseCertificates(pem)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("floor tls: trust anchors %s: %w", f.CA, err)
	}
	if len(anchors) == 0 {
		return tls.Certificate{}, nil, fmt.Errorf("floor tls: trust anchors %s: no certificate", f.CA)
	}
	pool := x509.NewCertPool()
	for _, a := range anchors {
		pool.AddCert(a)
	}
	return cert, pool, nil
}
