package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFastPathHead(t *testing.T) {
	const h = "Host: app\r\n"
	cases := []struct {
		name, head string
		want       bool
	}{
		{"get", "GET / HTTP/1.1\r\n" + h + "\r\n", true},
		{"post with length", "POST /x HTTP/1.1\r\n" + h + "Content-Length: 3\r\n\r\n", true},
		{"mixed-case names", "GET / HTTP/1.1\r\nhOsT: app\r\ncontent-LENGTH: 0\r\n\r\n", true},
		{"http/1.0", "GET / HTTP/1.0\r\n" + h + "\r\n", false},
		{"connect", "CONNECT app:443 HTTP/1.1\r\n" + h + "\r\n", false},
		{"absolute form", "GET http://app/ HTTP/1.1\r\n" + h + "\r\n", false},
		{"asterisk form", "OPTIONS * HTTP/1.1\r\n" + h + "\r\n", false},
		{"no host", "GET / HTTP/1.1\r\n\r\n", false},
		{"two hosts", "GET / HTTP/1.1\r\n" + h + h + "\r\n", false},
		{"two lengths", "POST / HTTP/1.1\r\n" + h + "Content-Length: 3\r\nContent-Length: 3\r\n\r\n", false},
		{"chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n", false},
		{"upgrade", "GET / HTTP/1.1\r\n" + h + "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n", false},
		{"expect", "POST / HTTP/1.1\r\n" + h + "Content-Length: 3\r\nExpect: 100-continue\r\n\r\n", false},
		{"leading empty line", "\r\nGET / HTTP/1.1\r\n" + h + "\r\n", false},
		{"line without colon", "GET / HTTP/1.1\r\n" + h + "X-A 1\r\n\r\n", false},
		{"request line without version", "GET /\r\n" + h + "\r\n", false},
		{"h2 preface", "PRI * HTTP/2.0\r\n\r\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := fastPathHead([]byte(tc.head)); got != tc.want {
				t.Errorf("fastPathHead(%q) = %v, want %v", tc.head, got, tc.want)
			}
		})
	}
}

// inboundProxy runs one proxy whose inbound listener sends everything to
// the handler's server, and returns the inbound address.
func inboundProxy(t *testing.T, h http.Handler, grace time.Duration, tweaks ...func(*Config)) (string, context.CancelFunc, chan struct{}) {
	t.Helper()
	backend := httptest.NewServer(h)
	t.Cleanup(backend.Close)
	ctx, cancel := context.WithCancel(context.Background())
	cfg := Config{InboundTarget: strings.TrimPrefix(backend.URL, "http://"), ShutdownGracePeriod: grace}
	for _, tweak := range tweaks {
		tweak(&cfg)
	}
	_, ls, done := startProxy(t, ctx, cfg)
	t.Cleanup(func() { cancel(); <-done })
	return ls.Inbound.Addr().String(), cancel, done
}

// rawConn is a client connection that writes raw bytes and parses
// responses.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (rc *rawConn) send(raw string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, raw); err != nil {
		rc.t.Fatal(err)
	}
}

