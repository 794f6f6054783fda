package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rawUpstream accepts connections on loopback and serves each with serve,
// counting them; serve returns when it is done with the connection, which
// is then closed.
type rawUpstream struct {
	addr  string
	conns atomic.Int64
}

func startRawUpstream(t testing.TB, serve func(c net.Conn, br *bufio.Reader)) *rawUpstream {
	t.Helper()
	ln := listenLoopback(t)
	u := &rawUpstream{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.conns.Add(1)
			go func() {
				defer c.Close()
				serve(c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return u
}

// keepAlive answers every request on the connection with respond(request).
func keepAlive(respond func(r *http.Request) string) func(net.Conn, *bufio.Reader) {
	return func(c net.Conn, br *bufio.Reader) {
		for {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if _, err := io.WriteString(c, respond(r)); err != nil {
				return
			}
		}
	}
}

func (c *h1Client) pooled() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.idleCount
}

func plainDial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

func directGet(t *testing.T, c *h1Client, ctx context.Context, method, addr string) (*http.Response, string, error) {
	t.Helper()
	r, err := http.NewRequestWithContext(ctx, method, "http://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.takes(r) {
		t.Fatalf("the direct client does not take %s", method)
	}
	resp, err := c.roundTrip(r)
	if err != nil {
		return nil, "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body), err
}

func TestDirectClientTakes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
		url    string
		body   io.Reader
		header map[string]string
		want   bool
	}{
		{"get", http.MethodGet, "http://h/", nil, nil, true},
		{"head", http.MethodHead, "http://h/", nil, nil, true},
		{"options", http.MethodOptions, "http://h/", nil, nil, true},
		{"trace", http.MethodTrace, "http://h/", nil, nil, true},
		{"post without body", http.MethodPost, "http://h/", nil, nil, false},
		{"delete", http.MethodDelete, "http://h/", nil, nil, false},
		{"get with body", http.MethodGet, "http://h/", strings.NewReader("x"), nil, false},
		{"https", http.MethodGet, "https://h/", nil, nil, false},
		{"upgrade", http.MethodGet, "http://h/", nil, map[string]string{"Upgrade": "websocket"}, false},
		{"expect", http.MethodGet, "http://h/", nil, map[string]string{"Expect": "100-continue"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := http.NewRequest(tc.method, tc.url, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			if got := (&h1Client{}).takes(r); got != tc.want {
				t.Errorf("takes = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDirectClientReusesConnection: complete responses of every framing
// (length, chunked with trailers, none for HEAD, 204 and 304) leave the
// connection for the next request.
func TestDirectClientReusesConnection(t *testing.T) {
	responses := []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nworld\r\n0\r\nX-Sum: 42\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
	}
	var i atomic.Int64
	up := startRawUpstream(t, keepAlive(func(*http.Request) string { return responses[i.Add(1)-1] }))
	c := newH1Client(plainDial, time.Minute, 16<<10)
	defer c.closeIdle()
	ctx := context.Background()
	for _, tc := range []struct {
		method, body string
		status       int
	}{{http.MethodGet, "hello", 200}, {http.MethodGet, "world", 200}, {http.MethodHead, "", 200}, {http.MethodGet, "", 204}, {http.MethodGet, "", 304}} {
		resp, body, err := directGet(t, c, ctx, tc.method, up.addr)
		if err != nil {
			t.Fatalf("%s: %v", tc.method, err)
		}
		if resp.StatusCode != tc.status || body != tc.body {
			t.Fatalf("%s: %d %q, want %d %q", tc.method, resp.StatusCode, body, tc.status, tc.body)
		}
		if tc.body == "world" && resp.Trailer.Get("X-Sum") != "42" {
			t.Errorf("trailer X-Sum = %q, want 42", resp.Trailer.Get("X-Sum"))
		}
	}
	if n := up.conns.Load(); n != 1 {
		t.Errorf("upstream saw %d connections, want 1", n)
	}
}

// TestDirectClientReplacesClosedIdle: the upstream closes each connection
// after one response without saying so; the next request, written into
// the closed connection, goes out again on a new one.
func TestDirectClientReplacesClosedIdle(t *testing.T) {
	up := startRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err == nil {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	c := newH1Client(plainDial, time.Minute, 16<<10)
	defer c.closeIdle()
	for i := range 3 {
		_, body, err := directGet(t, c, context.Background(), http.MethodGet, up.addr)
		if err != nil || body != "ok" {
			t.Fatalf("request %d: %q, %v", i, body, err)
		}
		time.Sleep(20 * time.Millisecond) // the close reaches this side
	}
	if n := up.conns.Load(); n != 3 {
		t.Errorf("upstream saw %d connections, want 3", n)
	}
}

// TestDirectClientDropsIdleWithInput: an upstream writes a second,
// unasked-for response on each connection after it went idle in the pool.
// The next request must not read it as its own: it goes out on a new
// connection.
func TestDirectClientDropsIdleWithInput(t *testing.T) {
	wrote := make(chan struct{}, 4)
	up := startRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		time.Sleep(20 * time.Millisecond)
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray")
		wrote <- struct{}{}
		_, _ = io.Copy(io.Discard, br)
	})
	rawDial := func(ctx context.Context, addr string) (net.Conn, error) {
		c, err := plainDial(ctx, addr)
		if err != nil {
			return nil, err
		}
		return withRawIO(c), nil
	}
	c := newH1Client(rawDial, time.Minute, 16<<10)
	defer c.closeIdle()
	for i := range 2 {
		_, body, err := directGet(t, c, context.Background(), http.MethodGet, up.addr)
		if err != nil || body != "ok" {
			t.Fatalf("request %d: %q, %v; want ok", i, body, err)
		}
		if i == 0 {
			<-wrote
			time.Sleep(10 * time.Millisecond) // the bytes reach this side
		}
	}
	if n := up.conns.Load(); n != 2 {
		t.Errorf("upstream saw %d connections, want 2", n)
	}
}

// TestDirectClientUnreusableResponses: a body ended by the connection's
// close, a Connection: close, a body closed before its end and bytes after
// the response each make the next request use a new connection.
func TestDirectClientUnreusableResponses(t *testing.T) {
	for _, tc := range []struct {
		name, response string
		readAll        bool
	}{
		{"until close", "HTTP/1.1 200 OK\r\n\r\nall of it", true},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", true},
		{"closed early", "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("x", 100000), false},
		{"bytes after", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := startRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
				if _, err := http.ReadRequest(br); err == nil {
					_, _ = io.WriteString(c, tc.response)
				}
				if strings.Contains(tc.response, "Content-Length") {
					_, _ = br.ReadByte() // hold the connection until the client closes it
				}
			})
			c := newH1Client(plainDial, time.Minute, 16<<10)
			defer c.closeIdle()
			for range 2 {
				r, _ := http.NewRequest(http.MethodGet, "http://"+up.addr+"/", nil)
				resp, err := c.roundTrip(r)
				if err != nil {
					t.Fatal(err)
				}
				if tc.readAll {
					_, _ = io.ReadAll(resp.Body)
				} else {
					_, _ = resp.Body.Read(make([]byte, 10))
				}
				resp.Body.Close()
			}
			if n := up.conns.Load(); n != 2 {
				t.Errorf("upstream saw %d connections, want 2", n)
			}
			if c.pooled() != 0 {
				t.Errorf("%d connections pooled, want none", c.pooled())
			}
		})
	}
}

// TestDirectClientBoundsResponseHead: a head past the limit fails the
// request instead of growing without bound.
func TestDirectClientBoundsResponseHead(t *testing.T) {
	up := startRawUpstream(t, keepAlive(func(*http.Request) string {
		return "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 1<<20) + "\r\nContent-Length: 0\r\n\r\n"
	}))
	c := newH1Client(plainDial, time.Minute, 16<<10)
	_, _, err := directGet(t, c, context.Background(), http.MethodGet, up.addr)
	if !errors.Is(err, errResponseHeadTooLarge) {
		t.Fatalf("err = %v, want %v", err, errResponseHeadTooLarge)
	}
}

// TestDirectClientCancel: cancelling the request while the upstream holds
// the body back ends the read at once and the connection is not reused.
func TestDirectClientCancel(t *testing.T) {
	gone := make(chan struct{})
	up := startRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
		_, _ = br.ReadByte() // returns when the client closes
		close(gone)
	})
	c := newH1Client(plainDial, time.Minute, 16<<10)
	ctx, cancel := context.WithCancel(context.Background())
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+up.addr+"/", nil)
	resp, err := c.roundTrip(r)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("read ended with %v after %v, want an error soon after the cancel", err, time.Since(start))
	}
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the cancelled connection was not closed")
	}
	if c.pooled() != 0 {
		t.Errorf("%d connections pooled, want none", c.pooled())
	}
}

