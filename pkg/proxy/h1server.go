package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// The proxy serves plain HTTP/1.1 requests on a loop of its own, on the
// goroutine that detected the connection, and hands the connection to the
// side's net/http server for anything else (upgrades, CONNECT, chunked or
// 100-continue bodies, HTTP/1.0, heads larger than its buffer, framing the
// guard refused): net/http then serves that request and the rest of the
// connection, exactly as before.
//
// net/http's server starts a goroutine per bodiless request that reads the
// client connection in the background (to cancel the request when the
// client goes away) and stops it when the response is done, and allocates
// a response, a chunk writer and a cancel context per request. The loop
// has none of that (24 fewer allocations per request; on its own the CPU
// moved within the benchmark's noise, and the loop is what made the raw
// socket I/O of rawio.go and the bypass of forward.go possible). The
// price: while the upstream has not answered a bodiless request, a client
// that disconnects is noticed when the response is written, not before
// (routes' timeouts still bound it).

// h1BufferSize is the size of the loop's read and write buffers; a request
// head that does not fit goes to net/http, which reads up to MaxHeaderBytes.
const h1BufferSize = 4 << 10

// maxDrainBytes bounds what is read of a request body the handler left
// unread so that the connection can carry another request (as net/http's
// 256 KiB); past it the connection is closed.
const maxDrainBytes = 256 << 10

// h1Loops tracks the connections on the loop, so that shutdown can close
// the idle ones at once and end the busy ones after their response.
type h1Loops struct {
	readers sync.Pool
	writers sync.Pool

	// closing is set under mu, which setIdle holds too, so that no
	// connection goes idle unseen by shutdown; isClosing reads it without.
	mu      sync.Mutex
	closing atomic.Bool
	idle    map[*h1ServerConn]struct{}
}

func newH1Loops() *h1Loops {
	return &h1Loops{
		readers: sync.Pool{New: func() any { return bufio.NewReaderSize(nil, h1BufferSize) }},
		writers: sync.Pool{New: func() any { return bufio.NewWriterSize(nil, h1BufferSize) }},
		idle:    map[*h1ServerConn]struct{}{},
	}
}

// setIdle marks sc as waiting for a request; false when shutting down.
func (l *h1Loops) setIdle(sc *h1ServerConn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing.Load() {
		return false
	}
	l.idle[sc] = struct{}{}
	return true
}

// setBusy marks sc as serving a request.
func (l *h1Loops) setBusy(sc *h1ServerConn) {
	l.mu.Lock()
	delete(l.idle, sc)
	l.mu.Unlock()
}

// isClosing reports whether shutdown has begun (twice per request: no
// lock shared by every connection).
func (l *h1Loops) isClosing() bool { return l.closing.Load() }

// shutdown wakes the idle connections, which then close; busy ones close
// after their response, which says Connection: close.
func (l *h1Loops) shutdown() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closing.Store(true)
	for sc := range l.idle {
		_ = sc.mc.SetReadDeadline(time.Unix(1, 0))
	}
}

// h1ServerConn is one client connection on the loop.
type h1ServerConn struct {
	s    *side
	mc   *meteredConn
	br   *bufio.Reader
	bw   *bufio.Writer
	ctx  context.Context
	resp h1Response

	remoteAddr string
	tlsState   *tls.ConnectionState
	trace      *httptrace.ClientTrace // forward.go
	// deadline is the read deadline in force (zero: none), so that a
	// request whose head arrives whole sets none.
	deadline bool
	// afterPost: the last request served was a POST (see serve).
	afterPost bool
}

// serveHTTP1 serves mc, an HTTP/1 connection, until it closes or is handed
// to the net/http server.
func (s *side) serveHTTP1(ctx context.Context, mc *meteredConn) {
	sc := &h1ServerConn{s: s, mc: mc, remoteAddr: mc.RemoteAddr().String()}
	if tc, ok := mc.Conn.(*tls.Conn); ok {
		st := tc.ConnectionState()
		sc.tlsState = &st
	}
	sc.br = s.h1.readers.Get().(*bufio.Reader)
	sc.br.Reset(mc)
	sc.bw = s.h1.writers.Get().(*bufio.Writer)
	sc.bw.Reset(mc)
	// The net/http server in the context makes the reverse proxy end a
	// response whose body broke off with http.ErrAbortHandler, as it does
	// under net/http, instead of returning as if it were complete.
	base := context.WithValue(context.WithValue(ctx, connInfoKey, mc.info), http.ServerContextKey, s.server)
	var cancel context.CancelFunc
	sc.ctx, cancel = context.WithCancel(base)
	handoff := sc.serve()
	cancel()
	s.h1.setBusy(sc)
	sc.bw.Reset(nil)
	s.h1.writers.Put(sc.bw)
	if n := sc.br.Buffered(); handoff && n > 0 {
		// What the loop read ahead is the next request's: net/http reads
		// it first.
		b, _ := sc.br.Peek(n)
		mc.pending = bytes.Clone(b)
	}
	sc.br.Reset(nil)
	s.h1.readers.Put(sc.br)
	if !handoff {
		_ = mc.Close()
		return
	}
	_ = mc.SetReadDeadline(time.Time{})
	s.queue.push(mc)
}

