package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"time"
)

// h1Client sends bodiless, replayable HTTP/1.1 requests (GET, HEAD,
// OPTIONS, TRACE: most of a mesh's requests) on the goroutine that serves
// them: it writes the request and reads the response head on a pooled
// connection itself. net/http's Transport hands every request to two
// goroutines of the connection (one writes, one reads) through channels
// and a select; in the proxy pair that was about a tenth of the CPU per
// request. Requests with a body, upgrades and Expect: 100-continue need a
// connection read while it is written, and stay with the Transport.
//
// The framing is net/http's: writeRequestHead writes what
// http.Request.Write would (h1request.go), and the response is parsed as
// http.ReadResponse parses it inside the Transport (by readSimpleResponse
// in h1head.go when its head is in the common form, by ReadResponse
// itself otherwise). Of the request's client trace,
// only Got1xxResponse is called (the proxy sets no other hook).
type h1Client struct {
	dial           func(ctx context.Context, addr string) (net.Conn, error)
	idleTimeout    time.Duration
	maxHeaderBytes int
	maxIdlePerHost int
	maxIdle        int

	mu        sync.Mutex
	idle      map[string][]*h1Conn // by address, most recently used last
	idleCount int
	sweeping  bool
}

// h1Conn is one upstream connection with its buffers.
type h1Conn struct {
	c         net.Conn
	lr        headLimitReader
	br        *bufio.Reader
	bw        *bufio.Writer
	addr      string
	idleSince time.Time
}

// h1BufSize is the size of each connection's read and write buffer.
const h1BufSize = 4 << 10

// maxInformational bounds the 1xx responses read before the final one.
const maxInformational = 5

// errResponseHeadTooLarge is the upstream sending a head past the limit.
var errResponseHeadTooLarge = errors.New("upstream response head too large")

func newH1Client(dial func(ctx context.Context, addr string) (net.Conn, error), idleTimeout time.Duration, maxHeaderBytes int) *h1Client {
	return &h1Client{
		dial:           dial,
		idleTimeout:    idleTimeout,
		maxHeaderBytes: maxHeaderBytes,
		maxIdlePerHost: 100,
		maxIdle:        1000,
		idle:           map[string][]*h1Conn{},
	}
}

// takes reports whether r can go through the client: HTTP/1, plain
// "http" URL (TLS, when there is some, is the dialled connection's), a
// replayable method, no body, no upgrade, no 100-continue.
func (c *h1Client) takes(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
	default:
		return false
	}
	return r.URL.Scheme == "http" && (r.Body == nil || r.Body == http.NoBody) &&
		len(r.TransferEncoding) == 0 && r.Header.Get("Upgrade") == "" && r.Header.Get("Expect") == ""
}

// roundTrip sends r, which takes(r) accepted. When a pooled connection
// turns out to have been closed by the upstream while idle (the write
// failed or went into the void, and not a byte came back), the request
// goes again on the next pooled connection or a new one: it is
// replayable and had no effect. A new connection's failure is final, so
// the attempts are bounded by the pool.
func (c *h1Client) roundTrip(r *http.Request) (*http.Response, error) {
	for {
		pc, reused, err := c.get(r.Context(), r.URL.Host)
		if err != nil {
			return nil, err
		}
		resp, err := pc.exchange(c, r)
		if err == nil {
			return resp, nil
		}
		nothing := pc.lr.total == 0
		_ = pc.c.Close()
		if reused && nothing && r.Context().Err() == nil {
			continue
		}
		return nil, err
	}
}

// exchange writes r and reads the response head; the body it returns
// puts the connection back when read to its end.
func (pc *h1Conn) exchange(c *h1Client, r *http.Request) (*http.Response, error) {
	// A cancelled request (client gone, route timeout) interrupts
	// whatever the connection is blocked in; the connection is then
	// closed rather than pooled.
	stop := context.AfterFunc(r.Context(), func() { _ = pc.c.SetDeadline(time.Unix(1, 0)) })
	resp, err := pc.head(c, r)
	if err != nil {
		stop()
		return nil, err
	}
	reusable := !resp.Close && !r.Close
	if resp.Body == http.NoBody {
		pc.release(c, stop, reusable)
		return resp, nil
	}
	resp.Body = &h1Body{rc: resp.Body, pc: pc, c: c, stop: stop, reusable: reusable, left: resp.ContentLength}
	return resp, nil
}

