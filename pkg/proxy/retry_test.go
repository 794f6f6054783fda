package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// endpointList is a destination answering every target with fixed endpoints.
type endpointList []Endpoint

func (l endpointList) Resolve(context.Context, Target) ([]Endpoint, error) { return l, nil }

// deadAddr is a loopback address where nothing listens (connect refused).
func deadAddr(t *testing.T) netip.AddrPort {
	t.Helper()
	return netip.MustParseAddrPort(freeAddr(t))
}

// startOutbound starts a proxy whose outbound side resolves every
// connection with dst.
func startOutbound(t *testing.T, cfg Config, deps Deps) (*Proxy, Listeners) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg.ShutdownGracePeriod = time.Second
	p, ls, done := startProxyWith(t, ctx, cfg, deps, Listeners{})
	t.Cleanup(func() { cancel(); <-done })
	return p, ls
}

func connectRetries(p *Proxy) float64 {
	return testutil.ToFloat64(p.outbound.metrics.connectRetries.WithLabelValues(string(Outbound)))
}

// TestConnectRetriedOnAnotherEndpoint: with two of three endpoints
// refusing connections (pods going away), every HTTP request without a
// body and every opaque TCP connection still reaches the live one, and
// the balancer soon stops choosing the dead ones.
func TestConnectRetriedOnAnotherEndpoint(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil || int64(len(b)) != max(r.ContentLength, 0) {
			t.Errorf("the backend read %d bytes of a body of %d: %v", len(b), r.ContentLength, err)
		}
		_, _ = w.Write(b)
	}))
	defer backend.Close()
	echo := tcpEcho(t)
	live := netip.MustParseAddrPort(strings.TrimPrefix(backend.URL, "http://"))
	httpEps := endpointList{{Addr: deadAddr(t)}, {Addr: deadAddr(t)}, {Addr: live}}
	p, ls := startOutbound(t, Config{OutboundTarget: "127.0.0.1:1"}, Deps{Destination: httpEps})

	client := &http.Client{Timeout: 5 * time.Second}
	for i := range 200 {
		resp, err := client.Get("http://" + ls.Outbound.Addr().String() + "/")
		if err != nil {
			t.Fatalf("GET %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %d: %d %s", i, resp.StatusCode, resp.Header.Get("meshctl-proxy-error"))
		}
	}
	// Requests with a body are retried too (gRPC calls always have one):
	// the body is held back until an attempt connects, and the backend
	// must see every byte. It answers with the length it read, a short
	// response.
	lengths := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil || int64(len(b)) != r.ContentLength || strings.Trim(string(b), "y") != "" {
			t.Errorf("the backend read %d bytes of a body of %d: %v", len(b), r.ContentLength, err)
		}
		fmt.Fprint(w, len(b))
	}))
	defer lengths.Close()
	postEps := endpointList{{Addr: deadAddr(t)}, {Addr: deadAddr(t)}, {Addr: netip.MustParseAddrPort(strings.TrimPrefix(lengths.URL, "http://"))}}
	pp, pls := startOutbound(t, Config{OutboundTarget: "127.0.0.1:1"}, Deps{Destination: postEps})
	for i := range 100 {
		body := strings.Repeat("y", i*97)
		resp, err := client.Post("http://"+pls.Outbound.Addr().String()+"/", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatalf("POST %d: %v", i, err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || string(got) != fmt.Sprint(len(body)) {
			t.Fatalf("POST %d: %d %q (%v), want 200 %d", i, resp.StatusCode, got, err, len(body))
		}
	}
	if connectRetries(pp) == 0 {
		t.Fatal("no POST was retried")
	}

	retries := connectRetries(p)
	if retries == 0 {
		t.Fatal("no connect was retried: the dead endpoints were never picked?")
	}
	// Backed off after their first failures, the dead endpoints are
	// seldom picked again; pooled connections to the live one do the rest.
	if retries > 20 {
		t.Fatalf("%v retries for 200 requests: failed endpoints are not set aside", retries)
	}

	tcpEps := endpointList{{Addr: deadAddr(t)}, {Addr: deadAddr(t)}, {Addr: netip.MustParseAddrPort(echo)}}
	port := uint16(4444)
	tp, tls := startOutbound(t, Config{OutboundTarget: "127.0.0.1:4444", OpaquePorts: PortSet{port: {}}}, Deps{Destination: tcpEps})
	for i := range 50 {
		msg := strings.Repeat("y", i+1)
		if got, err := echoThrough(tls.Outbound.Addr().String(), msg); err != nil || got != msg {
			t.Fatalf("connection %d: %q, %v", i, got, err)
		}
	}
	if connectRetries(tp) == 0 {
		t.Fatal("no TCP connect was retried")
	}
}

// TestConnectGivesUpWhenEveryEndpointRefuses: when every endpoint
// refuses, the request waits for one that accepts (the destination's
// answer may change) for a bounded time and number of connects, then
// fails with 502 connect_error.
func TestConnectGivesUpWhenEveryEndpointRefuses(t *testing.T) {
	var eps endpointList
	for range 6 {
		eps = append(eps, Endpoint{Addr: deadAddr(t)})
	}
	p, ls := startOutbound(t, Config{OutboundTarget: "127.0.0.1:1"}, Deps{Destination: eps})
	start := time.Now()
	resp, err := http.Get("http://" + ls.Outbound.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("meshctl-proxy-error") != "connect_error" {
		t.Fatalf("%d %q, want 502 connect_error", resp.StatusCode, resp.Header.Get("meshctl-proxy-error"))
	}
	if d := time.Since(start); d > endpointWait+time.Second {
		t.Fatalf("gave up after %v, want within %v", d, endpointWait)
	}
	if got := connectRetries(p); got < maxConnectAttempts-1 || got > maxHTTPConnectAttempts-1 {
		t.Fatalf("%v retries, want %d to %d", got, maxConnectAttempts-1, maxHTTPConnectAttempts-1)
	}
}

// TestConnectRetriedAfterIdentityFailure: an endpoint that cannot prove
// the expected identity (a pod with a stale or foreign certificate) is
// skipped like a refused one, and the request is sent over mTLS to the
// endpoint that can.
func TestConnectRetriedAfterIdentityFailure(t *testing.T) {
	ca := newMeshCA(t)
	backend := newCountingBackend(t)
	_, right := startMeshed(t, Config{InboundTarget: backend.Listener.Addr().String()}, ca.provider(t, serverID, ca))
	_, wrong := startMeshed(t, Config{InboundTarget: backend.Listener.Addr().String()}, ca.provider(t, "impostor.shop.serviceaccount.identity.meshctl.cluster.local", ca))
	eps := endpointList{
		{Addr: netip.MustParseAddrPort(wrong.Inbound.Addr().String()), Identity: serverID},
		{Addr: netip.MustParseAddrPort(right.Inbound.Addr().String()), Identity: serverID},
	}
	ctx, cancel := context.WithCancel(context.Background())
	client, cls, done := startProxyWith(t, ctx, Config{OutboundTarget: "127.0.0.1:1", ShutdownGracePeriod: time.Second}, Deps{TLS: ca.provider(t, clientID, ca), Destination: eps}, Listeners{})
	t.Cleanup(func() { cancel(); <-done })
	for i := range 20 {
		resp, err := http.Get("http://" + cls.Outbound.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, resp.Header.Get("meshctl-proxy-error"))
		}
	}
	if got := testutil.ToFloat64(client.outbound.metrics.tlsFailures); got == 0 {
		t.Fatal("the impostor was never tried: the test proves nothing")
	}
	if !hasSeries(client, "response_total", map[string]string{"direction": "outbound", "tls": "true", "server_id": serverID, "classification": "success"}) {
		t.Fatal("no successful mTLS response counted")
	}
}

// tcpEcho is a loopback TCP server echoing each connection until its
// client half-closes.
func tcpEcho(t *testing.T) string {
	t.Helper()
	return serveEach(t, func(c net.Conn) {
		defer c.Close()
		_, _ = io.Copy(c, c)
	})
}

// TestOpaqueRefusedByAppRetriedElsewhere: on an opaque port the server
// proxy connects to its application before finishing the mTLS handshake,
// so an application that refuses (a pod shutting down) makes the client
// proxy's connect fail and go to another endpoint, instead of accepting
// the client's bytes and resetting them.
func TestOpaqueRefusedByAppRetriedElsewhere(t *testing.T) {
	ca := newMeshCA(t)
	echo := netip.MustParseAddrPort(tcpEcho(t))
	dead := deadAddr(t)
	opaque := PortSet{echo.Port(): {}, dead.Port(): {}, 4444: {}}
	_, down := startMeshed(t, Config{InboundTarget: dead.String(), OpaquePorts: opaque}, ca.provider(t, serverID, ca))
	_, up := startMeshed(t, Config{InboundTarget: echo.String(), OpaquePorts: opaque}, ca.provider(t, serverID, ca))
	eps := endpointList{
		{Addr: netip.MustParseAddrPort(down.Inbound.Addr().String()), Identity: serverID},
		{Addr: netip.MustParseAddrPort(up.Inbound.Addr().String()), Identity: serverID},
	}
	ctx, cancel := context.WithCancel(context.Background())
	client, cls, done := startProxyWith(t, ctx, Config{OutboundTarget: "127.0.0.1:4444", OpaquePorts: opaque, ShutdownGracePeriod: time.Second},
		Deps{TLS: ca.provider(t, clientID, ca), Destination: eps}, Listeners{})
	t.Cleanup(func() { cancel(); <-done })
	for i := range 30 {
		if got, err := echoThrough(cls.Outbound.Addr().String(), "ping\n"); err != nil || got != "ping\n" {
			t.Fatalf("connection %d: %q, %v: a refused application broke the client's connection", i, got, err)
		}
	}
	if connectRetries(client) == 0 {
		t.Fatal("no connect was retried: the endpoint with the refusing application was never tried")
	}
}

// switchingDestination answers with one set of endpoints, then another:
// a rollout where the old pods go before the destination's answer moves.
type switchingDestination struct {
	mu     sync.Mutex
	calls  int
	before endpointList
	after  endpointList
}

func (d *switchingDestination) Resolve(context.Context, Target) ([]Endpoint, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	if d.calls == 1 {
		return d.before, nil
	}
	return d.after, nil
}

// liveCase is a target that comes to life once the destination answers
// with live instead of a dead endpoint, and do, which must then succeed.
type liveCase struct {
	name string
	live netip.AddrPort
	cfg  Config
	do   func(addr string) error
}

// liveCases are an HTTP backend and a TCP echo on an opaque port.
func liveCases(t *testing.T) []liveCase {
	backend := newCountingBackend(t)
	return []liveCase{
		{"http", netip.MustParseAddrPort(backend.Listener.Addr().String()), Config{OutboundTarget: "127.0.0.1:1"}, getOK},
		{"opaque", netip.MustParseAddrPort(tcpEcho(t)), Config{OutboundTarget: "127.0.0.1:4444", OpaquePorts: PortSet{4444: {}}}, func(addr string) error {
			got, err := echoThrough(addr, "x")
			if err != nil || got != "x" {
				return fmt.Errorf("echo %q, %v", got, err)
			}
			return nil
		}},
	}
}

// getOK GETs / through addr and wants a 200.
func getOK(addr string) error {
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d %s", resp.StatusCode, resp.Header.Get("meshctl-proxy-error"))
	}
	return nil
}