// serve runs the loop; it reports whether the connection goes to net/http.
func (sc *h1ServerConn) serve() (handoff bool) {
	cfg := &sc.s.cfg
	for {
		if sc.br.Buffered() == 0 {
			if !sc.s.h1.setIdle(sc) {
				return false
			}
			sc.setDeadline(cfg.IdleTimeout)
			_, err := sc.br.Peek(1)
			sc.s.h1.setBusy(sc)
			if err != nil {
				return isSmuggling(err)
			}
		}
		if sc.afterPost {
			// net/http's server drops up to four CR or LF bytes after a
			// POST, for old clients that end its body with a CRLF
			// (server.go); so does the loop, or a connection would be
			// read differently depending on who served the POST.
			sc.afterPost = false
			b, _ := sc.br.Peek(4)
			_, _ = sc.br.Discard(leadingCRorLF(b))
		}
		n, err := sc.readHead()
		if err != nil {
			return isSmuggling(err)
		}
		if n == 0 || !fastPathHead(sc.peekHead(n)) {
			return true
		}
		if !sc.serveOne(n) {
			return false
		}
		if sc.s.h1.isClosing() {
			return false
		}
	}
}

// setDeadline sets the read deadline d from now (0: none).
func (sc *h1ServerConn) setDeadline(d time.Duration) {
	if d <= 0 {
		_ = sc.mc.SetReadDeadline(time.Time{})
		sc.deadline = false
		return
	}
	_ = sc.mc.SetReadDeadline(time.Now().Add(d))
	sc.deadline = true
}

// readHead reads until the buffer holds a whole request head and returns
// its length, 0 when it does not fit in the buffer.
func (sc *h1ServerConn) readHead() (int, error) {
	headTimeout := false
	for {
		b, _ := sc.br.Peek(sc.br.Buffered())
		if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
			return i + 4, nil
		}
		if len(b) == sc.br.Size() {
			return 0, nil
		}
		if !headTimeout {
			headTimeout = true
			sc.setDeadline(sc.s.cfg.ReadHeaderTimeout)
		}
		if _, err := sc.br.Peek(len(b) + 1); err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return 0, nil
			}
			return 0, err
		}
	}
}

func (sc *h1ServerConn) peekHead(n int) []byte {
	b, _ := sc.br.Peek(n)
	return b
}

// serveOne reads the request whose n-byte head is buffered, proxies it and
// writes the response; it reports whether the connection can carry
// another.
func (sc *h1ServerConn) serveOne(n int) bool {
	sc.mc.requests.Add(1)
	var err error
	r := readSimpleRequest(sc.br, n)
	if r == nil {
		r, err = http.ReadRequest(sc.br)
	}
	if err == nil {
		err = checkRequest(r)
	}
	if err != nil {
		sc.s.log.Debug("bad http/1 request", "peer", sc.remoteAddr, "error", err)
		sc.writeBadRequest()
		return false
	}
	sc.afterPost = r.Method == http.MethodPost
	r.RemoteAddr = sc.remoteAddr
	r.TLS = sc.tlsState
	var body *h1RequestBody
	if r.Body != nil && r.Body != http.NoBody {
		body = &h1RequestBody{rc: r.Body}
		r.Body = body
		if sc.deadline {
			// The body is read at the handler's pace. A bodiless
			// request leaves the deadline alone: nothing reads the
			// connection again before the next idle wait sets its own.
			sc.setDeadline(0)
		}
	}
	w := &sc.resp
	w.reset(sc, r, sc.s.h1.isClosing() || r.Close)
	ok := sc.handle(w, r) && w.finish()
	if body == nil {
		return ok
	}
	// The upstream transport may still be reading the body (an upstream
	// that answered early): the loop takes it back before it reads the
	// connection again or lets its buffer go. A client that stops
	// sending the body it announced holds the connection no longer than
	// the head timeout; one that is being dropped, not at all.
	if ok {
		sc.setDeadline(sc.s.cfg.ReadHeaderTimeout)
	} else {
		_ = sc.mc.SetReadDeadline(time.Unix(1, 0))
	}
	return body.takeBack(ok)
}

