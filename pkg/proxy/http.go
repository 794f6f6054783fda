package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meshctl/meshctl/pkg/proxy/balance"
	"github.com/meshctl/meshctl/pkg/proxy/h2client"
	"github.com/meshctl/meshctl/pkg/proxy/profile"
)

// HeaderClientID carries the verified identity of the client to the
// application. The inbound proxy always removes what the client sent.
const HeaderClientID = "meshctl-client-id"

type ctxKey int

const (
	connInfoKey ctxKey = iota
	exchangeKey
)

// exchange follows one request through the reverse proxy, for its metrics.
type exchange struct {
	endpoint Endpoint
	// candidates are the target's endpoints, for a retry after a failed
	// connect; tried are those that failed.
	candidates []Endpoint
	tried      []netip.AddrPort
	rounds     int // times the destination was asked again
	target     Target
	// h2Client: the client speaks HTTP/2 itself (an HTTP/1 request
	// carried over it by another proxy does not count).
	h2Client bool
	// overH2: the request came on an HTTP/2 connection, carried or not,
	// whose other streams a GOAWAY would end.
	overH2 bool
	// tracker reports the request's latency and end to the balancer.
	tracker  *balance.Tracker
	sent     time.Time // when the current attempt started
	start    time.Time
	status   int
	grpc     string
	err      string
	bodyErr  error
	labels   []string     // httpLabelNames values, in labelBuf
	series   *seriesCache // the connection's remembered series
	tap      *tapExchange // nil unless a tap stream sampled it
	recorded bool
	mu       sync.Mutex

	// route is the request's ServiceProfile route (nil: the default
	// route); routeLabels, nil without a profile, label its route metrics;
	// budget, set for a retryable route outbound, bounds its retries.
	route       *profile.Route
	routeLabels []string
	budget      *profile.Budget

	// labelBuf holds labels and after them, for one metric call at a
	// time, that call's further values: the vectors copy the values they
	// keep.
	labelBuf [24]string
	// respBody watches the final response's body (modifyResponse).
	respBody trailerWatcher
}

// setLabels sets ex.labels to info's values and the authority's.
func (ex *exchange) setLabels(info *connInfo, authority string) {
	ex.labels = append(info.appendLabelValues(ex.labelBuf[:0]), authority)
}

// labelsWith returns ex.labels followed by extra, in ex's label buffer
// (valid until the next call; the exchange's calls are sequential). The
// labels are the buffer's first values (setLabels puts them there).
func (ex *exchange) labelsWith(extra ...string) []string {
	return append(ex.labelBuf[:len(ex.labels)], extra...)
}

// httpProxy serves the HTTP connections of one side.
type httpProxy struct {
	s  *side
	rp *httputil.ReverseProxy
	// rpLoop is rp for the HTTP/1.1 loop, whose writer sends each body
	// write at once (h1Response.Write): no flush timer per response.
	rpLoop *httputil.ReverseProxy
	// origProto holds HeaderOrigProto's values for markOverH2.
	origProto *origProtoValues

	// pools holds the upstream transports per server identity ("" for
	// plaintext), so a connection verified as one identity is never
	// reused for a request that expects another.
	mu    sync.Mutex
	pools map[string]*pool
	// budgets are the retry budgets per Service port (authority).
	budgets map[string]*profile.Budget
}

// pool is the set of upstream transports for one server identity.
type pool struct {
	direct *h1Client // bodiless replayable HTTP/1 requests
	h1     *http.Transport
	h2     *h2client.Transport
}

// maxPools bounds the per-identity pools; past it the least useful are
// simply not cached (each request then builds its transport's conns anew).
const maxPools = 1024