// TestDirectClientIdleTimeout: a pooled connection is closed once idle
// for the idle timeout.
func TestDirectClientIdleTimeout(t *testing.T) {
	closed := make(chan struct{})
	up := startRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		keepAlive(func(*http.Request) string { return "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" })(c, br)
		close(closed)
	})
	c := newH1Client(plainDial, 100*time.Millisecond, 16<<10)
	if _, _, err := directGet(t, c, context.Background(), http.MethodGet, up.addr); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the idle connection is still open after 5s (idle timeout 100ms)")
	}
}

// TestDirectClientInformational: 1xx responses before the final one reach
// the request's trace (the reverse proxy relays them), and a 101 nobody
// asked for is an error.
func TestDirectClientInformational(t *testing.T) {
	up := startRawUpstream(t, keepAlive(func(r *http.Request) string {
		if r.URL.Path == "/switch" {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"
		}
		return "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	}))
	c := newH1Client(plainDial, time.Minute, 16<<10)
	defer c.closeIdle()
	var hints []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		hints = append(hints, h.Get("Link"))
		return nil
	}}
	ctx := httptrace.WithClientTrace(context.Background(), trace)
	resp, body, err := directGet(t, c, ctx, http.MethodGet, up.addr)
	if err != nil || resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("got %v %q %v, want 200 ok", resp, body, err)
	}
	if len(hints) != 1 || hints[0] != "</a.css>; rel=preload" {
		t.Errorf("1xx seen: %q, want the one Early Hints", hints)
	}
	r, _ := http.NewRequest(http.MethodGet, "http://"+up.addr+"/switch", nil)
	if _, err := c.roundTrip(r); err == nil || !strings.Contains(err.Error(), "unexpected 101") {
		t.Errorf("unsolicited 101: err = %v, want unexpected 101", err)
	}
}