// head writes r and reads up to the final response's head, passing 1xx
// responses to the request's trace, within the head limit.
func (pc *h1Conn) head(c *h1Client, r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	pc.lr.limit(int64(c.maxHeaderBytes) + h1BufSize)
	if err := writeRequestHead(pc.bw, r); err != nil {
		return nil, pc.failed(ctx, "write request", err)
	}
	if err := pc.bw.Flush(); err != nil {
		return nil, pc.failed(ctx, "write request", err)
	}
	for informational := 0; ; informational++ {
		var err error
		resp := readSimpleResponse(pc.br, r)
		if resp == nil {
			resp, err = http.ReadResponse(pc.br, r)
		}
		if err != nil {
			return nil, pc.failed(ctx, "read response", err)
		}
		code := resp.StatusCode
		if code < 100 || code > 199 {
			pc.lr.limit(-1)
			return resp, nil
		}
		if code == http.StatusSwitchingProtocols || informational == maxInformational {
			return nil, fmt.Errorf("upstream %s: unexpected %d response", pc.addr, code)
		}
		if trace := httptrace.ContextClientTrace(ctx); trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(code, textproto.MIMEHeader(resp.Header)); err != nil {
				return nil, err
			}
		}
	}
}

// failed names what failed; a cancelled request reports its context's
// error rather than the deadline that interrupted it.
func (pc *h1Conn) failed(ctx context.Context, what string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("upstream %s: %s: %w", pc.addr, what, ctxErr)
	}
	return fmt.Errorf("upstream %s: %s: %w", pc.addr, what, err)
}

// release ends a request on pc: back to the pool when the response was
// complete and the connection may carry another, closed otherwise.
func (pc *h1Conn) release(c *h1Client, stop func() bool, reusable bool) {
	// stop is false when the cancellation already fired: the connection
	// has a deadline in the past.
	if stop() && reusable {
		c.put(pc)
		return
	}
	_ = pc.c.Close()
}

// h1Body is a response body that settles its connection when done.
type h1Body struct {
	rc       io.ReadCloser
	pc       *h1Conn
	c        *h1Client
	stop     func() bool
	reusable bool
	// left is what remains of a body of known length (-1: unknown).
	left int64
	once sync.Once
	// settled is set once the connection went back (or away): the body
	// no longer looks at it.
	settled bool
}

// Ready reports whether some of the body (or its end) has arrived, so
// that a Read returns without waiting for the upstream.
func (b *h1Body) Ready() bool {
	return b.settled || b.pc.br.Buffered() > 0
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.left >= h1BufSize && int64(len(p)) >= b.left {
		// Into a buffer as large as its own, bufio reads straight from
		// the connection, and the body's framing asks for exactly what
		// is left of it: bytes the upstream sent after the body would
		// stay in the socket, unseen by put, and answer the next request
		// on the connection. The last byte is read through the buffer,
		// which takes in whatever came with it.
		p = p[:b.left-1]
	}
	n, err := b.rc.Read(p)
	if b.left > 0 {
		b.left -= int64(n)
	}
	if err != nil {
		b.settle(err == io.EOF)
	}
	return n, err
}

// Close before the end leaves the rest of the body on the connection, so
// the connection goes.
func (b *h1Body) Close() error {
	b.settle(false)
	return nil
}

func (b *h1Body) settle(complete bool) {
	b.once.Do(func() {
		b.settled = true
		b.pc.release(b.c, b.stop, b.reusable && complete)
	})
}

// get returns an idle connection to addr, most recently used first, or a
// new one. An idle connection with input pending (inputPending) is closed
// on the way.
func (c *h1Client) get(ctx context.Context, addr string) (*h1Conn, bool, error) {
	for {
		pc := c.takeIdle(addr)
		if pc == nil {
			break
		}
		if !inputPending(pc.c) {
			pc.lr.total = 0
			return pc, true, nil
		}
		_ = pc.c.Close()
	}
	conn, err := c.dial(ctx, addr)
	if err != nil {
		return nil, false, err
	}
	pc := &h1Conn{c: conn, addr: addr, bw: bufio.NewWriterSize(conn, h1BufSize)}
	pc.lr.r = conn
	pc.br = bufio.NewReaderSize(&pc.lr, h1BufSize)
	return pc, false, nil
}