func newHTTPProxy(s *side) *httpProxy {
	hp := &httpProxy{s: s, pools: map[string]*pool{}, budgets: map[string]*profile.Budget{}, origProto: newOrigProtoValues()}
	hp.rp = &httputil.ReverseProxy{
		Rewrite:   hp.rewrite,
		Transport: hp,
		// A response of known length leaves in as few writes as it can
		// (head and a small body in one) yet waits at most 10 ms for
		// more; a stream (no length: gRPC, chunked, server-sent events)
		// is flushed at every write. Flushing every write cost a second
		// write syscall per response: 17% of the pair's CPU time.
		FlushInterval:  10 * time.Millisecond,
		ModifyResponse: hp.modifyResponse,
		ErrorHandler:   hp.errorHandler,
		BufferPool:     newBufferPool(),
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	loop := *hp.rp
	loop.FlushInterval = 0
	hp.rpLoop = &loop
	return hp
}

// poolFor returns the transports for upstreams proving identity.
func (hp *httpProxy) poolFor(identity string) *pool {
	hp.mu.Lock()
	defer hp.mu.Unlock()
	if p, ok := hp.pools[identity]; ok {
		return p
	}
	p := &pool{direct: hp.h1Client(identity), h1: hp.h1Transport(identity), h2: hp.h2Transport(identity)}
	if len(hp.pools) < maxPools {
		hp.pools[identity] = p
	}
	return p
}

// h1Transport builds the pooled upstream transport for HTTP/1.1. Over
// mTLS the same bytes travel inside the TLS session.
func (hp *httpProxy) h1Transport(identity string) *http.Transport {
	t := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return hp.dial(ctx, addr, identity)
		},
		MaxIdleConns:           1000,
		MaxIdleConnsPerHost:    100,
		IdleConnTimeout:        hp.s.cfg.IdleTimeout,
		ResponseHeaderTimeout:  0, // routes' timeouts arrive with traffic policy
		ExpectContinueTimeout:  expectContinueTimeout,
		DisableCompression:     true,
		MaxResponseHeaderBytes: int64(hp.s.cfg.MaxHeaderBytes),
	}
	var p http.Protocols
	p.SetHTTP1(true)
	t.Protocols = &p
	return t
}

// h1Client builds the upstream client for the requests it takes, pooled
// as the HTTP/1.1 transport's.
func (hp *httpProxy) h1Client(identity string) *h1Client {
	dial := func(ctx context.Context, addr string) (net.Conn, error) { return hp.dial(ctx, addr, identity) }
	return newH1Client(dial, hp.s.cfg.IdleTimeout, hp.s.cfg.MaxHeaderBytes)
}

// h2Transport builds the upstream transport for HTTP/2 with prior
// knowledge: gRPC and other h2 clients, and HTTP/1 requests carried to
// another proxy (h2client). Requests to one endpoint share one
// connection, opened by the first of them (concurrent requests join that
// dial), and a second only once the first has no stream left.
func (hp *httpProxy) h2Transport(identity string) *h2client.Transport {
	return &h2client.Transport{
		// The dial serves every request that joins it, so it is not any
		// one request's to cancel; the connect timeout bounds it.
		Dial: func(ctx context.Context, addr string) (net.Conn, error) {
			return hp.dial(ctx, addr, identity)
		},
		MaxHeaderListSize:     uint32(hp.s.cfg.MaxHeaderBytes),
		IdleConnTimeout:       hp.s.cfg.IdleTimeout,
		ReadIdleTimeout:       30 * time.Second, // a connection that stops answering is found
		PingTimeout:           10 * time.Second, // and dropped
		ExpectContinueTimeout: expectContinueTimeout,
		Log:                   hp.s.log,
	}
}

// expectContinueTimeout is how long an upstream transport waits for 100
// Continue before it sends a body the request said it would wait with
// (RFC 9110 section 10.1.1: not indefinitely).
const expectContinueTimeout = time.Second

// dial opens an upstream connection and meters it (peer="dst").
func (hp *httpProxy) dial(ctx context.Context, addr, identity string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("upstream address %q: %w", addr, err)
	}
	c, labels, err := hp.s.dialUpstream(ctx, Endpoint{Addr: ap, Identity: identity})
	if err != nil {
		return nil, &connectError{err: err}
	}
	c = withRawIO(c) // plaintext; under TLS, dialUpstream did it
	info := &connInfo{direction: hp.s.direction, tls: labels, target: ap}
	if ex, ok := ctx.Value(exchangeKey).(*exchange); ok && hp.s.direction == Outbound && ex.endpoint.Addr == ap {
		// The connection is pooled per endpoint address, so the
		// endpoint's labels hold for every request it carries.
		info.dst = dstValues(ex.endpoint.Labels)
	}
	meter := hp.s.metrics.openConn(info.labelValues(), "dst")
	mc := newMeteredConn(c, nil, meter, info)
	mc.onClose = hp.s.track(mc)
	return mc, nil
}