// TestEarlyHintsThroughPair: the 103 crosses both proxies to the client.
func TestEarlyHintsThroughPair(t *testing.T) {
	up := startRawUpstream(t, keepAlive(func(*http.Request) string {
		return "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	}))
	p := newPair(t, up.addr, nil)
	var hints []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		hints = append(hints, h.Get("Link"))
		return nil
	}}
	r, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, "http://"+p.outbound+"/", nil)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("%d %q, want 200 ok", resp.StatusCode, body)
	}
	if len(hints) != 1 || hints[0] != "</a.css>; rel=preload" {
		t.Errorf("1xx seen by the client: %q, want the one Early Hints", hints)
	}
}

// TestDirectClientPoolBounds: past the per-host bound a finished
// connection is closed rather than pooled, and closeIdle closes the
// pooled ones.
func TestDirectClientPoolBounds(t *testing.T) {
	var open atomic.Int64
	up := startRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		open.Add(1)
		defer open.Add(-1)
		keepAlive(func(*http.Request) string { return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" })(c, br)
	})
	c := newH1Client(plainDial, time.Minute, 16<<10)
	c.maxIdlePerHost = 1
	// Two requests in flight at once take two connections.
	var resps []*http.Response
	for range 2 {
		r, _ := http.NewRequest(http.MethodGet, "http://"+up.addr+"/", nil)
		resp, err := c.roundTrip(r)
		if err != nil {
			t.Fatal(err)
		}
		resps = append(resps, resp)
	}
	for _, resp := range resps {
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if n := c.pooled(); n != 1 {
		t.Fatalf("%d connections pooled, want 1 (maxIdlePerHost)", n)
	}
	eventually(t, func() bool { return open.Load() == 1 }, "the connection past the bound is closed")
	c.closeIdle()
	eventually(t, func() bool { return open.Load() == 0 }, "closeIdle closes the pooled connection")
	if n := c.pooled(); n != 0 {
		t.Errorf("%d connections pooled after closeIdle, want 0", n)
	}
}
