package proxy

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	tapapi "github.com/meshctl/meshctl/pkg/api/tap"
)

// Bounds of the tap server.
const (
	// tapBufferEvents is each stream's queue; past it events are dropped
	// (and counted), never waited for.
	tapBufferEvents = 1024
	// tapWriteTimeout bounds each write to a tap client: a client that
	// reads nothing for this long loses its stream.
	tapWriteTimeout = 10 * time.Second
	// tapBodyTimeout bounds the reading of the request body.
	tapBodyTimeout = 10 * time.Second
	// tapMaxLifetime ends every stream after this long.
	tapMaxLifetime = time.Hour
	// Longest request values copied into events.
	tapMaxPath      = 1024
	tapMaxAuthority = 256
	tapMaxMethod    = 32
)

// tapHub fans the events of sampled HTTP exchanges out to the open tap
// streams. With no stream open, begin costs one atomic load.
type tapHub struct {
	// open counts the streams; begin returns at once when it is zero.
	open       atomic.Int32
	maxStreams int32
	tokenHash  []byte // sha256 of the tap token; nil disables tap
	log        *slog.Logger
	seq        atomic.Uint64

	mu      sync.RWMutex
	streams map[*tapStream]struct{}
	closed  chan struct{}
	once    sync.Once
}

func newTapHub(cfg Config, log *slog.Logger) *tapHub {
	h := &tapHub{
		maxStreams: int32(cfg.TapMaxStreams),
		log:        log.With("component", "tap"),
		streams:    map[*tapStream]struct{}{},
		closed:     make(chan struct{}),
	}
	if cfg.TapTokenSHA256 != "" {
		h.tokenHash, _ = hex.DecodeString(cfg.TapTokenSHA256) // validated by Config.Validate
	}
	return h
}

// close ends every stream (proxy shutdown).
func (h *tapHub) close() { h.once.Do(func() { close(h.closed) }) }

// tapStream is one client's stream.
type tapStream struct {
	filter  tapFilter
	limiter *rate.Limiter
	events  chan tapapi.Event
	dropped atomic.Uint64
}

// send queues ev without ever blocking the proxied request.
func (s *tapStream) send(ev tapapi.Event) {
	select {
	case s.events <- ev:
	default:
		s.dropped.Add(1)
	}
}

// tapFilter is a parsed tapapi.Request.
type tapFilter struct {
	direction                     Direction
	method, pathPrefix, authority string
	to, from                      []addrMatch
}

// addrMatch matches an IP, and a port when port is not zero.
type addrMatch struct {
	addr netip.Addr
	port uint16
}

func parseAddrMatches(field string, in []string) ([]addrMatch, error) {
	if len(in) > tapapi.MaxAddrs {
		return nil, fmt.Errorf("%s: %d addresses, at most %d", field, len(in), tapapi.MaxAddrs)
	}
	out := make([]addrMatch, 0, len(in))
	for _, s := range in {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			out = append(out, addrMatch{addr: ap.Addr().Unmap(), port: ap.Port()})
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is neither an IP nor ip:port", field, s)
		}
		out = append(out, addrMatch{addr: a.Unmap()})
	}
	return out, nil
}

func matchAddr(ms []addrMatch, ap netip.AddrPort) bool {
	if len(ms) == 0 {
		return true
	}
	a := ap.Addr().Unmap()
	for _, m := range ms {
		if m.addr == a && (m.port == 0 || m.port == ap.Port()) {
			return true
		}
	}
	return false
}