// RoundTrip sends h2 requests over the h2c transport and the rest over
// HTTP/1.1, each to the pool of the endpoint's identity. A request whose
// connection could not be opened was not sent, so it goes to another
// endpoint (or, outbound, waits for the destination's next answer within
// endpointWait); its metric labels stay those of the first endpoint, so
// that request_total and response_total agree.
func (hp *httpProxy) RoundTrip(r *http.Request) (*http.Response, error) {
	ex, _ := r.Context().Value(exchangeKey).(*exchange)
	if ex == nil {
		return hp.poolFor("").roundTrip(r)
	}
	var body *heldBody
	var rec *replayBody // records the body for a retry of a failed response
	if r.Body != nil && r.Body != http.NoBody {
		rc := r.Body
		if ex.budget != nil {
			rec = &replayBody{rc: rc}
			rc = rec
		}
		body = &heldBody{rc: rc}
		r = r.WithContext(r.Context()) // a copy: the caller's request stays as it was
		r.Body = body
	}
	retries := 0
	for attempt := 1; ; attempt++ {
		ex.sent = time.Now()
		hp.actualRequest(ex)
		resp, err := hp.send(r, ex.endpoint)
		if err == nil {
			hp.actualResponse(ex, resp)
			if !hp.retryResponse(ex, r, resp, rec, retries) {
				body.release()
				return resp, nil
			}
			ep, tr, ok := hp.s.pick(ex.candidates, nil)
			if !ok {
				body.release()
				return resp, nil
			}
			retries++
			_ = resp.Body.Close()
			ex.tracker.Observe(time.Since(ex.sent))
			ex.tracker.Release()
			hp.s.log.Debug("retrying a failed response", "route", ex.route.String(), "status", resp.StatusCode, "endpoint", ex.endpoint.Addr, "next", ep.Addr)
			ex.endpoint, ex.tracker = ep, tr
			r = nextAttempt(r, ep, rec)
			continue
		}
		hp.actualResponse(ex, nil)
		var ce *connectError
		resendable := body.unread() || (rec != nil && rec.complete())
		if !errors.As(err, &ce) || attempt >= maxHTTPConnectAttempts || !resendable || r.Context().Err() != nil {
			body.release()
			return resp, err
		}
		ex.tracker.Fail()
		ex.tracker.Release()
		ex.tracker = nil
		ex.tried = append(ex.tried, ex.endpoint.Addr)
		ep, tr, ok := hp.s.pick(ex.candidates, ex.tried)
		if !ok {
			// Every endpoint failed: ask again, as connectTarget does.
			ep, tr, ok = hp.reresolve(r.Context(), ex)
		}
		if !ok {
			body.release()
			return nil, err
		}
		hp.s.metrics.connectRetries.WithLabelValues(string(hp.s.direction)).Inc()
		hp.s.log.Debug("connect failed, trying another endpoint", "endpoint", ex.endpoint.Addr, "next", ep.Addr, "error", err)
		ex.endpoint, ex.tracker = ep, tr
		r = nextAttempt(r, ep, rec)
	}
}

// nextAttempt is r aimed at ep, with the recorded body when the first
// attempt read it (an unread body is still the original, held open).
func nextAttempt(r *http.Request, ep Endpoint, rec *replayBody) *http.Request {
	u := *r.URL
	u.Host = ep.addrText()
	trailer := r.Trailer // the body fills it in (rewrite)
	r = r.Clone(r.Context())
	r.URL = &u
	r.Trailer = trailer
	if rec != nil && rec.complete() {
		r.Body, r.ContentLength = rec.replay()
	}
	return r
}

// heldBody is a request body that may be sent again after a failed
// connect: the transport closes a request's body when its round trip
// fails, so the close is held back until the request's last attempt, and
// a body already read from is never retried.
type heldBody struct {
	rc io.ReadCloser

	mu      sync.Mutex
	read    bool
	closed  bool // the transport closed it while held
	settled bool // the last attempt is under way: Close goes through
}

func (b *heldBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 || err != nil {
		b.mu.Lock()
		b.read = true
		b.mu.Unlock()
	}
	return n, err
}

func (b *heldBody) Close() error {
	b.mu.Lock()
	if !b.settled && !b.read {
		b.closed = true
		b.mu.Unlock()
		return nil
	}
	b.mu.Unlock()
	return b.rc.Close()
}

// unread reports whether the body can still be sent whole (true for none).
func (b *heldBody) unread() bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.read
}