// response reads one response to a request with method and its body.
func (rc *rawConn) response(method string) (*http.Response, string, error) {
	rc.t.Helper()
	resp, err := http.ReadResponse(rc.br, &http.Request{Method: method})
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// closed reports whether the proxy closed the connection (within 300 ms:
// it closes at once after a response that says so).
func (rc *rawConn) closed() bool {
	_ = rc.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err := rc.br.ReadByte()
	return errors.Is(err, io.EOF)
}

func TestH1LoopFraming(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/fixed", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "fixed "+r.Host) })
	mux.HandleFunc("/stream", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "part1 ")
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, "part2")
	})
	mux.HandleFunc("/trailers", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		_, _ = io.WriteString(w, "body")
		w.Header().Set("X-Sum", "42")
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/hints", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		_, _ = io.WriteString(w, "after hints")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	})
	mux.HandleFunc("/ignore-body", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ignored") })
	addr, _, _ := inboundProxy(t, mux, 2*time.Second)

	type step struct {
		raw, method string
		status      int
		body        string
		chunked     bool
		trailer     string // X-Sum trailer value
		header      string // a header that must be there, "Name: value"
	}
	cases := []struct {
		name   string
		steps  []step
		closed bool // the proxy closes the connection after the last step
	}{
		{"keep-alive and pipelining", []step{
			{raw: "GET /fixed HTTP/1.1\r\nHost: a\r\n\r\nGET /fixed HTTP/1.1\r\nHost: b\r\n\r\n", method: "GET", status: 200, body: "fixed a"},
			{method: "GET", status: 200, body: "fixed b"},
			{raw: "GET /fixed HTTP/1.1\r\nHost: c\r\n\r\n", method: "GET", status: 200, body: "fixed c"},
		}, false},
		{"stream is chunked", []step{
			{raw: "GET /stream HTTP/1.1\r\nHost: a\r\n\r\n", method: "GET", status: 200, body: "part1 part2", chunked: true},
			{raw: "GET /fixed HTTP/1.1\r\nHost: a\r\n\r\n", method: "GET", status: 200, body: "fixed a"},
		}, false},
		{"trailers", []step{
			{raw: "GET /trailers HTTP/1.1\r\nHost: a\r\n\r\n", method: "GET", status: 200, body: "body", chunked: true, trailer: "42"},
		}, false},
		{"head", []step{
			{raw: "HEAD /fixed HTTP/1.1\r\nHost: a\r\n\r\n", method: "HEAD", status: 200, header: "Content-Length: 7"},
			{raw: "GET /fixed HTTP/1.1\r\nHost: a\r\n\r\n", method: "GET", status: 200, body: "fixed a"},
		}, false},
		{"no content", []step{
			{raw: "GET /empty HTTP/1.1\r\nHost: a\r\n\r\n", method: "GET", status: 204},
			{raw: "GET /fixed HTTP/1.1\r\nHost: a\r\n\r\n", method: "GET", status: 200, body: "fixed a"},
		}, false},
		{"early hints", []step{
			{raw: "GET /hints HTTP/1.1\r\nHost: a\r\n\r\n", method: "GET", status: 103, header: "Link: </style.css>; rel=preload"},
			{method: "GET", status: 200, body: "after hints"},
		}, false},
		{"body with length", []step{
			{raw: "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", method: "POST", status: 200, body: "hello"},
			{raw: "GET /fixed HTTP/1.1\r\nHost: a\r\n\r\n", method: "GET", status: 200, body: "fixed a"},
		}, false},
		{"unread body is drained", []step{
			{raw: "POST /ignore-body HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", method: "POST", status: 200, body: "ignored"},
			{raw: "GET /fixed HTTP/1.1\r\nHost: a\r\n\r\n", method: "GET", status: 200, body: "fixed a"},
		}, false},
		{"handed to net/http mid-connection", []step{
			{raw: "GET /fixed HTTP/1.1\r\nHost: a\r\n\r\n", method: "GET", status: 200, body: "fixed a"},
			{raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /fixed HTTP/1.1\r\nHost: b\r\n\r\n", method: "POST", status: 200, body: "abc"},
			{method: "GET", status: 200, body: "fixed b"},
		}, false},
		{"expect continue goes to net/http", []step{
			{raw: "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n", method: "POST", status: 100},
			{raw: "abc", method: "POST", status: 200, body: "abc"},
		}, false},
		{"client asks to close", []step{
			{raw: "GET /fixed HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", method: "GET", status: 200, body: "fixed a", header: "Connection: close"},
		}, true},
		{"malformed host", []step{
			{raw: "GET /fixed HTTP/1.1\r\nHost: a b\r\n\r\n", method: "GET", status: 400, body: "400 Bad Request"},
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, addr)
			for i, s := range tc.steps {
				if s.raw != "" {
					rc.send(s.raw)
				}
				resp, body, err := rc.response(s.method)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if resp.StatusCode != s.status || body != s.body {
					t.Fatalf("step %d: got %d %q, want %d %q", i, resp.StatusCode, body, s.status, s.body)
				}
				if chunked := len(resp.TransferEncoding) > 0; chunked != s.chunked {
					t.Errorf("step %d: chunked %v, want %v", i, chunked, s.chunked)
				}
				if got := resp.Trailer.Get("X-Sum"); got != s.trailer {
					t.Errorf("step %d: trailer X-Sum %q, want %q", i, got, s.trailer)
				}
				if s.header != "" {
					name, value, _ := strings.Cut(s.header, ": ")
					got := resp.Header.Get(name)
					if name == "Content-Length" {
						got = strconv.FormatInt(resp.ContentLength, 10)
					}
					if name == "Connection" && resp.Close {
						got = "close"
					}
					if got != value {
						t.Errorf("step %d: %s %q, want %q", i, name, got, value)
					}
				}
			}
			if got := rc.closed(); got != tc.closed {
				t.Errorf("connection closed %v, want %v", got, tc.closed)
			}
		})
	}
}

// A body of known length that the upstream sends slowly reaches the client
// as it comes, not when the proxy's buffer fills or the body ends.
func TestH1LoopStreamsKnownLength(t *testing.T) {
	received := make(chan struct{})
	addr, _, _ := inboundProxy(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "10")
		_, _ = io.WriteString(w, "first")
		w.(http.Flusher).Flush()
		select {
		case <-received:
		case <-time.After(5 * time.Second):
		}
		_, _ = io.WriteString(w, "-last")
	}), 2*time.Second)
	rc := dialRaw(t, addr)
	start := time.Now()
	rc.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, err := http.ReadResponse(rc.br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "first" {
		t.Fatalf("read %q, %v", first, err)
	}
	if waited := time.Since(start); waited > 4*time.Second {
		t.Fatalf("the first bytes arrived only with the rest (%v)", waited)
	}
	close(received)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "-last" {
		t.Fatalf("rest %q, %v", rest, err)
	}
}

