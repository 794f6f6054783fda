package discovery_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	destinationv1 "github.com/meshctl/meshctl/pkg/api/destination/v1"
	"github.com/meshctl/meshctl/pkg/controller/destination"
	"github.com/meshctl/meshctl/pkg/proxy"
	"github.com/meshctl/meshctl/pkg/proxy/discovery"
)

// The client is tested against the controller's own gRPC service over an
// in-memory source of truth: the contract, not a fake of it. Only the
// test imports the controller; the client itself depends on pkg/api.

// controllerServer is a destination controller on a loopback port that
// can be stopped and started again on the same address.
type controllerServer struct {
	t      *testing.T
	addr   string
	src    *destination.MemorySource
	synced atomic.Bool
	opened atomic.Int64 // Get streams opened
	open   atomic.Int64 // Get streams open now
	gs     *grpc.Server
}

func newControllerServer(t *testing.T) *controllerServer {
	t.Helper()
	s := &controllerServer{t: t, src: &destination.MemorySource{}}
	s.synced.Store(true)
	s.start("127.0.0.1:0")
	t.Cleanup(s.stop)
	return s
}

func (s *controllerServer) start(addr string) {
	s.t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	srv, err := destination.NewServer(destination.ServerOptions{
		Resolver: destination.Resolver{Source: s.src, MeshNamespace: "meshctl", TrustDomain: "cluster.local"},
		Synced:   s.synced.Load,
		Debounce: 5 * time.Millisecond,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	s.gs = destination.NewGRPCServer(grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		s.opened.Add(1)
		s.open.Add(1)
		defer s.open.Add(-1)
		return h(srv, ss)
	}))
	destinationv1.RegisterDestinationServer(s.gs, srv)
	go func() { _ = s.gs.Serve(ln) }()
}

func (s *controllerServer) stop() { s.gs.Stop() }

// client returns a discovery client of s, closed at the end of the test.
func (s *controllerServer) client(opts discovery.Options) *discovery.Client {
	s.t.Helper()
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		// Reconnect fast: the restart test waits for it.
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.2, MaxDelay: 100 * time.Millisecond}}))
	if err != nil {
		s.t.Fatal(err)
	}
	if opts.MinBackoff == 0 {
		opts.MinBackoff, opts.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	}
	c := discovery.New(conn, opts)
	s.t.Cleanup(func() { _ = c.Close(); _ = conn.Close() })
	return c
}

var (
	webPod = destination.Pod{Namespace: "demo", Name: "web-1", ServiceAccount: "web", Meshed: true} //nolint:gochecknoglobals // fixture
	podIP  = netip.MustParseAddr("10.1.0.5")                                                        //nolint:gochecknoglobals // fixture
	svcIP  = netip.MustParseAddr("10.96.0.10")                                                      //nolint:gochecknoglobals // fixture
)

const webIdentity = "web.demo.serviceaccount.identity.meshctl.cluster.local"

func target(s string) proxy.Target { return proxy.Target{Addr: netip.MustParseAddrPort(s)} }

func (s *controllerServer) setWeb(backends ...string) {
	var bs []destination.Backend
	for _, b := range backends {
		bs = append(bs, destination.Backend{Addr: netip.MustParseAddrPort(b), Pod: &webPod})
	}
	s.src.SetService(svcIP, destination.Service{Namespace: "demo", Name: "web"}, map[uint16][]destination.Backend{80: bs})
}

func addrs(eps []proxy.Endpoint) string {
	var out []string
	for _, e := range eps {
		out = append(out, e.Addr.String())
	}
	return strings.Join(out, ",")
}