// release ends the holding: a close held back happens now, later ones go
// straight through.
func (b *heldBody) release() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.settled = true
	closed := b.closed
	b.mu.Unlock()
	if closed {
		_ = b.rc.Close()
	}
}

// maxHTTPConnectAttempts bounds the connects one request makes, across
// re-resolutions.
const maxHTTPConnectAttempts = 8

// reresolve waits a moment, within endpointWait of the request's start,
// and picks from the target's endpoints anew, when the destination may
// answer differently (see connectTarget).
func (hp *httpProxy) reresolve(ctx context.Context, ex *exchange) (Endpoint, *balance.Tracker, bool) {
	pause := resolvePause(ex.rounds)
	ex.rounds++
	if !hp.s.resolvesAgain() || time.Since(ex.start)+pause > endpointWait || !sleepCtx(ctx, pause) {
		return Endpoint{}, nil, false
	}
	eps, err := hp.s.endpoints(ctx, ex.target)
	if err != nil {
		return Endpoint{}, nil, false
	}
	ex.candidates, ex.tried = eps, nil
	return hp.s.pick(eps, nil)
}

func (p *pool) roundTrip(r *http.Request) (*http.Response, error) {
	if r.ProtoMajor == 2 {
		return p.h2.RoundTrip(r)
	}
	if p.direct.takes(r) {
		return p.direct.roundTrip(r)
	}
	return p.h1.RoundTrip(r)
}

// connectError is a failure to open (or, over mTLS, to verify) an upstream
// connection: the request was not sent.
type connectError struct{ err error }

func (e *connectError) Error() string { return e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

func (hp *httpProxy) closeIdle() {
	hp.mu.Lock()
	defer hp.mu.Unlock()
	for _, p := range hp.pools {
		p.direct.closeIdle()
		p.h1.CloseIdleConnections()
		p.h2.CloseIdleConnections()
	}
}

// server is the http.Server of this side; it serves the HTTP/1.x
// connections the HTTP/1.1 loop hands over (HTTP/2 is h2server's). There
// is no h2c Upgrade (RFC 7540 section 3.2 was removed by RFC 9113), so no
// request can switch a meshed port's protocol.
func (hp *httpProxy) server() *http.Server {
	var p http.Protocols
	p.SetHTTP1(true)
	return &http.Server{
		Handler:   hp,
		Protocols: &p,
		// OPTIONS * asks the application what it supports: the
		// application answers it, not the proxy.
		DisableGeneralOptionsHandler: true,
		ReadHeaderTimeout:            hp.s.cfg.ReadHeaderTimeout,
		IdleTimeout:                  hp.s.cfg.IdleTimeout,
		MaxHeaderBytes:               hp.s.cfg.MaxHeaderBytes,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if mc, ok := c.(*meteredConn); ok {
				return context.WithValue(ctx, connInfoKey, mc.info)
			}
			return ctx
		},
		ConnState: func(c net.Conn, st http.ConnState) {
			if mc, ok := c.(*meteredConn); ok {
				if st == http.StateActive {
					mc.requests.Add(1)
				}
				mc.serving.Store(st == http.StateActive)
			}
		},
		ErrorLog: slog.NewLogLogger(hp.s.log.Handler(), slog.LevelDebug),
	}
}

func (hp *httpProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := checkTarget(r); err != nil {
		hp.s.log.Debug("request target cannot be forwarded", "peer", r.RemoteAddr, "error", err)
		if r.ProtoMajor == 1 {
			w.Header().Set("Connection", "close")
		}
		writeProxyError(w, http.StatusBadRequest, "bad_request")
		return
	}
	if err := hp.checkH2Request(r); err != nil {
		http.Error(w, "proxy: "+err.Error(), http.StatusBadRequest)
		return
	}
	hp.serve(w, r, r.Context())
}