// TestWaitsForTheNextAnswer: when every endpoint of the answer refuses,
// the proxy asks the destination again instead of failing, for HTTP and
// opaque TCP.
func TestWaitsForTheNextAnswer(t *testing.T) {
	for _, tc := range liveCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			dst := &switchingDestination{before: endpointList{{Addr: deadAddr(t)}}, after: endpointList{{Addr: tc.live}}}
			_, ls := startOutbound(t, tc.cfg, Deps{Destination: dst})
			if err := tc.do(ls.Outbound.Addr().String()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// echoThrough sends msg over a new TCP connection to addr, half-closes it
// and returns everything read back until the peer closes.
func echoThrough(addr, msg string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		return "", err
	}
	_ = c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	return string(got), err
}

// timedDestination answers before until switchAt, then after.
type timedDestination struct {
	mu       sync.Mutex
	calls    int
	switchAt time.Time
	before   endpointList
	after    endpointList
}

func (d *timedDestination) Resolve(context.Context, Target) ([]Endpoint, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	if time.Now().Before(d.switchAt) {
		return d.before, nil
	}
	return d.after, nil
}

// TestAskingAgainBacksOff: HTTP requests and opaque connections ask the
// destination again on one schedule that grows (50 ms doubling to 500 ms),
// so an answer that takes 600 ms to change costs a handful of questions,
// not one every 50 ms; and a fixed target is never asked again.
func TestAskingAgainBacksOff(t *testing.T) {
	for _, tc := range liveCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			dst := &timedDestination{switchAt: time.Now().Add(600 * time.Millisecond), before: endpointList{{Addr: deadAddr(t)}}, after: endpointList{{Addr: tc.live}}}
			_, ls := startOutbound(t, tc.cfg, Deps{Destination: dst})
			if err := tc.do(ls.Outbound.Addr().String()); err != nil {
				t.Fatal(err)
			}
			dst.mu.Lock()
			defer dst.mu.Unlock()
			// 50+100+200+400 ms of pauses pass 600 ms: five questions,
			// six or seven on a slow machine; a fixed 50 ms pause asks 13.
			if dst.calls < 2 || dst.calls > 8 {
				t.Errorf("the destination was asked %d times over 600 ms, want 2-8", dst.calls)
			}
		})
	}

	t.Run("fixed target", func(t *testing.T) {
		start := time.Now()
		_, ls := startOutbound(t, Config{OutboundTarget: deadAddr(t).String(), OutboundTargetIdentity: ""}, Deps{})
		if err := getOK(ls.Outbound.Addr().String()); err == nil {
			t.Fatal("a request to a dead fixed target succeeded")
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("a dead fixed target took %v to fail: it was waited for", took)
		}
	})
}
