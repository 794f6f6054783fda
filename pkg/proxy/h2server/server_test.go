package h2server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// serve starts srv on a loopback listener; each connection is served by
// ServeConn as the proxy does.
func serve(t *testing.T, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		srv.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { _ = srv.ServeConn(context.Background(), c) })
		}
	})
	return ln.Addr().String()
}

// client is a real HTTP/2 client (x/net's transport) with prior knowledge.
func client(t *testing.T) *http.Client {
	t.Helper()
	tr := &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func TestExchanges(t *testing.T) {
	srv := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			w.Header().Set("Trailer", "X-Sum")
			n, _ := io.Copy(w, r.Body)
			w.Header().Set("X-Sum", fmt.Sprint(n, " ", r.Trailer.Get("X-Req")))
		case "/hints":
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Del("Link")
			_, _ = io.WriteString(w, "after hints")
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
			if _, err := w.Write([]byte("x")); !errors.Is(err, http.ErrBodyNotAllowed) {
				panic("a 204 took a body")
			}
		case "/prefixed-trailer":
			_, _ = io.WriteString(w, "body")
			w.Header().Set(http.TrailerPrefix+"X-Late", "late")
		default:
			fmt.Fprintf(w, "%s %s host=%s proto=%s cookie=%q len=%d", r.Method, r.URL.RequestURI(), r.Host, r.Proto, r.Header.Get("Cookie"), r.ContentLength)
		}
	})}
	addr := serve(t, srv)
	cl := client(t)
	big := strings.Repeat("0123456789abcdef", 1<<17) // 2 MiB: past every window

	for _, tc := range []struct {
		name        string
		method      string
		path        string
		body        string
		reqTrailer  http.Header
		header      http.Header
		wantStatus  int
		wantBody    string
		wantTrailer http.Header
		want1xx     []int
	}{
		{name: "get", method: "GET", path: "/a?b=c", header: http.Header{"Cookie": {"a=1", "b=2"}}, wantStatus: 200, wantBody: `GET /a?b=c host=HOST proto=HTTP/2.0 cookie="a=1; b=2" len=0`},
		{name: "head", method: "HEAD", path: "/", wantStatus: 200},
		{name: "echo with trailers", method: "POST", path: "/echo", body: "hello", reqTrailer: http.Header{"X-Req": {"r"}}, wantStatus: 200, wantBody: "hello", wantTrailer: http.Header{"X-Sum": {"5 r"}}},
		{name: "echo past the windows", method: "PUT", path: "/echo", body: big, wantStatus: 200, wantBody: big, wantTrailer: http.Header{"X-Sum": {fmt.Sprint(len(big), " ")}}},
		{name: "early hints", method: "GET", path: "/hints", wantStatus: 200, wantBody: "after hints", want1xx: []int{103}},
		{name: "no content", method: "GET", path: "/nocontent", wantStatus: 204},
		{name: "undeclared trailer", method: "GET", path: "/prefixed-trailer", wantStatus: 200, wantBody: "body", wantTrailer: http.Header{"X-Late": {"late"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			var got1xx []int
			ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
				got1xx = append(got1xx, code)
				return nil
			}})
			req, err := http.NewRequestWithContext(ctx, tc.method, "http://"+addr+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			for k, vv := range tc.header {
				req.Header[k] = vv
			}
			if tc.reqTrailer != nil {
				req.Trailer = http.Header{}
				for k := range tc.reqTrailer {
					req.Trailer[k] = nil
				}
				req.Body = &trailerBody{r: req.Body, set: func() {
					for k, vv := range tc.reqTrailer {
						req.Trailer[k] = vv
					}
				}}
				req.ContentLength = -1
			}
			res, err := cl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(tc.wantBody, "HOST", addr)
			if res.StatusCode != tc.wantStatus || string(b) != want {
				t.Errorf("got %d %q, want %d %q", res.StatusCode, clip(string(b)), tc.wantStatus, clip(want))
			}
			for k, vv := range tc.wantTrailer {
				if got := res.Trailer[k]; fmt.Sprint(got) != fmt.Sprint(vv) {
					t.Errorf("trailer %s = %q, want %q", k, got, vv)
				}
			}
			if fmt.Sprint(got1xx) != fmt.Sprint(tc.want1xx) && len(tc.want1xx)+len(got1xx) > 0 {
				t.Errorf("1xx responses %v, want %v", got1xx, tc.want1xx)
			}
			if res.Header.Get("Date") == "" {
				t.Error("no Date field")
			}
		})
	}
}

