package proxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// connInfo is what the proxy knows about one accepted connection.
type connInfo struct {
	direction Direction
	// target is the connection's original destination; targetStr, when
	// not empty, is its text, formatted once per connection by setTarget
	// rather than for every request's labels.
	target    netip.AddrPort
	targetStr string
	peer      netip.AddrPort
	tls       tlsLabels
	// appTLS marks a TLS connection for another name than this proxy's:
	// the application's own TLS, proxied as opaque bytes.
	appTLS bool
	// denied is the inbound policy's refusal, nil when allowed.
	denied error
	// dst are the values of dstLabelNames (outbound, once an endpoint is
	// chosen); nil means all empty.
	dst []string
	// series remembers the connection's request metric series; copies of
	// the info share it, and nil counts without remembering.
	series *seriesCache
	// endpoints are the target's endpoints when configuration decides
	// them (side.configuredEndpoints), computed once for the connection's
	// requests; nil: the destination is asked for each.
	endpoints []Endpoint
}

// dstLabelCount is len(dstLabelNames()), kept constant for the path every
// request takes.
const dstLabelCount = 7

// labelValues returns the values of connLabelNames for the connection.
func (c *connInfo) labelValues() []string {
	return c.appendLabelValues(make([]string, 0, 6+dstLabelCount))
}

// appendLabelValues appends the values of connLabelNames to v.
func (c *connInfo) appendLabelValues(v []string) []string {
	target := c.targetStr
	if target == "" {
		target = c.target.String()
	}
	v = append(v, string(c.direction), target, c.tls.tls, c.tls.noTLSReason, c.tls.clientID, c.tls.serverID)
	n := len(v)
	v = append(v, make([]string, dstLabelCount)...)
	copy(v[n:], c.dst) // none: all empty
	return v
}

// setTarget sets the connection's original destination and its text.
func (c *connInfo) setTarget(ap netip.AddrPort) {
	c.target, c.targetStr = ap, ap.String()
}

// connMeter records one connection's TCP metrics. Counter handles are looked
// up once, when the connection opens, to keep the per-read cost low.
type connMeter struct {
	read, write prometheus.Counter
	open        prometheus.Gauge
	m           *metrics
	labels      []string
	start       time.Time
	once        sync.Once
}

// addRead counts n bytes read; a nil meter counts nothing.
func (m *connMeter) addRead(n int) {
	if m != nil && n > 0 {
		m.read.Add(float64(n))
	}
}

// addWrite counts n bytes written; a nil meter counts nothing.
func (m *connMeter) addWrite(n int) {
	if m != nil && n > 0 {
		m.write.Add(float64(n))
	}
}

func (m *metrics) openConn(connLabels []string, peer string) *connMeter {
	labels := append(append([]string(nil), connLabels...), peer)
	cm := &connMeter{
		read:   m.tcpRead.WithLabelValues(labels...),
		write:  m.tcpWrite.WithLabelValues(labels...),
		open:   m.tcpOpenConn.WithLabelValues(labels...),
		m:      m,
		labels: labels,
		start:  time.Now(),
	}
	m.tcpOpen.WithLabelValues(labels...).Inc()
	cm.open.Inc()
	return cm
}

// close records the end of the connection once; err is the error that ended
// it, nil for a clean close.
func (c *connMeter) close(err error) {
	c.once.Do(func() {
		c.open.Dec()
		labels := append(append([]string(nil), c.labels...), errnoLabel(err))
		c.m.tcpClose.WithLabelValues(labels...).Inc()
		c.m.tcpDuration.WithLabelValues(labels...).Observe(float64(time.Since(c.start).Milliseconds()))
	})
}

// errnoLabel names the errno that ended a connection ("" when clean).
func errnoLabel(err error) string {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return ""
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ECONNRESET:
			return "ECONNRESET"
		case syscall.ECONNREFUSED:
			return "ECONNREFUSED"
		case syscall.EPIPE:
			return "EPIPE"
		case syscall.ETIMEDOUT:
			return "ETIMEDOUT"
		case syscall.EHOSTUNREACH:
			return "EHOSTUNREACH"
		case syscall.ENETUNREACH:
			return "ENETUNREACH"
		default:
			return "EOTHER"
		}
	}
	return ""
}

// meteredConn counts the bytes of a connection served by the HTTP stack and
// records its close. It also replays bytes read during protocol detection.
type meteredConn struct {
	net.Conn
	r     io.Reader
	meter *connMeter
	info  *connInfo
	// pending is what the HTTP/1 loop read ahead before it handed the
	// connection to net/http: read first, and already counted.
	pending   []byte
	onClose   func()
	closeOnce sync.Once
	// lingerSlots, set on a connection accepted from a client, makes its
	// Close half-close and drain before it closes, while a slot is free
	// (linger.go).
	lingerSlots chan struct{}
	lingering   atomic.Bool
	// serving is set while net/http's server serves a request read from
	// the connection (its ConnState active); requests counts the requests
	// served from it, by the HTTP/1 loop or net/http (the framing guard
	// tells from them which request a refusal belongs to).
	serving  atomic.Bool
	requests atomic.Int64
}

// inputPending reports whether an upstream connection's socket has unread
// input, or has ended, when it can tell without blocking (plaintext TCP
// with raw I/O); false when it cannot tell. TLS connections cannot: a
// TLS 1.3 server may send session tickets at any time, which are not
// input of the application's.
func (c *meteredConn) inputPending() bool {
	rc, ok := c.Conn.(*rawTCPConn)
	return ok && rc.inputPending()
}

func newMeteredConn(c net.Conn, br *bufio.Reader, meter *connMeter, info *connInfo) *meteredConn {
	mc := &meteredConn{Conn: c, r: c, meter: meter, info: info}
	if br != nil && br.Buffered() > 0 {
		mc.r = io.MultiReader(&io.LimitedReader{R: br, N: int64(br.Buffered())}, c)
	}
	return mc
}

// guardHTTP1 checks request framing on everything the HTTP server reads.
func (c *meteredConn) guardHTTP1() {
	g := newH1Guard(c.r)
	g.serving = func() int64 {
		if !c.serving.Load() {
			return 0
		}
		return c.requests.Load()
	}
	c.r = g
}

// NetConn is the connection c meters (as tls.Conn names its own), so
// that the HTTP/2 writer finds the BatchConn under a TLS session.
func (c *meteredConn) NetConn() net.Conn { return c.Conn }

func (c *meteredConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	n, err := c.r.Read(p)
	if n > 0 {
		c.meter.read.Add(float64(n))
	}
	return n, err
}

func (c *meteredConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.meter.write.Add(float64(n))
	}
	return n, err
}

// Close closes the connection; one accepted from a client lingers first
// (see lingerClose).
func (c *meteredConn) Close() error {
	if c.lingerSlots != nil && c.lingering.CompareAndSwap(false, true) && c.lingerClose() {
		return nil
	}
	return c.closeNow()
}

// closeNow closes the connection and ends its metrics, once.
func (c *meteredConn) closeNow() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() {
		c.meter.close(nil)
		if c.onClose != nil {
			c.onClose()
		}
	})
	return err
}

// CloseWrite half-closes the connection when the transport supports it.
func (c *meteredConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
