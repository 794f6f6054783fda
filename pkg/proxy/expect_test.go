package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// expectApp is an HTTP/1.1 application that answers Expect: 100-continue
// itself, one request per connection: for /accept it waits, sends 100
// Continue, reads the body and answers 200 with its length; for /reject
// it answers 417 at once and reads nothing.
type expectApp struct {
	addr string
	mu   sync.Mutex
	seen []string  // "path expect=... body=N", one per request
	sent time.Time // when the last 100 Continue left
}

func newExpectApp(t *testing.T) *expectApp {
	a := &expectApp{}
	a.addr = serveEach(t, a.serve)
	return a
}

func (a *expectApp) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	r, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	expect := r.Header.Get("Expect")
	if r.URL.Path == "/reject" {
		a.note(fmt.Sprintf("%s expect=%s body=-", r.URL.Path, expect))
		_, _ = io.WriteString(c, "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return
	}
	time.Sleep(150 * time.Millisecond) // a 100 sent by anyone else arrives first
	a.mu.Lock()
	a.sent = time.Now()
	a.mu.Unlock()
	_, _ = io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
	n, _ := io.Copy(io.Discard, r.Body)
	a.note(fmt.Sprintf("%s expect=%s body=%d", r.URL.Path, expect, n))
	_, _ = fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(fmt.Sprint(n)), fmt.Sprint(n))
}

func (a *expectApp) note(s string) {
	a.mu.Lock()
	a.seen = append(a.seen, s)
	a.mu.Unlock()
}

// TestExpectContinueEndToEnd: a request with Expect: 100-continue is the
// application's to answer, through one proxy or a pair that carries it
// over HTTP/2: the application sees the Expect field, the client gets 100
// Continue only once the application sent it, and a refusal reaches the
// client before any of the body has left it.
func TestExpectContinueEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(t *testing.T, app string) string // returns the address the client dials
	}{
		{"pair over http2", func(t *testing.T, app string) string {
			_, _, outbound := meshedPair(t, app, EndpointH2)
			return outbound
		}},
		{"one proxy", func(t *testing.T, app string) string {
			ctx, cancel := context.WithCancel(context.Background())
			_, ls, done := startProxy(t, ctx, Config{InboundTarget: "127.0.0.1:1", OutboundTarget: app})
			t.Cleanup(func() { cancel(); <-done })
			return ls.Outbound.Addr().String()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := newExpectApp(t)
			addr := tc.start(t, app.addr)

			// Accepted: 100 Continue comes from the application.
			c := dialTest(t, addr)
			br := bufio.NewReader(c)
			_, _ = io.WriteString(c, "PUT /accept HTTP/1.1\r\nHost: app\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
			line, err := br.ReadString('\n')
			got := time.Now()
			if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
				t.Fatalf("first line %q (%v), want 100 Continue", line, err)
			}
			app.mu.Lock()
			sent := app.sent
			app.mu.Unlock()
			if sent.IsZero() || got.Before(sent) {
				t.Errorf("the client got 100 Continue before the application sent it")
			}
			if blank, _ := br.ReadString('\n'); blank != "\r\n" {
				t.Fatalf("100 Continue then %q", blank)
			}
			_, _ = io.WriteString(c, "hello")
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("reading the response: %v", err)
			}
			if res.StatusCode != 200 {
				t.Errorf("accepted upload: status %d after one 100 Continue, want 200", res.StatusCode)
			}
			_ = res.Body.Close()
			_ = c.Close()

			// Refused: the client hears 417 without sending the body.
			c = dialTest(t, addr)
			br = bufio.NewReader(c)
			_, _ = io.WriteString(c, "PUT /reject HTTP/1.1\r\nHost: app\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			res = readFinal(t, br)
			if res.StatusCode != http.StatusExpectationFailed {
				t.Errorf("refused upload: status %d, want 417", res.StatusCode)
			}
			_ = c.Close()

			app.mu.Lock()
			defer app.mu.Unlock()
			want := "/accept expect=100-continue body=5|/reject expect=100-continue body=-"
			if got := strings.Join(app.seen, "|"); got != want {
				t.Errorf("the application saw %q, want %q", got, want)
			}
		})
	}
}

func dialTest(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// readFinal reads responses until a final one, which it returns with its
// body read.
func readFinal(t *testing.T, br *bufio.Reader) *http.Response {
	t.Helper()
	res, err := readFinalResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return res
}

// TestHostlessRequestNamesItsTarget: an HTTP/1.0 request without Host
// reaches the application named by the address the client connected to
// (a Service's, here), not by the endpoint the proxy picked behind it, on
// both forwarding paths: bodiless (the loop's) and with a body (the
// reverse proxy's).
func TestHostlessRequestNamesItsTarget(t *testing.T) {
	var mu sync.Mutex
	var hosts []string
	app := newHTTP1Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts = append(hosts, r.Host)
		mu.Unlock()
	}))
	_, ls := startOutbound(t, Config{InboundTarget: "127.0.0.1:1", OutboundTarget: "10.96.0.20:80"},
		Deps{Destination: endpointList{{Addr: netip.MustParseAddrPort(app)}}})
	for _, req := range []string{
		"GET / HTTP/1.0\r\n\r\n",
		"POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi",
	} {
		c := dialTest(t, ls.Outbound.Addr().String())
		_, _ = io.WriteString(c, req)
		res := readFinal(t, bufio.NewReader(c))
		_ = c.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%q: status %d", req, res.StatusCode)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"10.96.0.20:80", "10.96.0.20:80"}; !slices.Equal(hosts, want) {
		t.Fatalf("the application saw Host %q, want %q", hosts, want)
	}
}