type trailerBody struct {
	r   io.Reader
	set func()
}

func (b *trailerBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.set()
	}
	return n, err
}

func (b *trailerBody) Close() error { return nil }

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func TestConcurrentStreamsShareOneConnection(t *testing.T) {
	var conns sync.Map
	srv := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conns.Store(r.RemoteAddr, true)
		_, _ = io.Copy(w, r.Body)
	})}
	addr := serve(t, srv)
	cl := client(t)
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range 64 {
		wg.Go(func() {
			msg := strings.Repeat(fmt.Sprint(i), 10_000)
			res, err := cl.Post("http://"+addr+"/", "text/plain", strings.NewReader(msg))
			if err != nil {
				failed.Add(1)
				return
			}
			b, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if string(b) != msg {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of 64 exchanges failed", failed.Load())
	}
	n := 0
	conns.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// rawConn is a hand-driven HTTP/2 client, for what a real client never
// sends.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	// fr reads, wfr writes: a test may write from another goroutine.
	fr, wfr *http2.Framer
	wmu     sync.Mutex // wfr's
	enc     *hpack.Encoder
	buf     bytes.Buffer
}

// write runs w on the writing framer, which goroutines share.
func (rc *rawConn) write(w func(*http2.Framer) error) error {
	rc.wmu.Lock()
	defer rc.wmu.Unlock()
	return w(rc.wfr)
}

func dialRaw(t *testing.T, addr string, settings ...http2.Setting) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	rc := &rawConn{t: t, nc: nc, fr: http2.NewFramer(nil, nc), wfr: http2.NewFramer(nc, nil)}
	rc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	rc.enc = hpack.NewEncoder(&rc.buf)
	if _, err := io.WriteString(nc, clientPreface); err != nil {
		t.Fatal(err)
	}
	if err := rc.wfr.WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
	return rc
}

// headers sends a request head; fields after the pseudo ones as given.
func (rc *rawConn) headers(id uint32, endStream bool, fields ...string) {
	rc.t.Helper()
	if err := rc.tryHeaders(id, endStream, fields...); err != nil {
		rc.t.Fatal(err)
	}
}

func (rc *rawConn) tryHeaders(id uint32, endStream bool, fields ...string) error {
	rc.wmu.Lock()
	defer rc.wmu.Unlock()
	rc.buf.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		_ = rc.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return rc.wfr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: rc.buf.Bytes(), EndStream: endStream, EndHeaders: true})
}

func get(path string) []string {
	return []string{":method", "GET", ":scheme", "http", ":authority", "x", ":path", path}
}

// next returns the next frame other than SETTINGS, PING and WINDOW_UPDATE
// (acknowledging the server's SETTINGS), or nil once the connection ends.
func (rc *rawConn) next() http2.Frame {
	rc.t.Helper()
	for {
		f, err := rc.fr.ReadFrame()
		if err != nil {
			return nil
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = rc.write((*http2.Framer).WriteSettingsAck)
			}
			continue
		case *http2.WindowUpdateFrame, *http2.PingFrame:
			continue
		}
		return f
	}
}

func describe(f http2.Frame) string {
	switch f := f.(type) {
	case nil:
		return "end of connection"
	case *http2.RSTStreamFrame:
		return fmt.Sprintf("RST_STREAM %d %v", f.StreamID, f.ErrCode)
	case *http2.GoAwayFrame:
		return fmt.Sprintf("GOAWAY %v last %d", f.ErrCode, f.LastStreamID)
	case *http2.MetaHeadersFrame:
		return fmt.Sprintf("HEADERS %d :status %s end %v", f.StreamID, f.PseudoValue("status"), f.StreamEnded())
	case *http2.DataFrame:
		return fmt.Sprintf("DATA %d %q end %v", f.StreamID, f.Data(), f.StreamEnded())
	}
	return fmt.Sprintf("%T", f)
}

