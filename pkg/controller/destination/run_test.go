package destination

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	destinationv1 "github.com/meshctl/meshctl/pkg/api/destination/v1"
	"github.com/meshctl/meshctl/pkg/controller"
	"github.com/meshctl/meshctl/pkg/kube/kubefake"
)

// TestRun starts the whole controller over the fake clientset: it becomes
// ready, answers Get with identities in the configured trust domain, and
// stops cleanly.
func TestRun(t *testing.T) {
	f, err := kubefake.NewFakeFactory(clusterManifests...)
	if err != nil {
		t.Fatal(err)
	}
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	grpcLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := FromEnv(Config{GRPCListener: grpcLn}, func(k string) string {
		return map[string]string{EnvTrustDomain: "example.org"}[k]
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, controller.Deps{Kube: f, AdminListener: adminLn}) }()

	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + adminLn.Addr().String() + "/ready")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.HasPrefix(string(body), "ready") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	conn, err := grpc.NewClient(grpcLn.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gctx, gcancel := context.WithTimeout(ctx, 5*time.Second)
	defer gcancel()
	stream, err := destinationv1.NewDestinationClient(conn).Get(gctx, &destinationv1.GetRequest{Target: "10.96.0.10:80"})
	if err != nil {
		t.Fatal(err)
	}
	upd, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if want := "web.demo.serviceaccount.identity.meshctl.example.org"; len(upd.GetEndpoints()) == 0 || upd.GetEndpoints()[0].GetTlsIdentity() != want {
		t.Fatalf("got %v, want first endpoint with identity %s", upd, want)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of cancel")
	}
}