// serve proxies r within base, the connection's context, which is r's own
// under net/http; the HTTP/1.1 loop passes its connection's and saves a
// copy of the request.
func (hp *httpProxy) serve(w http.ResponseWriter, r *http.Request, base context.Context) {
	info, _ := base.Value(connInfoKey).(*connInfo)
	if info == nil {
		http.Error(w, "proxy: connection without metadata", http.StatusInternalServerError)
		return
	}
	dropBadTrailerNames(r)
	if hp.s.direction == Inbound {
		// Only the proxy vouches for a client's identity.
		delete(r.Header, keyClientID)
		if info.tls.clientID != "" {
			r.Header.Set(keyClientID, info.tls.clientID)
		}
	}
	m := hp.s.metrics
	ex := &exchange{start: time.Now(), series: info.series, overH2: r.ProtoMajor == 2, h2Client: r.ProtoMajor == 2 && r.Header.Get(keyOrigProto) == ""}
	hp.routeOf(base, r, Target{Addr: info.target, Authority: r.Host}, ex)
	if info.denied != nil {
		ex.tap = hp.s.taps.begin(r, info, info.target, ex.start)
		ex.setLabels(info, m.authorities.value(r.Host))
		ex.series.request(m, ex.labels).Inc()
		ex.status, ex.err = http.StatusForbidden, "forbidden"
		w.Header().Set("meshctl-proxy-error", "forbidden")
		w.Header().Set("Connection", "close")
		if grpcRequest(r) {
			// gRPC clients read the status from grpc-status, not HTTP.
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set("Grpc-Status", "7") // PERMISSION_DENIED
			w.Header().Set("Grpc-Message", "meshctl proxy: refused by inbound policy")
			w.WriteHeader(http.StatusOK)
			ex.status, ex.grpc = http.StatusOK, "7"
		} else {
			http.Error(w, info.denied.Error(), http.StatusForbidden)
		}
		hp.record(ex)
		return
	}
	eps, err := hp.s.connEndpoints(base, info, r.Host)
	var ep Endpoint
	if err == nil {
		var ok bool
		ep, ex.tracker, ok = hp.s.pick(eps, nil)
		if !ok {
			err = fmt.Errorf("resolve %s: no endpoints", info.target)
		}
	}
	labels := info
	if hp.s.direction == Outbound {
		// Outbound series describe the hop to the server: mTLS or not,
		// and whom it proved to be; a request with no endpoint to send it
		// to went nowhere, in plaintext or otherwise.
		l := *info
		if err == nil {
			l.tls = hp.s.upstreamLabels(ep)
			l.dst = dstValues(ep.Labels)
		} else {
			l.tls = tlsLabels{tls: "no_identity", noTLSReason: "no_endpoints"}
		}
		labels = &l
	}
	ex.setLabels(labels, m.authorities.value(r.Host))
	ex.series.request(m, ex.labels).Inc()
	ex.tap = hp.s.taps.begin(r, labels, tapDestination(ep, info), ex.start)
	if err != nil {
		ex.err = "no_endpoints"
		ex.status = http.StatusServiceUnavailable
		w.Header().Set("meshctl-proxy-error", "no_endpoints")
		http.Error(w, "proxy: "+err.Error(), http.StatusServiceUnavailable)
		hp.record(ex)
		return
	}
	ex.endpoint, ex.candidates = ep, eps
	ex.target = Target{Addr: info.target, Authority: r.Host}
	if r.Body != nil && r.Body != http.NoBody {
		watcher := &requestBodyWatcher{ReadCloser: r.Body, ex: ex}
		if r.ProtoMajor == 2 {
			watcher.trailer = r.Trailer
		}
		r.Body = watcher
		if r.ProtoMajor == 1 {
			// Request and response stream at once. Without this, the
			// HTTP/1 server reads the rest of the request body when the
			// response headers are written, racing the upstream
			// transport's last read of it. The transport then fails
			// the write and closes the upstream connection, which cut
			// responses at the first buffer (3965 bytes of a 7 KB echo).
			_ = http.NewResponseController(w).EnableFullDuplex()
		}
	}
	if r.Method == http.MethodConnect && r.ProtoMajor == 1 {
		defer hp.record(ex)
		hp.serveConnect(w, r, ex)
		return
	}
	// Deferred: the reverse proxy ends a response whose body broke off by
	// panicking with http.ErrAbortHandler, and that exchange counts too.
	defer hp.record(ex)
	ctx := context.WithValue(base, exchangeKey, ex)
	if ex.route != nil && ex.route.Timeout > 0 {
		// The route's timeout covers the whole exchange, retries included.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ex.route.Timeout)
		defer cancel()
	}
	if fw, ok := w.(forwardWriter); ok && r.Body == http.NoBody {
		hp.forward(fw, r, ctx)
		return
	}
	rp := hp.rp
	if _, ok := w.(*h1Response); ok {
		rp = hp.rpLoop
	} else {
		w = relayWriter{ResponseWriter: w, serverContinues: r.ContentLength != 0 && expectsContinue(r.Header)}
	}
	rp.ServeHTTP(w, r.WithContext(ctx))
}