// An upstream that answers before it has read the request body: the
// client gets the answer; a client that then stops sending the body it
// announced is closed after the head timeout, and one that sends it whole
// keeps its connection. The upstream transport, still writing the body on
// its own goroutine, must not read the connection after the loop took it
// back (run with -race).
func TestH1LoopEarlyResponseToBody(t *testing.T) {
	addr, _, _ := inboundProxy(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		_, _ = io.WriteString(w, "too big")
	}), 2*time.Second, func(c *Config) { c.ReadHeaderTimeout = 300 * time.Millisecond })
	for _, tc := range []struct {
		name         string
		length, sent int
		reusable     bool
	}{
		{"client stalls", 1 << 20, 64 << 10, false},
		{"body sent whole", 100 << 10, 100 << 10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, addr)
			rc.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + strconv.Itoa(tc.length) + "\r\n\r\n")
			go func() { _, _ = rc.c.Write(make([]byte, tc.sent)) }()
			resp, body, err := rc.response("POST")
			if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge || body != "too big" {
				t.Fatalf("got %v %q, %v", resp, body, err)
			}
			if !tc.reusable {
				_ = rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := rc.br.ReadByte(); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
					t.Fatalf("connection not closed: %v", err)
				}
				return
			}
			rc.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
			if resp, _, err := rc.response("POST"); err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("next request on the connection: %v, %v", resp, err)
			}
		})
	}
}

