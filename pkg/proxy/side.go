package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// side is one direction of the proxy: a listener, protocol detection, the
// HTTP server and the TCP splice.
type side struct {
	direction Direction
	cfg       Config
	deps      Deps
	log       *slog.Logger
	metrics   *metrics
	// explicit, when valid, replaces the original destination.
	explicit netip.AddrPort
	// ownPorts are the proxy's listener ports, never a valid destination.
	ownPorts []uint16

	dialer *net.Dialer
	queue  *connQueue
	server *http.Server
	http   *httpProxy
	// taps reports sampled exchanges to tap streams (shared by both sides).
	taps *tapHub

	mu     sync.Mutex
	active map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func newSide(d Direction, cfg Config, deps Deps, log *slog.Logger, m *metrics, explicit string) (*side, error) {
	s := &side{
		direction: d,
		cfg:       cfg,
		deps:      deps,
		log:       log.With("direction", string(d)),
		metrics:   m,
		dialer:    &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second},
		queue:     newConnQueue(nil), // its address is set when the proxy binds
		active:    map[net.Conn]struct{}{},
	}
	if explicit != "" {
		ap, err := netip.ParseAddrPort(explicit)
		if err != nil {
			return nil, fmt.Errorf("proxy: %s target %q: %w", d, explicit, err)
		}
		s.explicit = ap
	}
	s.http = newHTTPProxy(s)
	s.server = s.http.server()
	return s, nil
}

// serve accepts connections from ln until it is closed.
func (s *side) serve(ctx context.Context, ln net.Listener) error {
	go func() { _ = s.server.Serve(s.queue) }()
	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Temporary errors such as EMFILE: back off rather than spin.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed", "error", err, "retry_in", delay)
			select {
			case <-time.After(delay):
				continue
			case <-ctx.Done():
				return nil
			}
		}
		delay = 0
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(ctx, conn)
		}()
	}
}

// handle detects the protocol of one accepted connection and proxies it.
func (s *side) handle(ctx context.Context, conn net.Conn) {
	info := &connInfo{direction: s.direction, tls: plaintextLabels(s.direction)}
	if ap, err := netip.ParseAddrPort(conn.RemoteAddr().String()); err == nil {
		info.peer = ap
	}
	target, err := s.originalDst(conn)
	if err != nil {
		s.log.Warn("dropping connection without a destination", "peer", info.peer, "error", err)
		_ = conn.Close()
		return
	}
	if s.isLoop(target) {
		s.log.Warn("dropping connection that would loop back into the proxy", "peer", info.peer, "target", target)
		_ = conn.Close()
		return
	}
	info.target = target
	opaque := s.cfg.OpaquePorts.Has(target.Port())

	var c net.Conn = conn
	br := bufio.NewReaderSize(conn, inboundBufferSize)
	if s.direction == Inbound {
		var ok bool
		if c, br, ok = s.acceptTLS(conn, br, info, opaque); !ok {
			return
		}
	}
	meter := s.metrics.openConn(info.labelValues(), "src")

	if s.direction == Inbound {
		if err := s.deps.Policy.Authorize(ctx, Peer{Addr: info.peer, Identity: info.tls.clientID}, target.Port()); err != nil {
			s.log.Info("refused by policy", "peer", info.peer, "port", target.Port(), "reason", err)
			info.denied = err
		}
	}
	// Refused opaque connections are closed; refused HTTP ones are
	// answered 403 per request, so the client learns why.
	if opaque || info.appTLS {
		if info.denied != nil {
			meter.close(info.denied)
			_ = c.Close()
			return
		}
		s.proxyTCP(ctx, c, br, meter, info)
		return
	}
	proto, err := detect(c, br, s.cfg.DetectTimeout)
	if err == nil && proto == ProtocolOpaque && info.denied != nil {
		err = info.denied
	}
	if err != nil {
		meter.close(err)
		_ = c.Close()
		return
	}
	if proto == ProtocolOpaque {
		s.proxyTCP(ctx, c, br, meter, info)
		return
	}
	mc := newMeteredConn(c, br, meter, info)
	if proto == ProtocolHTTP1 {
		mc.guardHTTP1()
	}
	untrack := s.track(mc)
	mc.onClose = untrack
	s.queue.push(mc)
}