func TestMalformedRequestsAreReset(t *testing.T) {
	var served atomic.Int32
	srv := &Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served.Add(1) })}
	addr := serve(t, srv)
	for _, tc := range []struct {
		name   string
		fields []string
	}{
		{"no path", []string{":method", "GET", ":scheme", "http", ":authority", "x"}},
		{"no scheme", []string{":method", "GET", ":authority", "x", ":path", "/"}},
		{"connection field", append(get("/"), "connection", "keep-alive")},
		{"transfer-encoding", append(get("/"), "transfer-encoding", "chunked")},
		{"upgrade", append(get("/"), "upgrade", "websocket")},
		{"te gzip", append(get("/"), "te", "gzip")},
		{"userinfo", []string{":method", "GET", ":scheme", "http", ":authority", "u@x", ":path", "/"}},
		{"connect with path", []string{":method", "CONNECT", ":authority", "x:1", ":path", "/"}},
		{"extended connect", []string{":method", "CONNECT", ":protocol", "websocket", ":scheme", "http", ":authority", "x", ":path", "/"}},
		{"bad path", []string{":method", "GET", ":scheme", "http", ":authority", "x", ":path", "no-slash"}},
		{"space in path", []string{":method", "GET", ":scheme", "http", ":authority", "x", ":path", "/a?b c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, addr)
			rc.headers(1, true, tc.fields...)
			f := rc.next()
			if rst, ok := f.(*http2.RSTStreamFrame); !ok || rst.ErrCode != http2.ErrCodeProtocol {
				t.Fatalf("got %s, want RST_STREAM PROTOCOL_ERROR", describe(f))
			}
			// The connection goes on.
			rc.headers(3, true, get("/ok")...)
			if f := rc.next(); describe(f) != "HEADERS 3 :status 200 end false" {
				t.Fatalf("then %s, want a 200", describe(f))
			}
		})
	}
	if n := served.Load(); n != 11 {
		t.Errorf("%d requests served, want only the 11 well-formed ones", n)
	}
	// TE may be "trailers", or empty as net/http reads it.
	for _, te := range []string{"trailers", ""} {
		rc := dialRaw(t, addr)
		rc.headers(1, true, append(get("/"), "te", te)...)
		if f := rc.next(); describe(f) != "HEADERS 1 :status 200 end false" {
			t.Errorf("te %q: got %s, want a 200", te, describe(f))
		}
	}
}

func TestFlowControlWaitsForTheClient(t *testing.T) {
	srv := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "abc")
	})}
	addr := serve(t, srv)
	rc := dialRaw(t, addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	rc.headers(1, true, get("/")...)
	if f := rc.next(); describe(f) != "HEADERS 1 :status 200 end false" {
		t.Fatalf("got %s, want the head", describe(f))
	}
	// Nothing more until the window opens: one byte at a time.
	_ = rc.nc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if f, err := rc.fr.ReadFrame(); err == nil {
		t.Fatalf("got %s with a zero window", describe(f))
	}
	_ = rc.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	rc.fr = http2.NewFramer(nil, rc.nc) // the timed-out read left it unusable
	rc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := rc.wfr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 3 {
		f := rc.next()
		got = append(got, describe(f))
		if err := rc.wfr.WriteWindowUpdate(1, 1); err != nil {
			t.Fatal(err)
		}
	}
	if f := rc.next(); true {
		got = append(got, describe(f))
	}
	want := `DATA 1 "a" end false|DATA 1 "b" end false|DATA 1 "c" end false|DATA 1 "" end true`
	if strings.Join(got, "|") != want {
		t.Errorf("got %s, want %s", strings.Join(got, "|"), want)
	}
}