// parseTapRequest validates a request and returns its filter and rate.
func parseTapRequest(req tapapi.Request) (tapFilter, float64, error) {
	f := tapFilter{method: req.Method, pathPrefix: req.PathPrefix, authority: req.Authority}
	switch req.Direction {
	case "":
	case tapapi.DirectionInbound:
		f.direction = Inbound
	case tapapi.DirectionOutbound:
		f.direction = Outbound
	default:
		return tapFilter{}, 0, fmt.Errorf("direction %q: use inbound, outbound or nothing", req.Direction)
	}
	var err error
	if f.to, err = parseAddrMatches("toAddrs", req.ToAddrs); err != nil {
		return tapFilter{}, 0, err
	}
	if f.from, err = parseAddrMatches("fromAddrs", req.FromAddrs); err != nil {
		return tapFilter{}, 0, err
	}
	rps := req.MaxRPS
	switch {
	case rps == 0:
		rps = tapapi.DefaultMaxRPS
	case rps < 0 || rps > tapapi.LimitMaxRPS:
		return tapFilter{}, 0, fmt.Errorf("maxRps %g: want more than 0 and at most %d", rps, tapapi.LimitMaxRPS)
	}
	return f, rps, nil
}

func (f *tapFilter) matches(d Direction, r *http.Request, src, dst netip.AddrPort) bool {
	return (f.direction == "" || f.direction == d) &&
		(f.method == "" || f.method == r.Method) &&
		(f.authority == "" || f.authority == r.Host) &&
		strings.HasPrefix(r.URL.Path, f.pathPrefix) &&
		matchAddr(f.to, dst) && matchAddr(f.from, src)
}

// tapExchange is one sampled exchange and the streams that report it.
type tapExchange struct {
	id      uint64
	streams []*tapStream
	base    tapapi.Event
	start   time.Time
	bytes   atomic.Int64
}

// begin samples an exchange for the open streams whose filter it matches
// and that have budget left, and sends its req event. It returns nil (no
// further cost) when no stream takes it. l describes the hop (for
// outbound, the upstream's TLS), dst is where the request goes.
func (h *tapHub) begin(r *http.Request, l *connInfo, dst netip.AddrPort, start time.Time) *tapExchange {
	if h == nil || h.open.Load() == 0 {
		return nil
	}
	var takers []*tapStream
	h.mu.RLock()
	for s := range h.streams {
		if s.filter.matches(l.direction, r, l.peer, dst) && s.limiter.Allow() {
			takers = append(takers, s)
		}
	}
	h.mu.RUnlock()
	if len(takers) == 0 {
		return nil
	}
	tx := &tapExchange{id: h.seq.Add(1), streams: takers, start: start}
	tx.base = tapapi.Event{
		ID:          tx.id,
		Proxy:       string(l.direction),
		Source:      l.peer.String(),
		Destination: dst.String(),
		TLS:         l.tls.tls,
		NoTLSReason: l.tls.noTLSReason,
		ClientID:    l.tls.clientID,
		ServerID:    l.tls.serverID,
	}
	ev := tx.base
	ev.Type, ev.Time = tapapi.TypeRequest, start
	ev.Method = truncate(r.Method, tapMaxMethod)
	ev.Scheme = "http"
	ev.Authority = truncate(r.Host, tapMaxAuthority)
	ev.Path = truncate(r.URL.RequestURI(), tapMaxPath)
	tx.send(ev)
	return tx
}

func (tx *tapExchange) send(ev tapapi.Event) {
	for _, s := range tx.streams {
		s.send(ev)
	}
}

// response sends the rsp event and counts the response body's bytes.
func (tx *tapExchange) response(resp *http.Response) {
	if tx == nil {
		return
	}
	now := time.Now()
	ev := tx.base
	ev.Type, ev.Time = tapapi.TypeResponse, now
	ev.Status = resp.StatusCode
	ev.LatencyMicros = now.Sub(tx.start).Microseconds()
	tx.send(ev)
	if resp.Body != nil && resp.Body != http.NoBody && resp.StatusCode != http.StatusSwitchingProtocols {
		resp.Body = &tapBodyCounter{ReadCloser: resp.Body, n: &tx.bytes}
	}
}

// end sends the end event of the exchange.
func (tx *tapExchange) end(status int, grpcStatus, errLabel string) {
	if tx == nil {
		return
	}
	now := time.Now()
	ev := tx.base
	ev.Type, ev.Time = tapapi.TypeEnd, now
	ev.Status = status
	ev.GRPCStatus = grpcStatus
	ev.Error = errLabel
	ev.DurationMicros = now.Sub(tx.start).Microseconds()
	ev.ResponseBytes = tx.bytes.Load()
	tx.send(ev)
}

