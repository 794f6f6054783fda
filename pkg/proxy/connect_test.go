package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// meshedPair starts a meshed client and server proxy, the client
// resolving every target to the server with the given hint (EndpointH2 is
// what a meshed endpoint carries in a cluster). It returns the client's
// outbound address.
func meshedPair(t testing.TB, backend string, hint EndpointProtocol) (client, server *Proxy, outbound string) {
	t.Helper()
	ca := newMeshCA(t)
	server, sls := startMeshed(t, Config{InboundTarget: backend}, ca.provider(t, serverID, ca))
	dst := endpointList{{Addr: netip.MustParseAddrPort(sls.Inbound.Addr().String()), Identity: serverID, Protocol: hint}}
	ctx, cancel := context.WithCancel(context.Background())
	client, cls, done := startProxyWith(t, ctx, Config{InboundTarget: "127.0.0.1:1", OutboundTarget: "10.96.0.20:3128", ShutdownGracePeriod: time.Second},
		Deps{Destination: dst, TLS: ca.provider(t, clientID, ca)}, Listeners{})
	t.Cleanup(func() { cancel(); <-done })
	return client, server, cls.Outbound.Addr().String()
}

// forwardProxy is an application that answers CONNECT as a forward proxy
// does, and plays the far end of the tunnel itself: echo.example:7 echoes
// until the client half-closes, web.example:80 serves one HTTP request,
// forbidden.example:443 is refused.
type forwardProxy struct {
	mu       sync.Mutex
	clientID []string
}

func (f *forwardProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	f.mu.Lock()
	f.clientID = append(f.clientID, r.Header.Get(HeaderClientID))
	f.mu.Unlock()
	if r.Host == "forbidden.example:443" {
		http.Error(w, "not on the allow-list", http.StatusForbidden)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = brw.WriteString("HTTP/1.1 200 Connection established\r\nVia: 1.1 forward-proxy\r\n\r\n")
	_ = brw.Flush()
	switch r.Host {
	case "echo.example:7":
		_, _ = io.Copy(conn, brw)
		_ = conn.(*net.TCPConn).CloseWrite()
		_, _ = io.Copy(io.Discard, brw)
	case "web.example:80":
		req, err := http.ReadRequest(brw.Reader)
		if err != nil {
			return
		}
		body := "tunnelled " + req.Method + " " + req.URL.Path
		_, _ = fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	}
}

// TestConnectTunnel: CONNECT through a meshed pair reaches a forward proxy
// in the server's pod, which sees the verified client identity; its 2xx
// turns both connections into one tunnel carrying bytes both ways with
// half-close, a refusal comes back as the response it is, and curl's
// --proxytunnel works end to end.
func TestConnectTunnel(t *testing.T) {
	fwd := &forwardProxy{}
	client, _, outbound := meshedPair(t, newHTTP1Server(t, fwd), EndpointH2)

	t.Run("raw tunnel with half-close", func(t *testing.T) {
		c, err := net.Dial("tcp", outbound)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		// The first tunnel bytes follow the request head at once, before
		// the answer, as clients in a hurry send them.
		payload := strings.Repeat("through the tunnel;", 5000)
		_, _ = io.WriteString(c, "CONNECT echo.example:7 HTTP/1.1\r\nHost: echo.example:7\r\n\r\n"+payload[:100])
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Via") != "1.1 forward-proxy" {
			t.Fatalf("CONNECT answered %s %v", resp.Status, resp.Header)
		}
		go func() {
			_, _ = io.WriteString(c, payload[100:])
			_ = c.(*net.TCPConn).CloseWrite()
		}()
		got, err := io.ReadAll(br)
		if err != nil || string(got) != payload {
			t.Fatalf("echo through the tunnel: %d bytes of %d, %v", len(got), len(payload), err)
		}
	})

	t.Run("refused", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodConnect, "http://"+outbound, nil)
		req.Host = "forbidden.example:443"
		c, err := net.Dial("tcp", outbound)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(c, "CONNECT forbidden.example:443 HTTP/1.1\r\nHost: forbidden.example:443\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "allow-list") {
			t.Fatalf("refused CONNECT came back as %d %q", resp.StatusCode, body)
		}
	})

	t.Run("curl --proxytunnel", func(t *testing.T) {
		curl, err := exec.LookPath("curl")
		if err != nil {
			t.Skip("curl not installed")
		}
		out, err := exec.Command(curl, "-sS", "--max-time", "10", "--proxytunnel", "--proxy", "http://"+outbound, "http://web.example/page").CombinedOutput()
		if err != nil || string(out) != "tunnelled GET /page" {
			t.Fatalf("curl through the tunnel: %q, %v", out, err)
		}
	})

	fwd.mu.Lock()
	for _, id := range fwd.clientID {
		if id != clientID {
			t.Errorf("the forward proxy saw %s %q, want %q", HeaderClientID, id, clientID)
		}
	}
	fwd.mu.Unlock()
	want := map[string]string{"direction": "outbound", "status_code": "200", "classification": "success", "tls": "true"}
	eventually(t, func() bool { return counterSum(client, "response_total", want) == 2 }, "the two tunnels are counted as successful responses")
	refused := map[string]string{"direction": "outbound", "status_code": "403"}
	eventually(t, func() bool { return counterSum(client, "response_total", refused) == 1 }, "the refusal is counted")
}
