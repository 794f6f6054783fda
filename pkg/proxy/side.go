package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/meshctl/meshctl/pkg/proxy/balance"
	"github.com/meshctl/meshctl/pkg/proxy/h2server"
	"github.com/meshctl/meshctl/pkg/proxy/internal/h2frame"
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
	// explicitPeer is the endpoint list of an explicit target, inbound or
	// (with an identity) outbound (configuredEndpoints), nil otherwise.
	explicitPeer []Endpoint
	// ownPorts are the proxy's listener ports, never a valid destination.
	ownPorts []uint16

	dialer   *net.Dialer
	balancer *balance.Balancer
	queue    *connQueue
	server   *http.Server
	http     *httpProxy
	// h2 serves HTTP/2 connections (h2server): the hop from another
	// proxy, and applications' own HTTP/2 and gRPC.
	h2 *h2server.Server
	// h1 serves plain HTTP/1.1 before net/http does (h1server.go).
	h1 *h1Loops
	// batchBufs lend the meshed hop's TLS connections their write
	// batches (h2frame.BatchConn).
	batchBufs *h2frame.BatchBuffers
	// taps reports sampled exchanges to tap streams (shared by both sides).
	taps *tapHub
	// lingerSlots bounds the client connections closing lingering at once
	// (linger.go).
	lingerSlots chan struct{}

	mu     sync.Mutex
	active map[net.Conn]struct{}
	// draining is set by shutdown; no connection is admitted after it, so
	// that wg.Wait never races an Add (an Accept can return just as the
	// listener closes).
	draining bool
	wg       sync.WaitGroup
}

func newSide(d Direction, cfg Config, deps Deps, log *slog.Logger, m *metrics, explicit string) (*side, error) {
	s := &side{
		direction:   d,
		cfg:         cfg,
		deps:        deps,
		log:         log.With("direction", string(d)),
		metrics:     m,
		dialer:      &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second},
		balancer:    balance.New(balance.Options{}),
		queue:       newConnQueue(nil), // its address is set when the proxy binds
		lingerSlots: make(chan struct{}, maxLingering),
		active:      map[net.Conn]struct{}{},
		h1:          newH1Loops(),
		batchBufs:   h2frame.NewBatchBuffers(),
	}
	if explicit != "" {
		ap, err := netip.ParseAddrPort(explicit)
		if err != nil {
			return nil, fmt.Errorf("proxy: %s target %q: %w", d, explicit, err)
		}
		s.explicit = ap
		switch {
		case d == Inbound:
			s.explicitPeer = []Endpoint{withText(Endpoint{Addr: ap})}
		case cfg.OutboundTargetIdentity != "":
			s.explicitPeer = []Endpoint{withText(Endpoint{Addr: ap, Identity: cfg.OutboundTargetIdentity, Protocol: EndpointH2})}
		}
	}
	s.http = newHTTPProxy(s)
	s.server = s.http.server()
	s.h2 = &h2server.Server{
		Handler:              s.http,
		MaxConcurrentStreams: cfg.MaxConcurrentStreams,
		MaxHeaderBytes:       cfg.MaxHeaderBytes,
		PrefaceTimeout:       cfg.ReadHeaderTimeout,
		IdleTimeout:          cfg.IdleTimeout,
		Log:                  s.log,
	}
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
		if !s.admit() {
			_ = conn.Close()
			return nil
		}
		go func() {
			defer s.wg.Done()
			// Tracked while it is being detected too, so that the end of
			// the grace period closes a client that never spoke instead
			// of waiting out its detect timeout.
			untrack := s.track(conn)
			defer untrack()
			s.handle(ctx, conn)
		}()
	}
}

// admit counts an accepted connection in, unless the side is draining.
func (s *side) admit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	s.wg.Add(1)
	return true
}