// tapBodyCounter counts the bytes of a tapped response body.
type tapBodyCounter struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *tapBodyCounter) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// authorized checks the tap token in constant time. A proxy without a
// configured token refuses everyone: tap is off.
func (h *tapHub) authorized(r *http.Request) bool {
	if len(h.tokenHash) != sha256.Size {
		return false
	}
	token := r.Header.Get(tapapi.HeaderToken)
	if token == "" {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(sum[:], h.tokenHash) == 1
}

// add registers s unless maxStreams are open.
func (h *tapHub) add(s *tapStream) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if int32(len(h.streams)) >= h.maxStreams {
		return false
	}
	h.streams[s] = struct{}{}
	h.open.Store(int32(len(h.streams)))
	return true
}

func (h *tapHub) remove(s *tapStream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.streams, s)
	h.open.Store(int32(len(h.streams)))
}

// handler serves the control port: POST /tap, nothing else.
func (h *tapHub) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+tapapi.Path, h.serveTap)
	return mux
}

// serveTap streams events to one authorized client.
func (h *tapHub) serveTap(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(r) {
		h.log.Info("tap refused: missing or wrong token", "peer", r.RemoteAddr)
		http.Error(w, "tap: forbidden: a valid "+tapapi.HeaderToken+" header is required", http.StatusForbidden)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(tapBodyTimeout))
	var req tapapi.Request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, tapapi.MaxRequestBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		http.Error(w, "tap: bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	_ = rc.SetReadDeadline(time.Time{})
	filter, rps, err := parseTapRequest(req)
	if err != nil {
		http.Error(w, "tap: bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	s := &tapStream{
		filter:  filter,
		limiter: rate.NewLimiter(rate.Limit(rps), max(1, int(rps/10))), // bursts of 100 ms' budget
		events:  make(chan tapapi.Event, tapBufferEvents),
	}
	if !h.add(s) {
		http.Error(w, fmt.Sprintf("tap: too many tap streams (at most %d): try again when another ends", h.maxStreams), http.StatusTooManyRequests)
		return
	}
	defer h.remove(s)
	h.log.Info("tap stream opened", "peer", r.RemoteAddr, "max_rps", rps)
	w.Header().Set("Content-Type", tapapi.ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	err = h.pump(r, rc, bufio.NewWriter(w), s)
	h.log.Info("tap stream closed", "peer", r.RemoteAddr, "reason", err)
}

// pump writes s's events until the client goes away, a write times out,
// the stream's lifetime ends or the proxy shuts down.
func (h *tapHub) pump(r *http.Request, rc *http.ResponseController, bw *bufio.Writer, s *tapStream) error {
	write := func(ev tapapi.Event) error {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		_ = rc.SetWriteDeadline(time.Now().Add(tapWriteTimeout))
		_, _ = bw.Write(b)
		_ = bw.WriteByte('\n')
		if err := bw.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := rc.Flush(); err != nil { // the client learns the stream is open
		return err
	}
	lifetime := time.NewTimer(tapMaxLifetime)
	defer lifetime.Stop()
	for {
		select {
		case <-r.Context().Done():
			return r.Context().Err()
		case <-h.closed:
			return errors.New("proxy shutting down")
		case <-lifetime.C:
			return fmt.Errorf("stream lifetime %s reached", tapMaxLifetime)
		case ev := <-s.events:
			if n := s.dropped.Swap(0); n > 0 {
				if err := write(tapapi.Event{Type: tapapi.TypeDropped, Time: time.Now(), Dropped: n}); err != nil {
					return err
				}
			}
			if err := write(ev); err != nil {
				return err
			}
		}
	}
}

// tapDestination is where a request goes: the chosen endpoint, else the
// connection's original destination.
func tapDestination(ep Endpoint, info *connInfo) netip.AddrPort {
	if ep.Addr.IsValid() {
		return ep.Addr
	}
	return info.target
}
