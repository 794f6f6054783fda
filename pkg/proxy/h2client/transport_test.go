package h2client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshctl/meshctl/pkg/proxy/h2server"
)

// servers are the two HTTP/2 servers the client is checked against:
// net/http's (h2c) and the proxy's own.
func servers(t *testing.T, h http.Handler) map[string]string {
	t.Helper()
	out := map[string]string{}

	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	hs := &http.Server{Handler: h, Protocols: &p, ReadHeaderTimeout: 5 * time.Second}
	ln := listen(t)
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	out["net/http"] = ln.Addr().String()

	own := &h2server.Server{Handler: h}
	ln2 := listen(t)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln2.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { _ = own.ServeConn(context.Background(), c) })
		}
	})
	t.Cleanup(func() { _ = ln2.Close(); own.Close(); wg.Wait() })
	out["h2server"] = ln2.Addr().String()
	return out
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func newTransport(t *testing.T, dials *atomic.Int32) *Transport {
	t.Helper()
	tr := &Transport{Dial: func(ctx context.Context, addr string) (net.Conn, error) {
		if dials != nil {
			dials.Add(1)
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

func handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			w.Header().Set("Trailer", "X-Sum")
			n, _ := io.Copy(w, r.Body)
			w.Header().Set("X-Sum", fmt.Sprint(n, " ", r.Trailer.Get("X-Req")))
		case "/hints":
			w.Header().Set("Link", "</a.css>")
			w.WriteHeader(http.StatusEarlyHints)
			_, _ = io.WriteString(w, "after")
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		default:
			fmt.Fprintf(w, "%s %s host=%s cookie=%q te=%q ua=%q len=%d", r.Method, r.URL.RequestURI(), r.Host, r.Header.Get("Cookie"), r.Header.Get("Te"), r.Header["User-Agent"], r.ContentLength)
		}
	})
}