// handle detects the protocol of one accepted connection and proxies it.
func (s *side) handle(ctx context.Context, conn net.Conn) {
	info := &connInfo{direction: s.direction, tls: plaintextLabels(s.direction), series: &seriesCache{}}
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
	info.setTarget(target)
	info.endpoints = s.configuredEndpoints(target)
	opaque := s.cfg.OpaquePorts.Has(target.Port()) || s.hintedOpaque(ctx, target)

	var c net.Conn = conn
	br := bufio.NewReaderSize(conn, inboundBufferSize)
	var pre *upstreamConn
	if s.direction == Inbound {
		var ok bool
		if c, br, pre, ok = s.acceptTLS(ctx, conn, br, info, opaque); !ok {
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
			pre.close()
			return
		}
		s.proxyTCP(ctx, c, br, meter, info, pre)
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
		s.proxyTCP(ctx, c, br, meter, info, nil)
		return
	}
	mc := newMeteredConn(withRawIO(c), br, meter, info)
	mc.lingerSlots = s.lingerSlots
	untrack := s.track(mc)
	mc.onClose = untrack
	if proto == ProtocolHTTP1 {
		mc.guardHTTP1()
		s.serveHTTP1(ctx, mc)
		return
	}
	s.serveHTTP2(ctx, mc)
}

// serveHTTP2 serves mc, an HTTP/2 connection, until it closes.
func (s *side) serveHTTP2(ctx context.Context, mc *meteredConn) {
	// As for the HTTP/1.1 loop: the net/http server in the context makes
	// the reverse proxy end a response whose body broke off with
	// http.ErrAbortHandler (a reset stream) instead of a clean end.
	base := context.WithValue(context.WithValue(ctx, connInfoKey, mc.info), http.ServerContextKey, s.server)
	if err := s.h2.ServeConn(base, mc); err != nil {
		s.log.Debug("http2 connection ended", "peer", mc.RemoteAddr().String(), "error", err)
	}
}

// acceptTLS terminates the mTLS of a meshed client: a ClientHello naming
// this proxy's identity. TLS for any other name is the application's own
// and passes through untouched (info.appTLS). It returns the connection to
// read the client's bytes from, on an opaque port the connection to the
// application already opened, and false when the connection was closed.
func (s *side) acceptTLS(ctx context.Context, conn net.Conn, br *bufio.Reader, info *connInfo, opaque bool) (net.Conn, *bufio.Reader, *upstreamConn, bool) {
	local := s.deps.TLS.LocalName()
	if local == "" {
		return conn, br, nil, true
	}
	wait := s.cfg.DetectTimeout
	if opaque {
		wait = min(wait, opaqueTLSWait)
	}
	isTLS, sni, err := peekClientHello(conn, br, wait)
	if err != nil {
		_ = conn.Close()
		return nil, nil, nil, false
	}
	if !isTLS {
		return conn, br, nil, true
	}
	if sni != local {
		info.appTLS = true
		return conn, br, nil, true
	}
	var pre *upstreamConn
	if opaque {
		// Connect to the application before completing the handshake:
		// when it refuses (it is shutting down), the client's proxy sees
		// its connect fail and tries another endpoint, which it could not
		// do once its bytes had gone into an accepted connection.
		if pre, err = s.connectTarget(ctx, info); err != nil {
			s.log.Debug("application refused; abandoning the handshake so the client retries elsewhere", "target", info.target, "error", err)
			_ = conn.Close()
			return nil, nil, nil, false
		}
	}
	// Decrypted bytes are never spliced, so the socket can take raw I/O.
	tc, clientID, err := terminateTLS(withRawIO(conn), br, s.deps.TLS.ServerConfig(), s.cfg.DetectTimeout, s.batchBufs)
	if err != nil {
		s.log.Info("mTLS handshake failed", "peer", info.peer, "error", err)
		s.metrics.tlsFailures.WithLabelValues(string(s.direction)).Inc()
		_ = conn.Close()
		pre.close()
		return nil, nil, nil, false
	}
	info.tls = tlsLabels{tls: "true", clientID: clientID}
	return tc, bufio.NewReaderSize(tc, maxRequestLine), pre, true
}