func TestMaxConcurrentStreams(t *testing.T) {
	release := make(chan struct{})
	srv := &Server{MaxConcurrentStreams: 2, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		<-release
	})}
	addr := serve(t, srv)
	defer close(release)
	rc := dialRaw(t, addr)
	// The server's SETTINGS come first: acknowledged by next() below only,
	// so the third stream is refused as one the client may not know.
	rc.headers(1, true, get("/")...)
	rc.headers(3, true, get("/")...)
	rc.headers(5, true, get("/")...)
	f := rc.next()
	rst, ok := f.(*http2.RSTStreamFrame)
	if !ok || rst.StreamID != 5 || (rst.ErrCode != http2.ErrCodeRefusedStream && rst.ErrCode != http2.ErrCodeProtocol) {
		t.Fatalf("got %s, want stream 5 refused", describe(f))
	}
}

func TestRapidResetIsBounded(t *testing.T) {
	var running, peak atomic.Int32
	srv := &Server{MaxConcurrentStreams: 4, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-r.Context().Done()
		time.Sleep(50 * time.Millisecond) // a handler slow to notice
	})}
	addr := serve(t, srv)
	rc := dialRaw(t, addr)
	var end http2.Frame
	go func() {
		for id := uint32(1); id < 2000; id += 2 {
			if rc.tryHeaders(id, true, get("/")...) != nil || rc.write(func(fr *http2.Framer) error { return fr.WriteRSTStream(id, http2.ErrCodeCancel) }) != nil {
				return
			}
		}
	}()
	for {
		f := rc.next()
		if f == nil {
			break
		}
		if _, ok := f.(*http2.GoAwayFrame); ok {
			end = f
			break
		}
	}
	if ga, ok := end.(*http2.GoAwayFrame); !ok || ga.ErrCode != http2.ErrCodeEnhanceYourCalm {
		t.Errorf("ended with %s, want GOAWAY ENHANCE_YOUR_CALM", describe(end))
	}
	if p := peak.Load(); p > 4 {
		t.Errorf("%d handlers ran at once, want at most MaxConcurrentStreams (4)", p)
	}
}

func TestHeaderListTooLong(t *testing.T) {
	srv := &Server{MaxHeaderBytes: 1024, Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
	addr := serve(t, srv)
	rc := dialRaw(t, addr)
	fields := get("/")
	for i := range 20 {
		fields = append(fields, fmt.Sprintf("x-field-%d", i), strings.Repeat("a", 100))
	}
	rc.headers(1, true, fields...)
	if f := rc.next(); describe(f) != "HEADERS 1 :status 431 end false" {
		t.Fatalf("got %s, want 431", describe(f))
	}
}

func TestIdleConnectionGoesAway(t *testing.T) {
	srv := &Server{IdleTimeout: 100 * time.Millisecond, Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
	addr := serve(t, srv)
	rc := dialRaw(t, addr)
	rc.headers(1, true, get("/")...)
	for f := rc.next(); ; f = rc.next() {
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			if ga.ErrCode != http2.ErrCodeNo || ga.LastStreamID != 1 {
				t.Errorf("got %s, want GOAWAY NO_ERROR last 1", describe(f))
			}
			break
		}
		if f == nil {
			t.Fatal("closed without GOAWAY")
		}
	}
	if f := rc.next(); f != nil {
		t.Errorf("then %s, want the end", describe(f))
	}
}

func TestShutdownFinishesStreamsInFlight(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	srv := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
		}
		_, _ = io.WriteString(w, "done")
	})}
	addr := serve(t, srv)
	rc := dialRaw(t, addr)
	rc.headers(1, true, get("/slow")...)
	<-started
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	f := rc.next()
	if ga, ok := f.(*http2.GoAwayFrame); !ok || ga.LastStreamID != 1 {
		t.Fatalf("got %s, want GOAWAY last 1", describe(f))
	}
	rc.headers(3, true, get("/late")...) // past the GOAWAY: ignored
	close(release)
	var got []string
	for f := rc.next(); f != nil; f = rc.next() {
		got = append(got, describe(f))
	}
	want := `HEADERS 1 :status 200 end false|DATA 1 "done" end false|DATA 1 "" end true`
	if strings.Join(got, "|") != want {
		t.Errorf("got %s, want %s", strings.Join(got, "|"), want)
	}
	if err := <-shut; err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func TestClientResetCancelsTheHandler(t *testing.T) {
	cancelled := make(chan struct{})
	started := make(chan struct{})
	srv := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
		close(cancelled)
	})}
	addr := serve(t, srv)
	rc := dialRaw(t, addr)
	rc.headers(1, false, get("/")...)
	<-started
	if err := rc.wfr.WriteRSTStream(1, http2.ErrCodeCancel); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's context was not cancelled")
	}
}

