package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshctl/meshctl/pkg/proxy/internal/h2frame"
)

// TestMeshedHopWritesInBatches: both ends of the meshed hop put a
// BatchConn under their TLS session, and the metered connection the
// HTTP/2 writer gets names the session, so that the writer finds it.
func TestMeshedHopWritesInBatches(t *testing.T) {
	ca := newMeshCA(t)
	serverTLS, clientTLS := ca.provider(t, serverID, ca), ca.provider(t, clientID, ca)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan *tls.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		tc, _, err := terminateTLS(c, bufio.NewReader(c), serverTLS.ServerConfig(), 5*time.Second, h2frame.NewBatchBuffers())
		if err != nil {
			t.Error(err)
			_ = c.Close()
			close(accepted)
			return
		}
		accepted <- tc
	}()

	cfg := Config{InboundTarget: "127.0.0.1:1", OutboundTarget: "127.0.0.1:1"}.Defaults()
	s, err := newSide(Outbound, cfg, Deps{TLS: clientTLS}.withDefaults(), slog.New(slog.DiscardHandler), newMetrics(prometheus.NewRegistry(), cfg.MaxAuthorityLabels), cfg.OutboundTarget)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := s.dialUpstream(ctx, Endpoint{Addr: netip.MustParseAddrPort(ln.Addr().String()), Identity: serverID})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	server, ok := <-accepted
	if !ok {
		t.Fatal("no server session")
	}
	defer server.Close()

	for side, conn := range map[string]net.Conn{"client": c, "server": server} {
		tc, ok := conn.(*tls.Conn)
		if !ok {
			t.Fatalf("%s: %T, want a TLS session", side, conn)
		}
		if _, ok := tc.NetConn().(*h2frame.BatchConn); !ok {
			t.Errorf("%s: %T under the TLS session, want a BatchConn", side, tc.NetConn())
		}
		if mc := newMeteredConn(tc, nil, nil, nil); mc.NetConn() != tc {
			t.Errorf("%s: the metered connection names %T, want the TLS session", side, mc.NetConn())
		}
	}
}