// A response whose upstream body breaks off must not look complete: the
// client of a chunked response gets no last chunk, the client of one with
// a length gets fewer bytes, and the connection closes either way.
func TestH1LoopBrokenUpstreamBody(t *testing.T) {
	hijackAfter := func(w http.ResponseWriter, head string) {
		c, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = bw.WriteString(head)
		_ = bw.Flush()
		time.Sleep(50 * time.Millisecond)
		_ = c.Close()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, _ *http.Request) {
		hijackAfter(w, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
	})
	mux.HandleFunc("/length", func(w http.ResponseWriter, _ *http.Request) {
		hijackAfter(w, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello")
	})
	addr, _, _ := inboundProxy(t, mux, 2*time.Second)
	for _, path := range []string{"/chunked", "/length"} {
		t.Run(path, func(t *testing.T) {
			rc := dialRaw(t, addr)
			rc.send("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n")
			resp, body, err := rc.response("GET")
			if err == nil {
				t.Fatalf("got a complete response: %v %q", resp.Status, body)
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("error %v, want an unexpected EOF", err)
			}
		})
	}
}

// Shutdown closes a keep-alive connection idle on the loop at once rather
// than at the end of the grace period.
func TestH1LoopShutdownClosesIdle(t *testing.T) {
	addr, cancel, done := inboundProxy(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}), time.Minute)
	rc := dialRaw(t, addr)
	rc.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if _, body, err := rc.response("GET"); err != nil || body != "ok" {
		t.Fatalf("got %q, %v", body, err)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the proxy waited for an idle keep-alive connection (grace period 1 min)")
	}
	if !rc.closed() {
		t.Error("the idle connection is still open")
	}
}

// FuzzFastPathHead: a head the framing guard passes and fastPathHead takes
// is one the loop can serve as net/http would. When net/http's parser
// accepts it, it is HTTP/1.1, not CONNECT, with a body framed by one
// Content-Length at most, and no upgrade or 100-continue.
func FuzzFastPathHead(f *testing.F) {
	for _, c := range smugglingCorpus() {
		f.Add([]byte(c.raw))
	}
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		end := bytes.Index(b, []byte("\r\n\r\n"))
		if end < 0 {
			return
		}
		head := b[:end+4]
		if _, err := guardAll(head, len(head)+1); err != nil || !fastPathHead(head) {
			return
		}
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if err != nil {
			return // the loop answers 400, as net/http does
		}
		switch {
		case r.ProtoMajor != 1 || r.ProtoMinor != 1:
			t.Fatalf("took %s", r.Proto)
		case r.Method == http.MethodConnect:
			t.Fatal("took CONNECT")
		case len(r.TransferEncoding) > 0:
			t.Fatalf("took Transfer-Encoding %q", r.TransferEncoding)
		case r.Header.Get("Upgrade") != "" || r.Header.Get("Expect") != "":
			t.Fatalf("took Upgrade %q / Expect %q", r.Header.Get("Upgrade"), r.Header.Get("Expect"))
		case len(r.Header["Content-Length"]) > 1:
			t.Fatalf("took Content-Length %q", r.Header["Content-Length"])
		}
	})
}

// FuzzH1Loop sends arbitrary bytes to a live proxy's inbound listener, then
// half-closes: whatever the bytes are (the loop's requests, a handoff to
// net/http, a refusal, opaque TCP), the proxy must neither panic nor hang:
// the connection ends within a few seconds of the client's FIN.
func FuzzH1Loop(f *testing.F) {
	for _, c := range smugglingCorpus() {
		f.Add([]byte(c.raw))
	}
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nshort"))
	f.Add([]byte("HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		_, _ = io.WriteString(w, "ok")
	}))
	f.Cleanup(backend.Close)
	ctx, cancel := context.WithCancel(context.Background())
	_, ls, done := startProxyWith(f, ctx, Config{
		InboundTarget:       strings.TrimPrefix(backend.URL, "http://"),
		ShutdownGracePeriod: time.Second,
		DetectTimeout:       300 * time.Millisecond,
		ReadHeaderTimeout:   300 * time.Millisecond,
	}, Deps{}, Listeners{})
	f.Cleanup(func() { cancel(); <-done })
	addr := ls.Inbound.Addr().String()
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			_, _ = c.Write(b)
			_ = c.(*net.TCPConn).CloseWrite()
		}()
		if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the proxy kept the connection open 10 s after the client's FIN (input %q)", b)
		}
	})
}
