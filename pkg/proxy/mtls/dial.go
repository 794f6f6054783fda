package mtls

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"
)

// ContextDialer returns a dialer for grpc.WithContextDialer that opens a
// TCP connection and completes a TLS handshake with the configuration cfg
// returns, so the proxy's control-plane clients (identity, destination)
// speak gRPC inside the same mTLS the proxies use between themselves.
func ContextDialer(cfg func() *tls.Config, timeout time.Duration) func(context.Context, string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		tc := tls.Client(c, cfg())
		hctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := tc.HandshakeContext(hctx); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("mtls: handshake with %s: %w", addr, err)
		}
		return tc, nil
	}
}
