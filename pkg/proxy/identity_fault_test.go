package proxy

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	identityv1 "github.com/meshctl/meshctl/pkg/api/identity/v1"
	"github.com/meshctl/meshctl/pkg/proxy/mtls"
)

// switchableIdentity is an identity service that can be taken down.
type switchableIdentity struct {
	up      atomic.Bool
	refused atomic.Int32
	inner   mtls.LocalIssuer
}

func (s *switchableIdentity) Certify(ctx context.Context, req *identityv1.CertifyRequest, opts ...grpc.CallOption) (*identityv1.CertifyResponse, error) {
	if !s.up.Load() {
		s.refused.Add(1)
		return nil, status.Error(codes.Unavailable, "identity service down")
	}
	return s.inner.Certify(ctx, req, opts...)
}

// TestProxyFailsClosedUntilIdentity: with the identity service down at
// start, the proxy reports not ready and accepts no traffic (its inbound
// and outbound ports are not even bound); once the service recovers it is
// ready within 10 s.
func TestProxyFailsClosedUntilIdentity(t *testing.T) {
	ca := newMeshCA(t)
	svc := &switchableIdentity{inner: mtls.LocalIssuer{Issuer: ca.issuer, Chain: [][]byte{ca.issuer.Cert.Raw}, Lifetime: time.Hour}}
	token := t.TempDir() + "/token"
	if err := writeFile(token, "t"); err != nil {
		t.Fatal(err)
	}
	prov, err := mtls.New(mtls.Options{LocalName: serverID, TrustAnchorsPEM: ca.anchors, TokenFile: token, Client: svc})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go prov.Run(ctx)

	// Reserve two ports the proxy will bind only once it has a certificate.
	inAddr, outAddr := freeAddr(t), freeAddr(t)
	admin := listenLoopback(t)
	cfg := Config{InboundAddr: inAddr, OutboundAddr: outAddr, AdminAddr: admin.Addr().String(), InboundTarget: "127.0.0.1:1", ShutdownGracePeriod: time.Second}.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg, Deps{TLS: prov}, testLogger(t), Listeners{Admin: admin})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	time.Sleep(1500 * time.Millisecond) // several failed attempts
	if code := ready(t, p); code != http.StatusServiceUnavailable {
		t.Fatalf("/ready = %d while the identity service is down, want 503", code)
	}
	for _, a := range []string{inAddr, outAddr} {
		if c, err := net.DialTimeout("tcp", a, 200*time.Millisecond); err == nil {
			c.Close()
			t.Fatalf("%s accepts connections before the proxy has a certificate", a)
		}
	}

	svc.up.Store(true)
	recovered := time.Now()
	for ready(t, p) != http.StatusOK {
		if time.Since(recovered) > 10*time.Second {
			t.Fatalf("not ready within 10 s of the identity service recovering (%d refused requests)", svc.refused.Load())
		}
		select {
		case err := <-done:
			t.Fatalf("proxy stopped before it was ready: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Logf("ready %s after the identity service recovered", time.Since(recovered).Round(time.Millisecond))
	c, err := net.DialTimeout("tcp", inAddr, time.Second)
	if err != nil {
		t.Fatalf("inbound not listening once ready: %v", err)
	}
	c.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func ready(t *testing.T, p *Proxy) int {
	t.Helper()
	rec := httptest.NewRecorder()
	p.adminHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/ready", nil))
	return rec.Code
}

// TestMTLSServesWhileIdentityDown: once a proxy pair holds certificates,
// the identity service going down fails no request.
func TestMTLSServesWhileIdentityDown(t *testing.T) {
	ca := newMeshCA(t)
	backend := newCountingBackend(t)
	mk := func(name string) (*switchableIdentity, *mtls.Provider) {
		svc := &switchableIdentity{inner: mtls.LocalIssuer{Issuer: ca.issuer, Chain: [][]byte{ca.issuer.Cert.Raw}, Lifetime: time.Minute}}
		svc.up.Store(true)
		// Renewal is due within a second (a quarter of the 1 min lifetime
		// plus LocalIssuer's 20 s backdating), so it is retried, and
		// fails, all through the requests below.
		p := runningProvider(t, mtls.Options{LocalName: name, TrustAnchorsPEM: ca.anchors, Client: svc,
			RenewAt: 0.26, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
		return svc, p
	}
	ssvc, sp := mk(serverID)
	csvc, cp := mk(clientID)
	_, sls := startMeshed(t, Config{InboundTarget: backend.Listener.Addr().String()}, sp)
	_, cls := startMeshed(t, Config{OutboundTarget: sls.Inbound.Addr().String(), OutboundTargetIdentity: serverID}, cp)
	ssvc.up.Store(false)
	csvc.up.Store(false)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	time.Sleep(time.Second) // past the renewal time
	for i := range 200 {
		resp, err := client.Get("http://" + cls.Outbound.Addr().String() + "/")
		if err != nil {
			t.Fatalf("request %d while identity is down: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d while identity is down: %d", i, resp.StatusCode)
		}
	}
	if ssvc.refused.Load() == 0 || csvc.refused.Load() == 0 {
		t.Fatal("no renewal was attempted while the identity service was down")
	}
}
