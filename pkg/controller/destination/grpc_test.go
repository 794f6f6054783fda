package destination

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	destinationv1 "github.com/meshctl/meshctl/pkg/api/destination/v1"
)

// serve runs srv on a loopback listener until the test ends and returns a
// client of it.
func serve(t *testing.T, srv *Server) destinationv1.DestinationClient {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := NewGRPCServer()
	destinationv1.RegisterDestinationServer(gs, srv)
	go func() { _ = gs.Serve(ln) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return destinationv1.NewDestinationClient(conn)
}

func newTestServer(t *testing.T, opts ServerOptions) *Server {
	t.Helper()
	if opts.Debounce == 0 {
		opts.Debounce = 5 * time.Millisecond
	}
	srv, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestGetStreamsSnapshots(t *testing.T) {
	src := &MemorySource{}
	podIP := netip.MustParseAddr("10.1.0.5")
	svcIP := netip.MustParseAddr("10.96.0.10")
	web := Pod{Namespace: "demo", Name: "web-1", ServiceAccount: "web", Meshed: true}
	src.SetPod(podIP, web)
	src.SetService(svcIP, Service{Namespace: "demo", Name: "web"}, map[uint16][]Backend{
		80: {{Addr: netip.AddrPortFrom(podIP, 8080), Pod: &web}},
	})
	client := serve(t, newTestServer(t, ServerOptions{Resolver: Resolver{Source: src, MeshNamespace: "meshctl", TrustDomain: "cluster.local"}}))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := client.Get(ctx, &destinationv1.GetRequest{Target: "10.96.0.10:80", Context: &destinationv1.ProxyContext{Namespace: "demo"}})
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if got := first.GetEndpoints(); len(got) != 1 || got[0].GetAddr() != "10.1.0.5:8080" ||
		got[0].GetTlsIdentity() != "web.demo.serviceaccount.identity.meshctl.cluster.local" {
		t.Fatalf("first snapshot: %v", first)
	}

	// A change elsewhere leaves this target's snapshot as it was: nothing
	// is sent. The scale-up after it is sent, as a full snapshot.
	src.SetPod(netip.MustParseAddr("10.1.0.9"), Pod{Namespace: "other", Name: "x"})
	time.Sleep(30 * time.Millisecond)
	other := Pod{Namespace: "demo", Name: "web-2", ServiceAccount: "web", Meshed: true}
	src.SetService(svcIP, Service{Namespace: "demo", Name: "web"}, map[uint16][]Backend{
		80: {{Addr: netip.AddrPortFrom(podIP, 8080), Pod: &web}, {Addr: netip.MustParseAddrPort("10.1.0.6:8080"), Pod: &other}},
	})
	second, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if got := second.GetEndpoints(); len(got) != 2 || got[1].GetAddr() != "10.1.0.6:8080" || got[1].GetMetricLabels()["dst_pod"] != "web-2" {
		t.Fatalf("second snapshot: %v", second)
	}

	src.DeleteService(svcIP)
	third, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if third.GetExists() || third.GetKind() != destinationv1.Kind_KIND_UNKNOWN || len(third.GetEndpoints()) != 1 || third.GetEndpoints()[0].GetAddr() != "10.96.0.10:80" {
		t.Fatalf("after the Service is deleted: %v", third)
	}
}

func TestGetRefusals(t *testing.T) {
	src := &MemorySource{}
	cases := []struct {
		name   string
		opts   ServerOptions
		hold   int // streams opened and kept before the one checked
		target string
		want   codes.Code
	}{
		{"target without port", ServerOptions{}, 0, "10.1.0.5", codes.InvalidArgument},
		{"target is a name", ServerOptions{}, 0, "web.demo.svc:80", codes.InvalidArgument},
		{"caches not synced", ServerOptions{Synced: func() bool { return false }}, 0, "10.1.0.5:80", codes.Unavailable},
		{"too many streams", ServerOptions{MaxStreams: 2}, 2, "10.1.0.5:80", codes.ResourceExhausted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Resolver = Resolver{Source: src}
			client := serve(t, newTestServer(t, tc.opts))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for range tc.hold {
				s, err := client.Get(ctx, &destinationv1.GetRequest{Target: "10.1.0.1:80"})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.Recv(); err != nil {
					t.Fatal(err)
				}
			}
			s, err := client.Get(ctx, &destinationv1.GetRequest{Target: tc.target})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Recv()
			if status.Code(err) != tc.want {
				t.Fatalf("got %v, want code %s", err, tc.want)
			}
		})
	}
}

// TestGetHoldsBackUnknownBriefly: a Service the source learns of just after
// the proxy asks is answered as the Service, not first as "unknown"
// (which would have sent the first requests in plaintext).
func TestGetHoldsBackUnknownBriefly(t *testing.T) {
	src := &MemorySource{}
	client := serve(t, newTestServer(t, ServerOptions{Resolver: Resolver{Source: src, MeshNamespace: "meshctl", TrustDomain: "cluster.local"}}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := client.Get(ctx, &destinationv1.GetRequest{Target: "10.96.0.20:80"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the informer's lag
	web := Pod{Namespace: "demo", Name: "web-1", ServiceAccount: "web", Meshed: true}
	src.SetService(netip.MustParseAddr("10.96.0.20"), Service{Namespace: "demo", Name: "web"}, map[uint16][]Backend{
		80: {{Addr: netip.MustParseAddrPort("10.1.0.5:8080"), Pod: &web}},
	})
	first, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if first.GetKind() != destinationv1.Kind_KIND_SERVICE || first.GetEndpoints()[0].GetTlsIdentity() == "" {
		t.Fatalf("first answer %v, want the Service with its identity", first)
	}

	// A target that stays unknown is answered once the grace has passed.
	start := time.Now()
	stream, err = client.Get(ctx, &destinationv1.GetRequest{Target: "192.0.2.1:80"})
	if err != nil {
		t.Fatal(err)
	}
	if upd, err := stream.Recv(); err != nil || upd.GetKind() != destinationv1.Kind_KIND_UNKNOWN {
		t.Fatalf("unknown target: %v, %v", upd, err)
	}
	if waited := time.Since(start); waited < 900*time.Millisecond || waited > 5*time.Second {
		t.Fatalf("unknown answered after %s, want about the 1 s grace", waited)
	}
}
