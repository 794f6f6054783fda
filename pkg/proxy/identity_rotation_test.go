package proxy

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	identityv1 "github.com/meshctl/meshctl/pkg/api/identity/v1"
	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/proxy/mtls"
)

// rotatingIdentity certifies with whichever issuer is current, as the
// identity controller does once it has picked up a rotated issuer Secret.
type rotatingIdentity struct {
	issuer   atomic.Pointer[identity.CA]
	lifetime time.Duration
}

func (r *rotatingIdentity) Certify(ctx context.Context, req *identityv1.CertifyRequest, opts ...grpc.CallOption) (*identityv1.CertifyResponse, error) {
	iss := r.issuer.Load()
	return mtls.LocalIssuer{Issuer: iss, Chain: [][]byte{iss.Cert.Raw}, Lifetime: r.lifetime}.Certify(ctx, req, opts...)
}

// TestMTLSIssuerRotatedUnderLoad: the issuer is replaced by another one
// under the same trust anchors while a meshed pair serves requests and
// its proxies renew about every second. No request fails; both proxies
// move to certificates of the new issuer; and a client proxy still
// holding a certificate of the old issuer is served by the rotated server
// over a new connection (both chain to the anchors).
func TestMTLSIssuerRotatedUnderLoad(t *testing.T) {
	ca := newMeshCA(t)
	next, err := ca.root.IssueIntermediate(identity.GenerateOptions{CommonName: "issuer-2", Lifetime: 12 * time.Hour, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	svc := &rotatingIdentity{lifetime: time.Minute}
	svc.issuer.Store(ca.issuer)
	// RenewAt 0.26 of a 1 min lifetime backdated by 20 s: a renewal about
	// every second.
	mk := func(name string, renewAt float64) *mtls.Provider {
		return runningProvider(t, mtls.Options{LocalName: name, TrustAnchorsPEM: ca.anchors, Client: svc,
			RenewAt: renewAt, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	}
	sp, cp := mk(serverID, 0.26), mk(clientID, 0.26)
	stale := mk(clientID, 0.99) // keeps its first certificate: the old issuer's
	backend := newCountingBackend(t)
	_, sls := startMeshed(t, Config{InboundTarget: backend.Listener.Addr().String()}, sp)
	_, cls := startMeshed(t, Config{OutboundTarget: sls.Inbound.Addr().String(), OutboundTargetIdentity: serverID}, cp)

	var ok, failed atomic.Int64
	var firstErr sync.Once
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			for {
				select {
				case <-done:
					return
				default:
				}
				resp, err := client.Get("http://" + cls.Outbound.Addr().String() + "/")
				if err == nil {
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Add(1)
					firstErr.Do(func() { t.Errorf("request failed during the rotation: %v %v", err, resp) })
					continue
				}
				ok.Add(1)
			}
		})
	}
	time.Sleep(time.Second)
	svc.issuer.Store(next)
	issuedBy := func(p *mtls.Provider) []byte { return p.Certificate().Leaf.RawIssuer }
	deadline := time.Now().Add(10 * time.Second)
	for !bytes.Equal(issuedBy(sp), next.Cert.RawSubject) || !bytes.Equal(issuedBy(cp), next.Cert.RawSubject) {
		if time.Now().After(deadline) {
			t.Fatal("the proxies did not move to the new issuer within 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // traffic on the new certificates
	close(done)
	wg.Wait()
	if failed.Load() != 0 || ok.Load() < 50 {
		t.Fatalf("%d requests succeeded, %d failed", ok.Load(), failed.Load())
	}

	if !bytes.Equal(issuedBy(stale), ca.issuer.Cert.RawSubject) {
		t.Fatal("the stale client renewed: it should still hold the old issuer's certificate")
	}
	_, old := startMeshed(t, Config{OutboundTarget: sls.Inbound.Addr().String(), OutboundTargetIdentity: serverID}, stale)
	resp, err := http.Get("http://" + old.Outbound.Addr().String() + "/")
	if err != nil {
		t.Fatalf("old-issuer client to the rotated server: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("old-issuer client to the rotated server: %d", resp.StatusCode)
	}
	t.Logf("%d requests during the rotation, none failed", ok.Load())
}