// handle runs the proxy's handler; false when it ended the response
// abruptly (a broken upstream body), which leaves the connection unusable.
func (sc *h1ServerConn) handle(w *h1Response, r *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				sc.s.log.Error("panic serving http/1 request", "peer", sc.remoteAddr, "panic", v, "stack", string(debug.Stack()))
			}
			ok = false
		}
	}()
	sc.s.http.serve(w, r, sc.ctx)
	return true
}

// writeBadRequest answers a request net/http's parser refused, as net/http
// does, and the connection closes.
func (sc *h1ServerConn) writeBadRequest() {
	_, _ = sc.bw.WriteString("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request")
	_ = sc.bw.Flush()
}

// checkRequest is what net/http's server checks beyond http.ReadRequest
// (which moves the Host header to r.Host; fastPathHead saw exactly one).
func checkRequest(r *http.Request) error {
	if !httpguts.ValidHostHeader(r.Host) {
		return errors.New("malformed Host header")
	}
	for k, vv := range r.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return errors.New("invalid header name")
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return errors.New("invalid header value")
			}
		}
	}
	return nil
}

// h1RequestBody is a request body whose Close does not read the rest: the
// loop drains it after the response, within maxDrainBytes. Its lock
// orders the handler's readers (the upstream transport writes the body on
// a goroutine of its own, which may outlive the response) before the
// loop's takeBack; after that they get errBodyTakenBack.
type h1RequestBody struct {
	mu    sync.Mutex
	rc    io.ReadCloser
	err   error // the first error read, io.EOF at the end
	taken bool
}

// errBodyTakenBack is a read of a request body after its response ended.
var errBodyTakenBack = errors.New("proxy: request body read after its response ended")

func (b *h1RequestBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.taken {
		return 0, errBodyTakenBack
	}
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.rc.Read(p)
	b.err = err
	return n, err
}

// Close ends the handler's reading; what is left is the loop's to drain.
func (b *h1RequestBody) Close() error { return nil }

// takeBack ends the handler's use of the body and, when drain is set,
// reads what is left; it reports whether the connection can carry another
// request.
func (b *h1RequestBody) takeBack(drain bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.taken = true
	switch {
	case !drain:
		return false
	case b.err != nil:
		return b.err == io.EOF
	}
	n, err := io.CopyN(io.Discard, b.rc, maxDrainBytes+1)
	return err == io.EOF && n <= maxDrainBytes
}

// leadingCRorLF counts the CR and LF bytes b starts with.
func leadingCRorLF(b []byte) int {
	n := 0
	for n < len(b) && (b[n] == '\r' || b[n] == '\n') {
		n++
	}
	return n
}

// fastPathHead reports whether the loop serves the request with this head
// (CRLF line ends, guaranteed by the framing guard): HTTP/1.1, an
// origin-form target, no CONNECT, one Host, at most one Content-Length,
// and no Transfer-Encoding, Upgrade or Expect.
func fastPathHead(head []byte) bool {
	line, rest, ok := bytes.Cut(head, []byte("\r\n"))
	if !ok {
		return false
	}
	method, rl, ok := bytes.Cut(line, []byte(" "))
	if !ok || len(method) == 0 || bytes.Equal(method, []byte("CONNECT")) || bytes.Equal(method, []byte("PRI")) {
		return false
	}
	target, version, ok := bytes.Cut(rl, []byte(" "))
	if !ok || len(target) == 0 || target[0] != '/' || !bytes.Equal(version, []byte("HTTP/1.1")) {
		return false
	}
	hosts, lengths := 0, 0
	for len(rest) > 2 {
		var l []byte
		l, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, _, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			return false
		}
		switch len(name) {
		case 4:
			if bytes.EqualFold(name, []byte("host")) {
				hosts++
			}
		case 6:
			if bytes.EqualFold(name, []byte("expect")) {
				return false
			}
		case 7:
			if bytes.EqualFold(name, []byte("upgrade")) {
				return false
			}
		case 14:
			if bytes.EqualFold(name, []byte("content-length")) {
				lengths++
			}
		case 17:
			if bytes.EqualFold(name, []byte("transfer-encoding")) {
				return false
			}
		}
	}
	return hosts == 1 && lengths <= 1
}
