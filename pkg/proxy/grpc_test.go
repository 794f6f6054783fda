package proxy

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestGRPCThroughPair drives a real grpc-go client through the proxy pair:
// a unary call, an error status, and a server stream.
func TestGRPCThroughPair(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("web", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	p := newPair(t, ln.Addr().String(), nil)
	conn, err := grpc.NewClient(p.outbound, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "web"})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Check(web) = %v, %v", resp, err)
	}
	_, err = client.Check(ctx, &healthpb.HealthCheckRequest{Service: "missing"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("Check(missing) error = %v, want NotFound", err)
	}

	stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{Service: "web"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil || first.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first watch message = %v, %v", first, err)
	}
	hs.SetServingStatus("web", healthpb.HealthCheckResponse_NOT_SERVING)
	second, err := stream.Recv()
	if err != nil || second.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("streamed update = %v, %v", second, err)
	}

	// The NotFound call is a failure with grpc_status 5 in both proxies' metrics.
	want := map[string]string{"grpc_status": "5", "classification": "failure", "status_code": "200"}
	for name, px := range map[string]*Proxy{"client": p.client, "server": p.server} {
		eventually(t, func() bool { return hasSeries(px, "response_total", want) }, name+" proxy counts the NotFound call as a gRPC failure")
	}
}