// relayWriter is net/http's response writer as the reverse proxy relays
// an upstream's response through it. It keeps the servers from adding a
// Content-Type the application did not send (they sniff one from the body,
// which turns an unlabelled body into HTML): a field without values stops
// them and is not written. And it drops a 1xx response's hop-by-hop fields,
// which the reverse proxy passes on as they came (h1Response does both
// itself).
//
// When serverContinues, the server answers the client's Expect:
// 100-continue itself, once the body is first read, which the upstream
// transport does when the application's 100 Continue arrives: that 100
// is then not relayed. Relayed too, it could cross the server's own (the
// transport starts reading the body before the trace passes the 100 on),
// and net/http's server would send the client two.
type relayWriter struct {
	http.ResponseWriter
	serverContinues bool
}

func (w relayWriter) WriteHeader(code int) {
	if code == http.StatusContinue && w.serverContinues {
		return
	}
	h := w.Header()
	switch {
	case code < 200 && code != http.StatusSwitchingProtocols:
		removeHopByHop(h)
	case code >= 200:
		if _, ok := h["Content-Type"]; !ok {
			h["Content-Type"] = nil
		}
	}
	w.ResponseWriter.WriteHeader(code)
	if code >= 200 {
		// net/http's servers have copied the head by now.
		forgetHeadValuesOfTrailers(h, appendDeclaredTrailers(nil, h))
	}
}

// appendDeclaredTrailers appends to names the canonical names h's Trailer
// field declares.
func appendDeclaredTrailers(names []string, h http.Header) []string {
	for _, v := range h["Trailer"] {
		for _, k := range strings.Split(v, ",") {
			if k = http.CanonicalHeaderKey(strings.TrimSpace(k)); k != "" {
				names = append(names, k)
			}
		}
	}
	return names
}