func TestExchanges(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 1<<18) // 4 MiB: past every window
	for name, addr := range servers(t, handler()) {
		tr := newTransport(t, nil)
		for _, tc := range []struct {
			name, method, path, body string
			header                   http.Header
			reqTrailer               http.Header
			wantBody                 string
			wantTrailer              string
			want1xx                  string
		}{
			{name: "get", method: "GET", path: "/a?b=c", header: http.Header{"Cookie": {"a=1; b=2"}, "Te": {"trailers"}, "User-Agent": {""}},
				wantBody: `GET /a?b=c host=HOST cookie="a=1; b=2" te="trailers" ua=[] len=0`},
			{name: "head", method: "HEAD", path: "/"},
			{name: "post echo with trailers", method: "POST", path: "/echo", body: "hello", reqTrailer: http.Header{"X-Req": {"r"}}, wantBody: "hello", wantTrailer: "5 r"},
			{name: "body past the windows", method: "PUT", path: "/echo", body: big, wantBody: big, wantTrailer: fmt.Sprint(len(big), " ")},
			{name: "early hints", method: "GET", path: "/hints", wantBody: "after", want1xx: "103"},
		} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				var body io.Reader
				if tc.body != "" {
					body = strings.NewReader(tc.body)
				}
				var got1xx []string
				ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
					got1xx = append(got1xx, fmt.Sprint(code))
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
					req.Trailer = http.Header{"X-Req": nil}
					req.Body = io.NopCloser(io.MultiReader(strings.NewReader(tc.body), readerFunc(func([]byte) (int, error) {
						req.Trailer["X-Req"] = tc.reqTrailer["X-Req"]
						return 0, io.EOF
					})))
					req.ContentLength = -1
				}
				res, err := tr.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(res.Body)
				_ = res.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				want := strings.ReplaceAll(tc.wantBody, "HOST", addr)
				if res.StatusCode != 200 || string(b) != want {
					t.Errorf("got %d %q, want 200 %q", res.StatusCode, clip(string(b)), clip(want))
				}
				if got := res.Trailer.Get("X-Sum"); got != tc.wantTrailer {
					t.Errorf("trailer X-Sum %q, want %q", got, tc.wantTrailer)
				}
				if strings.Join(got1xx, ",") != tc.want1xx {
					t.Errorf("1xx %v, want %s", got1xx, tc.want1xx)
				}
			})
		}
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func TestConcurrentRequestsShareOneDial(t *testing.T) {
	for name, addr := range servers(t, handler()) {
		t.Run(name, func(t *testing.T) {
			var dials atomic.Int32
			tr := newTransport(t, &dials)
			var wg sync.WaitGroup
			var failed atomic.Int32
			for i := range 50 {
				wg.Go(func() {
					msg := strings.Repeat(fmt.Sprint(i), 5000)
					req, _ := http.NewRequest("POST", "http://"+addr+"/echo", strings.NewReader(msg))
					res, err := tr.RoundTrip(req)
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
				t.Fatalf("%d of 50 exchanges failed", failed.Load())
			}
			if n := dials.Load(); n != 1 {
				t.Errorf("%d dials, want 1", n)
			}
		})
	}
}

func TestCancelResetsTheStream(t *testing.T) {
	for name, addr := range servers(t, handler()) {
		t.Run(name, func(t *testing.T) {
			tr := newTransport(t, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/slow", nil)
			start := time.Now()
			_, err := tr.RoundTrip(req)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("got %v, want the context's deadline", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v to give up", d)
			}
			// The connection still serves.
			req, _ = http.NewRequest("GET", "http://"+addr+"/", nil)
			res, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = res.Body.Close()
		})
	}
}

func TestClosingABodyEarlyKeepsTheConnection(t *testing.T) {
	for name, addr := range servers(t, handler()) {
		t.Run(name, func(t *testing.T) {
			var dials atomic.Int32
			tr := newTransport(t, &dials)
			for range 5 {
				req, _ := http.NewRequest("PUT", "http://"+addr+"/echo", strings.NewReader(strings.Repeat("x", 1<<20)))
				res, err := tr.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 10)
				if _, err := io.ReadFull(res.Body, buf); err != nil {
					t.Fatal(err)
				}
				_ = res.Body.Close()
			}
			if n := dials.Load(); n != 1 {
				t.Errorf("%d dials, want 1", n)
			}
		})
	}
}

func TestGoAwayRetriesUnprocessedRequests(t *testing.T) {
	// The server goes away (graceful shutdown) while a request is in
	// flight: that one finishes, and the next goes on a new connection.
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := &h2server.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			started <- struct{}{}
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	})}
	ln := listen(t)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = srv.ServeConn(context.Background(), c) }()
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	var dials atomic.Int32
	tr := newTransport(t, &dials)
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/hold", nil)
		res, err := tr.RoundTrip(req)
		if err == nil {
			_, err = io.ReadAll(res.Body)
			_ = res.Body.Close()
		}
		done <- err
	}()
	<-started
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	time.Sleep(50 * time.Millisecond) // the GOAWAY arrives
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the request in flight: %v", err)
	}
	<-shut
	// A new server on the same address is not needed: the transport
	// must not reuse the gone connection; it dials again and fails or
	// succeeds on its own.
	if n := dials.Load(); n != 1 {
		t.Errorf("%d dials before the next request, want 1", n)
	}
}

func TestExpectContinue(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/refuse" {
			w.WriteHeader(http.StatusExpectationFailed)
			return
		}
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, n)
	})
	for name, addr := range servers(t, h) {
		t.Run(name, func(t *testing.T) {
			tr := newTransport(t, nil)
			var sent atomic.Bool
			body := readerFunc(func(p []byte) (int, error) {
				if sent.Swap(true) {
					return 0, io.EOF
				}
				return copy(p, "hello"), nil
			})
			req, _ := http.NewRequest("PUT", "http://"+addr+"/refuse", io.NopCloser(body))
			req.ContentLength = 5
			req.Header.Set("Expect", "100-continue")
			res, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = res.Body.Close()
			if res.StatusCode != http.StatusExpectationFailed {
				t.Errorf("status %d, want 417", res.StatusCode)
			}
			if sent.Load() {
				t.Error("the body was sent though the server refused it first")
			}
			sent.Store(false)
			req, _ = http.NewRequest("PUT", "http://"+addr+"/accept", io.NopCloser(body))
			req.ContentLength = 5
			req.Header.Set("Expect", "100-continue")
			res, err = tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if string(b) != "5" {
				t.Errorf("the server read %q bytes, want 5", b)
			}
		})
	}
}

func TestStatusLine(t *testing.T) {
	for _, code := range []int{200, 204, 304, 404, 418, 503, 599} {
		want := strconv.Itoa(code) + " " + http.StatusText(code)
		if got := statusLine(code); got != want {
			t.Errorf("statusLine(%d) = %q, want %q", code, got, want)
		}
	}
}
