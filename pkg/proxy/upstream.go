package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/meshctl/meshctl/pkg/proxy/internal/h2frame"
)

// dialUpstream connects to an endpoint. Outbound, an endpoint with an
// identity is reached over mTLS and must prove that identity; without a
// TLS provider (identity disabled) the connection is plaintext and says so
// in its labels. It returns the TLS labels describing the connection.
func (s *side) dialUpstream(ctx context.Context, ep Endpoint) (net.Conn, tlsLabels, error) {
	c, err := s.dialer.DialContext(ctx, "tcp", ep.Addr.String())
	if err != nil {
		return nil, tlsLabels{}, err
	}
	labels := s.upstreamLabels(ep)
	if labels.tls != "true" {
		return c, labels, nil
	}
	// No splice(2) for TLS bytes: the raw I/O costs nothing there. The
	// batches let an HTTP/2 flush's records leave in one write.
	tc := tls.Client(h2frame.NewBatchConn(withRawIO(c), s.batchBufs), s.deps.TLS.ClientConfig(ep.Identity))
	hctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		_ = c.Close()
		s.metrics.tlsFailures.WithLabelValues(string(s.direction)).Inc()
		return nil, tlsLabels{}, fmt.Errorf("mTLS to %s as %s: %w", ep.Addr, ep.Identity, err)
	}
	return tc, labels, nil
}

// upstreamLabels are the TLS labels of a connection to ep.
func (s *side) upstreamLabels(ep Endpoint) tlsLabels {
	if s.direction == Inbound {
		return plaintextLabels(Inbound) // the application, on loopback
	}
	if ep.Identity == "" {
		return plaintextLabels(Outbound)
	}
	if s.deps.TLS.LocalName() == "" {
		// Identity disabled: no name to prove, so no mTLS to originate
		// (asked per request, so not ClientConfig, which builds a config).
		return tlsLabels{tls: "no_identity", noTLSReason: "disabled"}
	}
	return tlsLabels{tls: "true", serverID: ep.Identity}
}