// forgetHeadValuesOfTrailers removes from h, once the head it held is
// written, the fields named as declared trailers. A response writer sends a
// declared trailer with whatever value h holds under its name at the end,
// and the proxy sets only the trailers the upstream sent: a field the
// upstream sent in its head under a name it also declared, and then did
// not send as a trailer, would otherwise be sent a second time, as that
// trailer.
func forgetHeadValuesOfTrailers(h http.Header, declared []string) {
	for _, k := range declared {
		delete(h, k)
	}
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w relayWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (hp *httpProxy) rewrite(pr *httputil.ProxyRequest) {
	ex := pr.In.Context().Value(exchangeKey).(*exchange)
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = ex.endpoint.addrText()
	pr.Out.Host = requestHost(pr.In, ex)
	// The body fills in the incoming request's declared trailers when it
	// ends; the clone the reverse proxy made has a copy of the map, and
	// would send the trailers empty.
	pr.Out.Trailer, pr.Out.Body = forwardedTrailers(pr.In, pr.Out.Body)
	hp.restoreOrigProto(pr.In, pr.Out)
}

// forwardedTrailers returns the trailers and body of the request sent on
// for in: its declared trailers less those only the proxies set
// (meshctl-client-id above all, which an application may trust) and the
// connection-specific ones (RFC 9113 section 8.2.2), which net/http's
// servers let through as trailers; the body fills them in from in's as it
// ends.
func forwardedTrailers(in *http.Request, body io.ReadCloser) (http.Header, io.ReadCloser) {
	if body == nil || body == http.NoBody {
		if len(in.Trailer) == 0 || in.Body == nil || in.Body == http.NoBody {
			return nil, body
		}
		// An HTTP/2 request declaring content-length 0 whose stream
		// ends with trailers: the reverse proxy dropped its body, and
		// with trailers but no body x/net's HTTP/2 transport would leave
		// the stream open after the head, waiting for trailers it never
		// sends. Sent on with the incoming body, which ends at once, the
		// trailers follow it; the length goes unstated, as a body of
		// unknown length (HTTP/1.1 can carry trailers only so).
		body = in.Body
	}
	if len(in.Trailer) == 0 {
		return in.Trailer, body
	}
	t := http.Header{}
	for k := range in.Trailer {
		if connectionSpecific(k) {
			continue
		}
		switch http.CanonicalHeaderKey(k) {
		case keyClientID, keyOrigProto, keyOrigExpect, "Te":
			continue
		}
		t[k] = nil
	}
	return t, &trailerBody{ReadCloser: body, from: in.Trailer, to: t}
}

// requestHost is the Host of the request sent on: the client's, or for an
// HTTP/1.0 request without one, the address the client connected to (a
// Service's, say), rather than the endpoint picked behind it, which the
// transport would name.
func requestHost(in *http.Request, ex *exchange) string {
	if in.Host == "" && ex.target.Addr.IsValid() {
		return ex.target.Addr.String()
	}
	return in.Host
}

// modifyResponse refuses a status code below 100 (a 502 then), notes the
// time to first byte and wraps the body so that gRPC trailers are seen
// when the stream ends.
func (hp *httpProxy) modifyResponse(resp *http.Response) error {
	if resp.StatusCode < 100 {
		// net/http's parser takes any three digits, but no class of
		// status starts with 0: passed on, the loop's writer would turn
		// it into its own 500 and net/http's server would panic.
		return fmt.Errorf("upstream sent malformed status code %03d", resp.StatusCode)
	}
	ex := resp.Request.Context().Value(exchangeKey).(*exchange)
	ex.mu.Lock()
	ex.status = resp.StatusCode
	ex.grpc = grpcLabel(resp.Header.Get("Grpc-Status")) // trailers-only responses
	ex.mu.Unlock()
	if ex.h2Client {
		// An HTTP/1 client (gRPC-Web, or a request another proxy
		// carried) reads the status where the application put it.
		moveGRPCStatusToTrailers(resp)
	}
	if resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified {
		// No body, whatever Content-Length says (RFC 9110 section
		// 6.4.1): x/net's HTTP/2 transport believes the field for one
		// and fails its read when the stream ends without it, and a
		// 204 may not carry it at all (section 8.6).
		if resp.StatusCode == http.StatusNoContent {
			delete(resp.Header, "Content-Length")
		}
		if resp.Body != nil && resp.Body != http.NoBody {
			_ = resp.Body.Close()
			resp.Body = http.NoBody
		}
	}
	ex.tracker.Observe(time.Since(ex.sent))
	m := hp.s.metrics
	lat := ex.labelsWith(statusLabel(resp.StatusCode))
	ms := float64(time.Since(ex.start).Microseconds()) / 1000
	ex.series.latencyOf(m, lat).Observe(ms)
	hp.observeRouteLatency(ex, resp.StatusCode, ms)
	// A 101 body is the upgraded connection itself: ReverseProxy needs it
	// unwrapped (an io.ReadWriteCloser) to splice the two sides.
	if resp.Body != nil && resp.Body != http.NoBody && resp.StatusCode != http.StatusSwitchingProtocols {
		// Kept in the exchange: one allocation fewer per response (an
		// exchange has one final response).
		ex.respBody = trailerWatcher{ReadCloser: resp.Body, resp: resp, ex: ex}
		resp.Body = &ex.respBody
	}
	ex.tap.response(resp)
	return nil
}

// grpcLabel is the grpc_status label of a Grpc-Status value: a code gRPC
// defines (0 to 16, in decimal) or "other". The value is the upstream's
// to choose: one that is not UTF-8 made the metric vector panic (and the
// response was lost), and arbitrary ones would each start a series.
func grpcLabel(v string) string {
	if v == "" {
		return ""
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 16 && strconv.Itoa(n) == v {
		return v
	}
	return "other"
}

func grpcRequest(r *http.Request) bool {
	return r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc")
}

// moveGRPCStatusToTrailers turns a gRPC trailers-only response (its status
// in the single HEADERS frame) into headers plus trailers. The reverse proxy
// may flush the headers before it knows the body is empty, and a gRPC
// client reads grpc-status in the first HEADERS frame only when that frame
// ends the stream; sent as trailers, the status always arrives.
func moveGRPCStatusToTrailers(resp *http.Response) {
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/grpc") || resp.Header.Get("Grpc-Status") == "" {
		return
	}
	if resp.Trailer == nil {
		resp.Trailer = http.Header{}
	}
	for _, k := range []string{"Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin"} {
		if v, ok := resp.Header[k]; ok {
			resp.Trailer[k] = v
			delete(resp.Header, k)
		}
	}
}

// trailerWatcher captures grpc-status from the trailers at end of stream,
// and notes a stream that broke off.
type trailerWatcher struct {
	io.ReadCloser
	resp *http.Response
	ex   *exchange
	n    int64 // bytes read
}

// Ready passes on the watched body's readiness (bodyReady).
func (t *trailerWatcher) Ready() bool { return bodyReady(t.ReadCloser) }

func (t *trailerWatcher) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	t.n += int64(n)
	switch {
	case errors.Is(err, io.EOF):
		if g := grpcLabel(t.resp.Trailer.Get("Grpc-Status")); g != "" {
			t.ex.mu.Lock()
			t.ex.grpc = g
			t.ex.mu.Unlock()
		}
	case err != nil && !t.complete():
		t.ex.mu.Lock()
		t.ex.err = "stream_reset"
		t.ex.mu.Unlock()
	}
	return n, err
}

