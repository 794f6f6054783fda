package mtls

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	identityv1 "github.com/meshctl/meshctl/pkg/api/identity/v1"
	"github.com/meshctl/meshctl/pkg/identity"
)

const webID = "web.shop.serviceaccount.identity.meshctl.cluster.local"

// testCA is a root and an issuer, as install generates them.
type testCA struct {
	root, issuer *identity.CA
	anchorsPEM   []byte
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	now := time.Now()
	root, err := identity.GenerateRoot(identity.GenerateOptions{CommonName: "root", Lifetime: 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := root.IssueIntermediate(identity.GenerateOptions{CommonName: "issuer", Lifetime: 12 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{root: root, issuer: issuer, anchorsPEM: identity.EncodeCertificates([]*x509.Certificate{root.Cert})}
}

// fakeIdentity signs every CSR with the issuer unless told to fail. It
// stands in for the identity controller, which is tested against a real
// API server in test/e2e.
type fakeIdentity struct {
	ca       *testCA
	lifetime time.Duration
	calls    atomic.Int32
	mu       sync.Mutex
	fail     error
	tokens   []string
	tamper   func(*identityv1.CertifyResponse)
}

func (f *fakeIdentity) Certify(_ context.Context, req *identityv1.CertifyRequest, _ ...grpc.CallOption) (*identityv1.CertifyResponse, error) {
	f.calls.Add(1)
	f.mu.Lock()
	fail, tamper := f.fail, f.tamper
	f.tokens = append(f.tokens, string(req.GetToken()))
	f.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	resp, err := LocalIssuer{Issuer: f.ca.issuer, Chain: [][]byte{f.ca.issuer.Cert.Raw}, Lifetime: f.lifetime}.Certify(context.Background(), req)
	if err != nil {
		return nil, err
	}
	if tamper != nil {
		tamper(resp)
	}
	return resp, nil
}

func tokenFile(t testing.TB, token string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newProvider(t testing.TB, f *fakeIdentity, reg prometheus.Registerer) *Provider {
	t.Helper()
	p, err := New(Options{
		LocalName: webID, TrustAnchorsPEM: f.ca.anchorsPEM, TokenFile: tokenFile(t, "tok"), Client: f,
		Registry: reg, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func waitReady(t testing.TB, p *Provider, within time.Duration) {
	t.Helper()
	select {
	case <-p.Ready():
	case <-time.After(within):
		t.Fatalf("no certificate within %s", within)
	}
}

func TestProviderIssuesAndExportsExpiry(t *testing.T) {
	f := &fakeIdentity{ca: newTestCA(t), lifetime: time.Hour}
	reg := prometheus.NewRegistry()
	p := newProvider(t, f, reg)
	if p.ServerConfig() != nil {
		t.Fatal("a server config before any certificate")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	waitReady(t, p, 5*time.Second)
	c := p.Certificate()
	if c == nil || c.Leaf.DNSNames[0] != webID || len(c.Certificate) != 2 {
		t.Fatalf("certificate %+v", c)
	}
	if got, want := testutil.ToFloat64(p.metrics.expiry), float64(c.Leaf.NotAfter.Unix()); got != want {
		t.Fatalf("identity_cert_expiration_timestamp_seconds = %v, want %v", got, want)
	}
	if f.tokens[0] != "tok" {
		t.Fatalf("token sent %q, want the file's content without the newline", f.tokens[0])
	}
}

func TestProviderNotReadyWhileServiceDown(t *testing.T) {
	f := &fakeIdentity{ca: newTestCA(t), lifetime: time.Hour, fail: status.Error(codes.Unavailable, "down")}
	p := newProvider(t, f, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	time.Sleep(200 * time.Millisecond)
	select {
	case <-p.Ready():
		t.Fatal("ready without a certificate")
	default:
	}
	if f.calls.Load() < 3 {
		t.Fatalf("only %d attempts in 200ms with 10–50ms backoff", f.calls.Load())
	}
	f.mu.Lock()
	f.fail = nil
	f.mu.Unlock()
	waitReady(t, p, 2*time.Second)
}

func TestProviderRenewsAndKeepsCertificateWhileDown(t *testing.T) {
	// A 2 s lifetime renews after at most 1.4 s.
	f := &fakeIdentity{ca: newTestCA(t), lifetime: 2 * time.Second}
	p := newProvider(t, f, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	waitReady(t, p, 5*time.Second)
	first := p.Certificate()
	deadline := time.Now().Add(5 * time.Second)
	for p.Certificate() == first {
		if time.Now().After(deadline) {
			t.Fatal("certificate not renewed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.mu.Lock()
	f.fail = status.Error(codes.Unavailable, "down")
	f.mu.Unlock()
	// A renewal already past the fake's check may still land: let it.
	time.Sleep(100 * time.Millisecond)
	held := p.Certificate()
	time.Sleep(300 * time.Millisecond)
	if p.Certificate() != held {
		t.Fatal("certificate changed while the service was down")
	}
}

func TestProviderRefusesUnusableCertificates(t *testing.T) {
	other := newTestCA(t)
	tests := []struct {
		name   string
		tamper func(ca *testCA) func(*identityv1.CertifyResponse)
	}{
		{"foreign issuer", func(*testCA) func(*identityv1.CertifyResponse) {
			return func(r *identityv1.CertifyResponse) {
				r.IntermediateCertificates = [][]byte{other.issuer.Cert.Raw}
			}
		}},
		{"garbage", func(*testCA) func(*identityv1.CertifyResponse) {
			return func(r *identityv1.CertifyResponse) { r.LeafCertificate = []byte("junk") }
		}},
		{"another key", func(ca *testCA) func(*identityv1.CertifyResponse) {
			return func(r *identityv1.CertifyResponse) { r.LeafCertificate = ca.issuer.Cert.Raw }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca := newTestCA(t)
			f := &fakeIdentity{ca: ca, lifetime: time.Hour}
			f.tamper = tt.tamper(ca)
			p := newProvider(t, f, nil)
			_, err := p.refresh(context.Background())
			if err == nil || p.Certificate() != nil {
				t.Fatalf("accepted an unusable certificate (err %v)", err)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	f := &fakeIdentity{ca: newTestCA(t)}
	for name, opts := range map[string]Options{
		"no name":     {TrustAnchorsPEM: f.ca.anchorsPEM, Client: f},
		"no client":   {LocalName: webID, TrustAnchorsPEM: f.ca.anchorsPEM},
		"no anchors":  {LocalName: webID, Client: f},
		"bad anchors": {LocalName: webID, Client: f, TrustAnchorsPEM: []byte("-----BEGIN CERTIFICATE-----\nzz\n-----END CERTIFICATE-----\n")},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	p := newProvider(t, f, nil)
	p.opts.TokenFile = filepath.Join(t.TempDir(), "missing")
	if _, err := p.refresh(context.Background()); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing token file: %v", err)
	}
}
