package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// acceptOnce is a listener whose single Accept returns conn, then reports
// itself closed.
type acceptOnce struct {
	net.Listener
	conn net.Conn
}

func (l *acceptOnce) Accept() (net.Conn, error) {
	if c := l.conn; c != nil {
		l.conn = nil
		return c, nil
	}
	return nil, net.ErrClosed
}

// TestSideClosesConnectionsAcceptedWhileDraining: a connection whose
// Accept returns after shutdown began is closed, not served unseen by the
// drain (shutdown's wait and the accept loop's count raced: -race found it).
func TestSideClosesConnectionsAcceptedWhileDraining(t *testing.T) {
	cfg := Config{InboundTarget: "127.0.0.1:1", OutboundTarget: "127.0.0.1:1"}.Defaults()
	s, err := newSide(Outbound, cfg, Deps{}.withDefaults(), slog.New(slog.DiscardHandler), newMetrics(prometheus.NewRegistry(), cfg.MaxAuthorityLabels), cfg.OutboundTarget)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.shutdown(ctx)

	client, server := net.Pipe()
	defer func() { _ = client.Close() }()
	if err := s.serve(ctx, &acceptOnce{conn: server}); err != nil {
		t.Fatalf("serve: %v", err)
	}
	_ = client.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := client.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("the connection accepted while draining is still open: read err %v", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