// takeIdle takes the most recently used idle connection to addr off the
// pool, closing those idle for longer than the idle timeout on its way;
// nil when none is left.
func (c *h1Client) takeIdle(addr string) *h1Conn {
	now := time.Now()
	var stale []*h1Conn
	c.mu.Lock()
	var pc *h1Conn
	list := c.idle[addr]
	for len(list) > 0 {
		last := list[len(list)-1]
		list[len(list)-1] = nil
		list = list[:len(list)-1]
		c.idleCount--
		if now.Sub(last.idleSince) <= c.idleTimeout {
			pc = last
			break
		}
		stale = append(stale, last)
	}
	if len(list) == 0 {
		delete(c.idle, addr)
	} else {
		c.idle[addr] = list
	}
	c.mu.Unlock()
	for _, s := range stale {
		_ = s.c.Close()
	}
	return pc
}

// inputPending reports whether an idle connection has something to read:
// bytes the upstream sent after its last response (net/http's Transport
// finds them with a read it keeps pending on every idle connection, and
// drops the connection) or its end. Either way the connection must not
// carry another request: the bytes would be read as its response, which
// may be another client's, and a closed one would fail it. One
// non-blocking system call, on connections that can answer it.
func inputPending(c net.Conn) bool {
	ip, ok := c.(interface{ inputPending() bool })
	return ok && ip.inputPending()
}

// put pools pc, or closes it when the pool is full.
func (c *h1Client) put(pc *h1Conn) {
	if pc.br.Buffered() > 0 {
		// Bytes after the response's end: not a connection to trust.
		_ = pc.c.Close()
		return
	}
	pc.idleSince = time.Now()
	c.mu.Lock()
	if c.idleCount >= c.maxIdle || len(c.idle[pc.addr]) >= c.maxIdlePerHost {
		c.mu.Unlock()
		_ = pc.c.Close()
		return
	}
	c.idle[pc.addr] = append(c.idle[pc.addr], pc)
	c.idleCount++
	if !c.sweeping {
		c.sweeping = true
		time.AfterFunc(c.idleTimeout, c.sweep)
	}
	c.mu.Unlock()
}

// sweep closes the connections idle for longer than the idle timeout, and
// comes back while any are left.
func (c *h1Client) sweep() {
	cutoff := time.Now().Add(-c.idleTimeout)
	var stale []*h1Conn
	c.mu.Lock()
	for addr, list := range c.idle {
		kept := list[:0]
		for _, pc := range list {
			if pc.idleSince.Before(cutoff) {
				stale = append(stale, pc)
			} else {
				kept = append(kept, pc)
			}
		}
		clear(list[len(kept):])
		c.idleCount -= len(list) - len(kept)
		if len(kept) == 0 {
			delete(c.idle, addr)
		} else {
			c.idle[addr] = kept
		}
	}
	c.sweeping = c.idleCount > 0
	if c.sweeping {
		time.AfterFunc(c.idleTimeout, c.sweep)
	}
	c.mu.Unlock()
	for _, pc := range stale {
		_ = pc.c.Close()
	}
}

// closeIdle closes every idle connection (shutdown).
func (c *h1Client) closeIdle() {
	c.mu.Lock()
	idle := c.idle
	c.idle, c.idleCount = map[string][]*h1Conn{}, 0
	c.mu.Unlock()
	for _, list := range idle {
		for _, pc := range list {
			_ = pc.c.Close()
		}
	}
}

// headLimitReader counts what a connection reads and, while a response
// head is read, fails past a limit: http.ReadResponse has no bound of its
// own, the Transport's MaxResponseHeaderBytes is a reader like this one.
type headLimitReader struct {
	r     io.Reader
	left  int64 // bytes allowed; < 0 for no limit
	total int64 // bytes read in the current exchange
}

func (l *headLimitReader) limit(n int64) { l.left = n }

func (l *headLimitReader) Read(p []byte) (int, error) {
	if l.left == 0 {
		return 0, errResponseHeadTooLarge
	}
	if l.left > 0 && int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.total += int64(n)
	if l.left > 0 {
		l.left -= int64(n)
	}
	return n, err
}