// complete reports whether every byte of a body of known length has been
// read. A client that had them all may close at once, before the proxy
// reads the end of the stream (over HTTP/2 an END_STREAM frame of its
// own): that response was delivered whole.
func (t *trailerWatcher) complete() bool {
	return t.resp.ContentLength >= 0 && t.n >= t.resp.ContentLength
}

func (hp *httpProxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	ex := r.Context().Value(exchangeKey).(*exchange)
	// The upstream was reached, or not: an answer that broke off or was
	// no response is the application's fault, a connection that could
	// not be opened the network's (or the peer's identity).
	status, reason := http.StatusBadGateway, "upstream_error"
	if ce := (*connectError)(nil); errors.As(err, &ce) {
		reason = "connect_error"
	}
	switch {
	case isSmuggling(err) || ex.clientBodyFailed():
		// The client's body was malformed or cut short: its fault. An
		// HTTP/1.1 connection cannot be trusted for another request; an
		// HTTP/2 stream fails alone (a reset, a bad length), and a
		// GOAWAY would take the connection's other streams with it (r
		// is the upstream's request: an HTTP/1 request carried between
		// proxies reads HTTP/1.1 by now).
		status, reason = http.StatusBadRequest, "bad_request"
		if !ex.overH2 {
			w.Header().Set("Connection", "close")
		}
	case errors.Is(err, context.Canceled):
		status, reason = 499, "client_cancelled" // the client went away; nobody reads this
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		status, reason = http.StatusGatewayTimeout, "timeout"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		status, reason = http.StatusGatewayTimeout, "timeout"
	}
	ex.mu.Lock()
	if ex.status != 0 {
		// The response had started: the stream broke mid-body.
		reason = "stream_reset"
		status = ex.status
	}
	ex.status = status
	ex.err = reason
	ex.mu.Unlock()
	hp.s.log.Debug("upstream error", "endpoint", ex.endpoint.Addr, "error", err)
	if status == 499 {
		// Left unwritten, the response would go out as an empty 200;
		// a client still reading (one whose connection's read failed,
		// a half-close) learns from the connection's end that the
		// request was dropped.
		panic(http.ErrAbortHandler)
	}
	writeProxyError(w, status, reason)
}

// requestBodyWatcher notes a failure to read the client's body, so that the
// error is blamed on the client (400) rather than the upstream (502). An
// HTTP/2 request's trailers are checked when its body ends
// (checkH2Trailers): malformed, they fail the body, so that the upstream
// stream is reset rather than ended and the application never has the
// request whole.
type requestBodyWatcher struct {
	io.ReadCloser
	ex      *exchange
	trailer http.Header
}

func (b *requestBodyWatcher) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && b.trailer != nil {
		if terr := checkH2Trailers(b.trailer); terr != nil {
			err = terr
		}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		b.ex.mu.Lock()
		b.ex.bodyErr = err
		b.ex.mu.Unlock()
	}
	return n, err
}

func (ex *exchange) clientBodyFailed() bool {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.bodyErr != nil
}

// record counts the response once the exchange is over.
func (hp *httpProxy) record(ex *exchange) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if ex.recorded {
		return
	}
	ex.recorded = true
	ex.tracker.Release()
	class := "success"
	if ex.status >= 500 || ex.err != "" || (ex.grpc != "" && ex.grpc != "0") {
		class = "failure"
	}
	vals := ex.labelsWith(statusLabel(ex.status), class, ex.grpc, ex.err)
	ex.series.response(hp.s.metrics, vals).Inc()
	hp.recordRoute(ex)
	ex.tap.end(ex.status, ex.grpc, ex.err)
}
