// Package h2client is the proxy's HTTP/2 client (prior knowledge): the hop
// to another proxy, which carries HTTP/1 over HTTP/2, and HTTP/2 and gRPC
// to applications.
//
// x/net's transport starts a goroutine for every request to write it and
// hands the response over channels from its read loop. Here a request's
// HEADERS (and a body's DATA) are written by the goroutine that sends it,
// under the connection's write lock, and one read loop per connection
// delivers responses; a request with a body gets one goroutine for it, so
// that a response can arrive while the body is still being sent.
//
// Framing and HPACK are golang.org/x/net/http2's Framer and hpack, as in
// pkg/proxy/h2server.
package h2client

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Transport sends requests over HTTP/2 connections it keeps per address
// (the request URL's host): one connection, another only when the first
// has no stream left or is going away. Set the fields before the first
// request.
type Transport struct {
	// Dial opens a connection to addr (TLS included, when the hop has
	// it); the connection's first bytes are the client preface.
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	// MaxHeaderListSize bounds a response's header list (default 64 KiB).
	MaxHeaderListSize uint32
	// IdleConnTimeout closes a connection without streams this long
	// (default 90 s).
	IdleConnTimeout time.Duration
	// ReadIdleTimeout sends a PING after this long without a frame, and
	// PingTimeout closes the connection when none comes back (defaults
	// 30 s and 10 s).
	ReadIdleTimeout, PingTimeout time.Duration
	// ExpectContinueTimeout is how long a request with Expect:
	// 100-continue waits for the 100 before its body goes anyway
	// (default 1 s).
	ExpectContinueTimeout time.Duration
	// Log receives connection errors at debug level (nil: discarded).
	Log *slog.Logger

	mu      sync.Mutex
	conns   map[string][]*clientConn
	dialing map[string]*dialCall
}

// dialCall is a dial in progress that every request for the address
// waits on, so a burst of requests opens one connection.
type dialCall struct {
	done chan struct{}
	cc   *clientConn
	err  error
}

// errUnprocessed marks a request the server did not process (its stream
// was above a GOAWAY's last stream, refused, or never sent): it can go on
// another connection.
var errUnprocessed = errors.New("h2client: request not processed by the server")

// maxAttempts bounds the connections one request is tried on.
const maxAttempts = 4

// RoundTrip sends req and returns the response once its head arrives; the
// body streams after. A request the server did not process is sent again
// on another connection when its body can be: none, or none read yet.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	addr := req.URL.Host
	body := &sentBody{rc: req.Body}
	for attempt := 1; ; attempt++ {
		cc, err := t.connFor(req.Context(), addr)
		if err != nil {
			return nil, err
		}
		res, err := cc.roundTrip(req, body)
		if err == nil {
			return res, nil
		}
		if !errors.Is(err, errUnprocessed) || attempt == maxAttempts || body.started() {
			if !body.handed {
				body.close() // a RoundTripper closes the body, sent or not
			}
			return nil, err
		}
		t.log("retrying a request the server did not process", "addr", addr, "error", err)
	}
}

// CloseIdleConnections closes the connections without streams.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	var idle []*clientConn
	for _, ccs := range t.conns {
		for _, cc := range ccs {
			if cc.idle() {
				idle = append(idle, cc)
			}
		}
	}
	t.mu.Unlock()
	for _, cc := range idle {
		cc.close(errors.New("h2client: closing idle connections"))
	}
}

// connFor returns a connection to addr with a stream free, dialling one
// (joined by concurrent callers) when none has.
func (t *Transport) connFor(ctx context.Context, addr string) (*clientConn, error) {
	for {
		t.mu.Lock()
		for _, cc := range t.conns[addr] {
			if cc.reserveStream() {
				t.mu.Unlock()
				return cc, nil
			}
		}
		call, ok := t.dialing[addr]
		if !ok {
			call = &dialCall{done: make(chan struct{})}
			if t.dialing == nil {
				t.dialing = map[string]*dialCall{}
			}
			t.dialing[addr] = call
			go t.dial(addr, call)
		}
		t.mu.Unlock()
		select {
		case <-call.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if call.err != nil {
			return nil, call.err
		}
		// The new connection is in t.conns: take a stream on it, or
		// on whichever has one, in the next round.
	}
}

// dial opens a connection for the requests waiting on call. The dial
// serves them all, so it outlives any one of them (Dial's own timeout
// bounds it).
func (t *Transport) dial(addr string, call *dialCall) {
	nc, err := t.Dial(context.Background(), addr)
	var cc *clientConn
	if err == nil {
		cc, err = newClientConn(t, addr, nc)
	}
	t.mu.Lock()
	delete(t.dialing, addr)
	if err == nil {
		if t.conns == nil {
			t.conns = map[string][]*clientConn{}
		}
		t.conns[addr] = append(t.conns[addr], cc)
	}
	t.mu.Unlock()
	call.cc, call.err = cc, err
	close(call.done)
}

// forget removes a connection that takes no more streams.
func (t *Transport) forget(cc *clientConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ccs := t.conns[cc.addr]
	for i, c := range ccs {
		if c == cc {
			ccs = append(ccs[:i:i], ccs[i+1:]...)
			break
		}
	}
	if len(ccs) == 0 {
		delete(t.conns, cc.addr)
		return
	}
	t.conns[cc.addr] = ccs
}

func (t *Transport) log(msg string, args ...any) {
	if t.Log != nil {
		t.Log.Debug(msg, args...)
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// sentBody is a request's body as the transport reads it: it records
// whether any of it was read, which decides whether the request may be
// sent again.
type sentBody struct {
	rc io.ReadCloser
	// handed is set once a body writer owns the body (and closes it).
	handed bool
	mu     sync.Mutex
	read   bool
}

func (b *sentBody) none() bool { return b.rc == nil || b.rc == http.NoBody }

func (b *sentBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	b.read = true
	b.mu.Unlock()
	return b.rc.Read(p)
}

func (b *sentBody) started() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.read
}