// acceptTLS terminates the mTLS of a meshed client: a ClientHello naming
// this proxy's identity. TLS for any other name is the application's own
// and passes through untouched (info.appTLS). It returns the connection to
// read the client's bytes from, and false when the connection was closed.
func (s *side) acceptTLS(conn net.Conn, br *bufio.Reader, info *connInfo, opaque bool) (net.Conn, *bufio.Reader, bool) {
	local := s.deps.TLS.LocalName()
	if local == "" {
		return conn, br, true
	}
	wait := s.cfg.DetectTimeout
	if opaque {
		wait = min(wait, opaqueTLSWait)
	}
	isTLS, sni, err := peekClientHello(conn, br, wait)
	if err != nil {
		_ = conn.Close()
		return nil, nil, false
	}
	if !isTLS {
		return conn, br, true
	}
	if sni != local {
		info.appTLS = true
		return conn, br, true
	}
	tc, clientID, err := terminateTLS(conn, br, s.deps.TLS.ServerConfig(), s.cfg.DetectTimeout)
	if err != nil {
		s.log.Info("mTLS handshake failed", "peer", info.peer, "error", err)
		s.metrics.tlsFailures.WithLabelValues(string(s.direction)).Inc()
		_ = conn.Close()
		return nil, nil, false
	}
	info.tls = tlsLabels{tls: "true", clientID: clientID}
	return tc, bufio.NewReaderSize(tc, maxRequestLine), true
}

// originalDst is the explicit target, or the address the client dialled
// before iptables redirected it here.
func (s *side) originalDst(conn net.Conn) (netip.AddrPort, error) {
	if s.explicit.IsValid() {
		return s.explicit, nil
	}
	ap, err := s.deps.OriginalDst(conn)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("original destination (is meshctl proxy init redirecting here? outside a pod, set an explicit target): %w", err)
	}
	return ap, nil
}

// isLoop reports whether target is one of the proxy's own listeners, which
// happens when a client dials the proxy port itself and no redirect applied.
func (s *side) isLoop(target netip.AddrPort) bool {
	for _, port := range s.ownPorts {
		if target.Port() == port {
			return true
		}
	}
	return false
}

// resolve picks one endpoint for a target, by weight. Inbound traffic is
// for the local application, reached on loopback at the original port, as
// Linkerd does: dialling the pod's own address from the proxy would be
// redirected back into the inbound listener by meshctl proxy init's
// own-pod rule, a loop.
func (s *side) resolve(ctx context.Context, t Target) (Endpoint, error) {
	if s.direction == Inbound && !s.explicit.IsValid() {
		lo := netip.IPv6Loopback()
		if t.Addr.Addr().Unmap().Is4() {
			lo = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		}
		return Endpoint{Addr: netip.AddrPortFrom(lo, t.Addr.Port())}, nil
	}
	if s.direction == Outbound && s.explicit.IsValid() && s.cfg.OutboundTargetIdentity != "" {
		return Endpoint{Addr: s.explicit, Identity: s.cfg.OutboundTargetIdentity}, nil
	}
	eps, err := s.deps.Destination.Resolve(ctx, t)
	if err != nil {
		return Endpoint{}, fmt.Errorf("resolve %s: %w", t.Addr, err)
	}
	if len(eps) == 0 {
		return Endpoint{}, fmt.Errorf("resolve %s: no endpoints", t.Addr)
	}
	if len(eps) == 1 {
		return eps[0], nil
	}
	var total uint64
	for _, e := range eps {
		total += uint64(max(e.Weight, 1))
	}
	n := rand.Uint64N(total)
	for _, e := range eps {
		w := uint64(max(e.Weight, 1))
		if n < w {
			return e, nil
		}
		n -= w
	}
	return eps[len(eps)-1], nil
}

// track registers connections for forced close at the end of the grace
// period; the returned func unregisters them.
func (s *side) track(conns ...net.Conn) func() {
	s.mu.Lock()
	for _, c := range conns {
		s.active[c] = struct{}{}
	}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		for _, c := range conns {
			delete(s.active, c)
		}
		s.mu.Unlock()
	}
}

// shutdown drains the side: the HTTP server sends GOAWAY / Connection: close
// and waits for in-flight requests; opaque connections may finish until ctx
// ends, when everything still open is closed.
func (s *side) shutdown(ctx context.Context) {
	_ = s.queue.Close()
	done := make(chan struct{})
	go func() {
		_ = s.server.Shutdown(ctx)
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.active {
			_ = c.Close()
		}
		s.mu.Unlock()
		_ = s.server.Close()
		<-done
	}
	s.http.closeIdle()
}