func TestResolveServiceAndCacheHit(t *testing.T) {
	s := newControllerServer(t)
	s.src.SetPod(podIP, webPod)
	s.setWeb("10.1.0.5:8080")
	c := s.client(discovery.Options{Namespace: "demo"})
	ctx := context.Background()

	eps, err := c.Resolve(ctx, target("10.96.0.10:80"))
	if err != nil {
		t.Fatal(err)
	}
	want := proxy.Endpoint{Addr: netip.MustParseAddrPort("10.1.0.5:8080"), Weight: 1, Identity: webIdentity, Protocol: proxy.EndpointH2}
	if len(eps) != 1 || eps[0].Addr != want.Addr || eps[0].Identity != want.Identity || eps[0].Weight != 1 || eps[0].Protocol != want.Protocol ||
		eps[0].Labels["dst_service"] != "web" || eps[0].Labels["dst_serviceaccount"] != "web" {
		t.Fatalf("got %+v, want %+v with dst_* labels", eps, want)
	}
	for range 5 {
		if _, err := c.Resolve(ctx, target("10.96.0.10:80")); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.opened.Load(); n != 1 {
		t.Errorf("%d streams opened for one target, want 1", n)
	}

	// An IPv4-mapped target is the same target: no second stream.
	if _, err := c.Resolve(ctx, target("[::ffff:10.96.0.10]:80")); err != nil {
		t.Fatal(err)
	}
	if n := s.opened.Load(); n != 1 {
		t.Errorf("%d streams opened after a mapped-address resolve, want 1", n)
	}

	// The snapshot follows the controller.
	s.setWeb("10.1.0.5:8080", "10.1.0.6:8080")
	waitFor(t, func() bool {
		eps, _ := c.Resolve(ctx, target("10.96.0.10:80"))
		return addrs(eps) == "10.1.0.5:8080,10.1.0.6:8080"
	}, "the scaled-up endpoints")
}

func TestResolveUnknownAndPodTargets(t *testing.T) {
	s := newControllerServer(t)
	s.src.SetPod(podIP, webPod)
	c := s.client(discovery.Options{})
	cases := []struct {
		target, addr, identity string
	}{
		{"10.1.0.5:8080", "10.1.0.5:8080", webIdentity},
		// Known to be unknown: the controller's answer is the target in
		// plaintext.
		{"10.9.9.9:443", "10.9.9.9:443", ""},
	}
	for _, tc := range cases {
		eps, err := c.Resolve(context.Background(), target(tc.target))
		if err != nil {
			t.Fatalf("%s: %v", tc.target, err)
		}
		if len(eps) != 1 || eps[0].Addr.String() != tc.addr || eps[0].Identity != tc.identity {
			t.Errorf("%s: got %+v, want %s with identity %q", tc.target, eps, tc.addr, tc.identity)
		}
	}
}

func TestFirstResolveWaitsThenFails(t *testing.T) {
	s := newControllerServer(t)
	s.setWeb("10.1.0.5:8080")
	s.synced.Store(false) // the controller answers Unavailable
	c := s.client(discovery.Options{InitialTimeout: 200 * time.Millisecond})

	start := time.Now()
	_, err := c.Resolve(context.Background(), target("10.96.0.10:80"))
	if err == nil || !strings.Contains(err.Error(), "no answer for 10.96.0.10:80 within 200ms") || !strings.Contains(err.Error(), "not synced") {
		t.Fatalf("got %v, want a timeout naming the target and the controller's refusal", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 2*time.Second {
		t.Errorf("failed after %s, want about 200ms", d)
	}

	// Once the controller can answer, a waiting Resolve gets the answer.
	c2 := s.client(discovery.Options{InitialTimeout: 3 * time.Second})
	go func() { time.Sleep(150 * time.Millisecond); s.synced.Store(true) }()
	eps, err := c2.Resolve(context.Background(), target("10.96.0.10:80"))
	if err != nil || addrs(eps) != "10.1.0.5:8080" {
		t.Fatalf("got %v, %v; want the endpoint once the controller is synced", eps, err)
	}

	// The caller's context bounds the wait too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Resolve(ctx, target("10.96.0.11:80")); err == nil {
		t.Error("Resolve with a cancelled context succeeded")
	}
}

func TestNoControllerFailsNotPlaintext(t *testing.T) {
	s := newControllerServer(t)
	s.stop()
	c := s.client(discovery.Options{InitialTimeout: 100 * time.Millisecond})
	if eps, err := c.Resolve(context.Background(), target("10.96.0.10:80")); err == nil {
		t.Fatalf("got %+v without a controller, want an error", eps)
	}
}

func TestReconnectServesCachedSnapshot(t *testing.T) {
	s := newControllerServer(t)
	s.setWeb("10.1.0.5:8080")
	c := s.client(discovery.Options{})
	ctx := context.Background()
	if _, err := c.Resolve(ctx, target("10.96.0.10:80")); err != nil {
		t.Fatal(err)
	}

	s.stop()
	time.Sleep(50 * time.Millisecond)
	eps, err := c.Resolve(ctx, target("10.96.0.10:80"))
	if err != nil || addrs(eps) != "10.1.0.5:8080" {
		t.Fatalf("while the controller is down: got %v, %v; want the cached snapshot", eps, err)
	}

	s.setWeb("10.1.0.7:8080")
	s.start(s.addr)
	waitFor(t, func() bool {
		eps, _ := c.Resolve(ctx, target("10.96.0.10:80"))
		return addrs(eps) == "10.1.0.7:8080"
	}, "the snapshot of the restarted controller")
	if n := s.opened.Load(); n < 2 {
		t.Errorf("%d streams opened, want a new one after the restart", n)
	}
}

func TestIdleTargetsAreEvicted(t *testing.T) {
	s := newControllerServer(t)
	s.setWeb("10.1.0.5:8080")
	c := s.client(discovery.Options{IdleTimeout: 100 * time.Millisecond})
	if _, err := c.Resolve(context.Background(), target("10.96.0.10:80")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return c.Targets() == 0 && s.open.Load() == 0 }, "the idle target forgotten and its stream closed")
	if _, err := c.Resolve(context.Background(), target("10.96.0.10:80")); err != nil {
		t.Fatal(err)
	}
	if n := s.opened.Load(); n != 2 {
		t.Errorf("%d streams opened, want a second one after eviction", n)
	}
}

func TestMaxTargetsEvictsLeastRecentlyUsed(t *testing.T) {
	s := newControllerServer(t)
	c := s.client(discovery.Options{MaxTargets: 2})
	ctx := context.Background()
	for _, tg := range []string{"10.9.0.1:80", "10.9.0.2:80", "10.9.0.1:80", "10.9.0.3:80"} {
		if _, err := c.Resolve(ctx, target(tg)); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Targets(); n != 2 {
		t.Fatalf("%d targets watched, want 2", n)
	}
	waitFor(t, func() bool { return s.open.Load() == 2 }, "the evicted target's stream closed")
	// 10.9.0.1 was used after 10.9.0.2, so it is still cached.
	before := s.opened.Load()
	if _, err := c.Resolve(ctx, target("10.9.0.1:80")); err != nil {
		t.Fatal(err)
	}
	if s.opened.Load() != before {
		t.Error("the most recently used target was evicted")
	}
}

func TestPassthroughOutsideClusterNetworks(t *testing.T) {
	s := newControllerServer(t)
	s.stop() // never asked
	cases := []struct {
		name     string
		networks []netip.Prefix
		target   string
	}{
		{"public IPv4, default networks", nil, "8.8.8.8:53"},
		{"public IPv6, default networks", nil, "[2001:db8::1]:443"},
		{"private IP outside configured networks", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}, "10.1.0.5:80"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := s.client(discovery.Options{ClusterNetworks: tc.networks, InitialTimeout: 50 * time.Millisecond})
			eps, err := c.Resolve(context.Background(), target(tc.target))
			if err != nil || len(eps) != 1 || eps[0].Addr.String() != tc.target || eps[0].Identity != "" {
				t.Fatalf("got %+v, %v; want the target itself in plaintext", eps, err)
			}
			if c.Targets() != 0 {
				t.Error("a passthrough target was watched")
			}
		})
	}
	if n := s.opened.Load(); n != 0 {
		t.Errorf("%d streams opened for passthrough targets", n)
	}
}

func TestResolveAfterClose(t *testing.T) {
	s := newControllerServer(t)
	c := s.client(discovery.Options{})
	_ = c.Close()
	if _, err := c.Resolve(context.Background(), target("10.1.0.5:80")); err == nil {
		t.Error("Resolve after Close succeeded")
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