func TestRequestBodyIsBoundedByTheWindow(t *testing.T) {
	srv := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})}
	addr := serve(t, srv)
	post := func(path string) []string { return append([]string{":method", "POST"}, get(path)[2:]...) }
	chunk := make([]byte, 16<<10)

	// (A body larger than every window, read as it comes, is TestExchanges'
	// "echo past the windows", with a client that keeps to the windows.)

	// Unread, the window fills; one frame more is a flow-control error
	// that ends the connection.
	rc2 := dialRaw(t, addr)
	rc2.headers(1, false, post("/never-read")...)
	for sent := 0; sent <= streamWindow; sent += len(chunk) {
		if err := rc2.wfr.WriteData(1, false, chunk); err != nil {
			break
		}
	}
	f := rc2.next()
	if ga, ok := f.(*http2.GoAwayFrame); f != nil && (!ok || ga.ErrCode != http2.ErrCodeFlowControl) {
		t.Errorf("past the window: got %s, want GOAWAY FLOW_CONTROL_ERROR or the end", describe(f))
	}
}

func TestStalledWindowResetsTheStream(t *testing.T) {
	returned := make(chan error, 1)
	srv := &Server{WriteTimeout: 200 * time.Millisecond, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, err := io.WriteString(w, "never granted")
		returned <- err
	})}
	addr := serve(t, srv)
	rc := dialRaw(t, addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	rc.headers(1, true, get("/")...)
	var got []string
	for len(got) < 2 {
		f := rc.next()
		if f == nil {
			break
		}
		got = append(got, describe(f))
	}
	if want := "HEADERS 1 :status 200 end false|RST_STREAM 1 CANCEL"; strings.Join(got, "|") != want {
		t.Errorf("got %s, want %s", strings.Join(got, "|"), want)
	}
	select {
	case err := <-returned:
		if !errors.Is(err, errWindowStalled) {
			t.Errorf("the handler's write returned %v, want errWindowStalled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler is still waiting for a window")
	}
}

func TestAResetStreamLeavesTheConnection(t *testing.T) {
	wrote := make(chan error, 1)
	srv := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/stream" {
			_, _ = io.WriteString(w, "ok")
			return
		}
		for {
			if _, err := io.WriteString(w, "tick"); err != nil {
				wrote <- err
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(5 * time.Millisecond)
		}
	})}
	addr := serve(t, srv)
	rc := dialRaw(t, addr)
	rc.headers(1, true, get("/stream")...)
	for f := rc.next(); ; f = rc.next() {
		if _, ok := f.(*http2.DataFrame); ok {
			break
		}
		if f == nil {
			t.Fatal("the connection ended before the stream's first DATA")
		}
	}
	if err := rc.write(func(fr *http2.Framer) error { return fr.WriteRSTStream(1, http2.ErrCodeCancel) }); err != nil {
		t.Fatal(err)
	}
	if err := <-wrote; !errors.Is(err, errStreamReset) && !errors.Is(err, errClientReset) {
		t.Errorf("the handler's write after the reset: %v, want the stream's reset", err)
	}
	rc.headers(3, true, get("/after")...)
	for f := rc.next(); ; f = rc.next() {
		if f == nil {
			t.Fatal("the connection ended with the reset stream")
		}
		if h, ok := f.(*http2.MetaHeadersFrame); ok && h.StreamID == 3 {
			if h.PseudoValue("status") != "200" {
				t.Errorf("stream 3: %s", describe(f))
			}
			break
		}
	}
}