// close closes an unused upstream connection (nil is fine).
func (u *upstreamConn) close() {
	if u == nil {
		return
	}
	_ = u.Close()
	u.tracker.Release()
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

// endpoints lists where a target may be served. Inbound traffic is for
// the local application, reached on loopback at the original port, as
// Linkerd does: dialling the pod's own address from the proxy would be
// redirected back into the inbound listener by meshctl proxy init's
// own-pod rule, a loop.
func (s *side) endpoints(ctx context.Context, t Target) ([]Endpoint, error) {
	if eps := s.configuredEndpoints(t.Addr); eps != nil {
		return eps, nil
	}
	eps, err := s.deps.Destination.Resolve(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", t.Addr, err)
	}
	if len(eps) == 0 {
		return nil, fmt.Errorf("resolve %s: no endpoints", t.Addr)
	}
	return eps, nil
}

// connEndpoints are the endpoints of info's target: those the connection
// keeps (configuredEndpoints), else the destination's answer now for the
// target under authority.
func (s *side) connEndpoints(ctx context.Context, info *connInfo, authority string) ([]Endpoint, error) {
	if info.endpoints != nil {
		return info.endpoints, nil
	}
	return s.endpoints(ctx, Target{Addr: info.target, Authority: authority})
}

// configuredEndpoints are target's endpoints when the configuration alone
// decides them, nil when the destination is to be asked. Inbound they
// always are: the explicit target, or else the application on the
// loopback address of target's family (inbound traffic never leaves the
// pod). Outbound, an explicit target with an identity is that target as a
// meshed peer. Callers only read the slice, so a connection (and the side,
// for an explicit target) keeps it for all its requests.
func (s *side) configuredEndpoints(target netip.AddrPort) []Endpoint {
	if s.direction == Inbound && !s.explicit.IsValid() {
		lo := netip.IPv6Loopback()
		if target.Addr().Unmap().Is4() {
			lo = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		}
		return []Endpoint{withText(Endpoint{Addr: netip.AddrPortFrom(lo, target.Port())})}
	}
	return s.explicitPeer
}

// withText is ep with its address's text set.
func withText(ep Endpoint) Endpoint {
	ep.text = ep.Addr.String()
	return ep
}

// hintedOpaque reports whether the destination says every endpoint of an
// outbound target treats its port as opaque: then no protocol detection
// runs, so a protocol whose server speaks first (MySQL, SMTP) does not
// wait out the detect timeout for a client that will not speak. An error
// here is not the connection's failure: detection decides as usual, and
// the connect reports it.
func (s *side) hintedOpaque(ctx context.Context, target netip.AddrPort) bool {
	if s.direction != Outbound {
		return false
	}
	eps, err := s.endpoints(ctx, Target{Addr: target})
	if err != nil {
		return false
	}
	for _, ep := range eps {
		if ep.Protocol != EndpointOpaque {
			return false
		}
	}
	return true
}

// pick chooses among eps, leaving out those already tried, with the
// balancer (power of two choices over peak-EWMA latency, by weight). The
// tracker, nil for a lone endpoint, reports the outcome back.
func (s *side) pick(eps []Endpoint, tried []netip.AddrPort) (Endpoint, *balance.Tracker, bool) {
	if len(eps) == 1 {
		if len(tried) > 0 {
			return Endpoint{}, nil, false
		}
		return eps[0], nil, true
	}
	i := s.balancer.Pick(len(eps), func(i int) balance.Candidate {
		return balance.Candidate{Addr: eps[i].Addr, Weight: eps[i].Weight}
	}, tried)
	if i < 0 {
		return Endpoint{}, nil, false
	}
	return eps[i], s.balancer.Start(eps[i].Addr), true
}

// upstreamConn is an open connection to an endpoint.
type upstreamConn struct {
	net.Conn
	ep     Endpoint
	labels tlsLabels
	// tracker follows the connection for the balancer.
	tracker *balance.Tracker
}

// connect opens a connection to one of eps. A failed connect (refused,
// timed out, or a server that could not prove its identity) is retried on
// another endpoint, up to maxConnectAttempts: nothing was sent yet, so it
// is always safe, and it is what keeps a client's requests whole while a
// pod behind the target restarts.
func (s *side) connect(ctx context.Context, eps []Endpoint) (*upstreamConn, error) {
	var tried []netip.AddrPort
	var lastErr error
	for attempt := 0; attempt < maxConnectAttempts; attempt++ {
		ep, tr, ok := s.pick(eps, tried)
		if !ok {
			break
		}
		if attempt > 0 {
			s.metrics.connectRetries.WithLabelValues(string(s.direction)).Inc()
		}
		start := time.Now()
		c, labels, err := s.dialUpstream(ctx, ep)
		if err == nil {
			tr.Observe(time.Since(start))
			return &upstreamConn{Conn: c, ep: ep, labels: labels, tracker: tr}, nil
		}
		tr.Fail()
		tr.Release()
		lastErr = err
		tried = append(tried, ep.Addr)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

// connectTarget resolves info's target and connects to one of its
// endpoints.
// When every endpoint fails, or there is none, and the destination may
// answer differently (resolvesAgain), it asks again with a growing pause
// (resolvePause; the answer changes as pods become ready during a rollout)
// for up to endpointWait, as Linkerd's balancer queues requests until its
// fail-fast timeout instead of failing at once.
func (s *side) connectTarget(ctx context.Context, info *connInfo) (*upstreamConn, error) {
	wait := time.Duration(0)
	if s.resolvesAgain() {
		wait = endpointWait
	}
	deadline := time.Now().Add(wait)
	for round := 0; ; round++ {
		eps, err := s.connEndpoints(ctx, info, "")
		if err == nil {
			var up *upstreamConn
			if up, err = s.connect(ctx, eps); err == nil {
				return up, nil
			}
		}
		pause := resolvePause(round)
		if time.Now().Add(pause).After(deadline) || !sleepCtx(ctx, pause) {
			return nil, err
		}
	}
}

// resolvesAgain reports whether asking the destination again may give
// another answer. Inbound the answer is the local application, and a
// fixed target (an explicit one with its identity, or the original
// destination itself) answers the same every time: waiting for it only
// delays the error.
func (s *side) resolvesAgain() bool {
	if s.direction == Inbound || (s.explicit.IsValid() && s.cfg.OutboundTargetIdentity != "") {
		return false
	}
	_, fixed := s.deps.Destination.(Passthrough)
	return !fixed
}

// resolvePause is the pause before asking the destination again for the
// round-th time, for connections and requests alike: 50 ms, doubling up
// to 500 ms.
func resolvePause(round int) time.Duration {
	return min(50*time.Millisecond<<min(round, 4), 500*time.Millisecond)
}

// endpointWait bounds how long a connection or request waits for an
// endpoint that accepts it.
const endpointWait = 3 * time.Second

// sleepCtx sleeps for d unless ctx ends first; it reports whether it slept.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// maxConnectAttempts bounds the endpoints one connection or request tries.
const maxConnectAttempts = 3

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
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	_ = s.queue.Close()
	s.h1.shutdown()
	done := make(chan struct{})
	go func() {
		h2done := make(chan struct{})
		go func() {
			_ = s.h2.Shutdown(ctx)
			close(h2done)
		}()
		_ = s.server.Shutdown(ctx)
		<-h2done
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		// Close outside the lock: a connection's Close unregisters it
		// (track), and one already closing elsewhere holds its own close
		// while it waits for this lock — closing under it deadlocked.
		s.mu.Lock()
		open := make([]net.Conn, 0, len(s.active))
		for c := range s.active {
			open = append(open, c)
		}
		s.mu.Unlock()
		for _, c := range open {
			_ = c.Close()
		}
		_ = s.server.Close()
		s.h2.Close()
		<-done
	}
	s.http.closeIdle()
}
