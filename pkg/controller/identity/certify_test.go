package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// fakeReviewer answers TokenReviews from a table of known tokens.
type fakeReviewer map[string]ReviewResult

func (f fakeReviewer) Review(_ context.Context, token, audience string) (ReviewResult, error) {
	if audience != meshapi.TokenAudience {
		return ReviewResult{}, errors.New("asked for the wrong audience")
	}
	if token == "api-down" {
		return ReviewResult{}, errors.New("connection refused")
	}
	r, ok := f[token]
	if !ok {
		return ReviewResult{Error: "invalid bearer token"}, nil
	}
	return r, nil
}

func csrFor(t testing.TB, names ...string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: names}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func newCertifier(t testing.TB) (*Certifier, *identity.CA) {
	t.Helper()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	root, err := identity.GenerateRoot(identity.GenerateOptions{CommonName: "root", Lifetime: 10 * 365 * 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := root.IssueIntermediate(identity.GenerateOptions{CommonName: "issuer", Lifetime: 365 * 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	aud := []string{meshapi.TokenAudience}
	return &Certifier{
		Issuer: func() *identity.CA { return issuer },
		Reviewer: fakeReviewer{
			"web":          {Authenticated: true, Username: "system:serviceaccount:shop:web", Audiences: aud},
			"expired":      {Authenticated: false, Error: "token has expired"},
			"other-aud":    {Authenticated: true, Username: "system:serviceaccount:shop:web", Audiences: []string{"https://kubernetes.default.svc"}},
			"no-aud":       {Authenticated: true, Username: "system:serviceaccount:shop:web"},
			"user":         {Authenticated: true, Username: "alice", Audiences: aud},
			"node":         {Authenticated: true, Username: "system:node:localhost", Audiences: aud},
			"malformed-sa": {Authenticated: true, Username: "system:serviceaccount:shop", Audiences: aud},
		},
		MeshNamespace: "meshctl", TrustDomain: "cluster.local",
		Now: func() time.Time { return now },
	}, issuer
}

const webID = "web.shop.serviceaccount.identity.meshctl.cluster.local"

// TestCertifyRejects covers every refusal branch: each is refused with its
// reason, never signed.
func TestCertifyRejects(t *testing.T) {
	tests := []struct {
		name, token string
		csr         func(t *testing.T) []byte
		reason      string
		requested   string
	}{
		{"requested identity differs from the token's", "web", func(t *testing.T) []byte { return csrFor(t, webID) }, ReasonIdentityMismatch,
			"admin.shop.serviceaccount.identity.meshctl.cluster.local"},
		{"no token", "", func(t *testing.T) []byte { return csrFor(t, webID) }, ReasonNoToken, ""},
		{"API server down", "api-down", func(t *testing.T) []byte { return csrFor(t, webID) }, ReasonReviewFailed, ""},
		{"unknown token", "forged", func(t *testing.T) []byte { return csrFor(t, webID) }, ReasonUnauthentic, ""},
		{"expired token", "expired", func(t *testing.T) []byte { return csrFor(t, webID) }, ReasonUnauthentic, ""},
		{"wrong audience", "other-aud", func(t *testing.T) []byte { return csrFor(t, webID) }, ReasonAudience, ""},
		{"audience-less review", "no-aud", func(t *testing.T) []byte { return csrFor(t, webID) }, ReasonAudience, ""},
		{"not a service account", "user", func(t *testing.T) []byte { return csrFor(t, webID) }, ReasonNotSA, ""},
		{"node credentials", "node", func(t *testing.T) []byte { return csrFor(t, webID) }, ReasonNotSA, ""},
		{"malformed service account", "malformed-sa", func(t *testing.T) []byte { return csrFor(t, webID) }, ReasonNotSA, ""},
		{"token of another service account", "web", func(t *testing.T) []byte {
			return csrFor(t, "admin.shop.serviceaccount.identity.meshctl.cluster.local")
		}, ReasonBadCSR, ""},
		{"other namespace", "web", func(t *testing.T) []byte {
			return csrFor(t, "web.bank.serviceaccount.identity.meshctl.cluster.local")
		}, ReasonBadCSR, ""},
		{"two names", "web", func(t *testing.T) []byte { return csrFor(t, webID, "evil.example") }, ReasonBadCSR, ""},
		{"wildcard", "web", func(t *testing.T) []byte { return csrFor(t, "*.shop.serviceaccount.identity.meshctl.cluster.local") }, ReasonBadCSR, ""},
		{"garbage CSR", "web", func(*testing.T) []byte { return []byte("garbage") }, ReasonBadCSR, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newCertifier(t)
			issued, err := c.Certify(context.Background(), Request{Identity: tt.requested, Token: tt.token, CSR: tt.csr(t)})
			if issued != nil || ReasonOf(err) != tt.reason {
				t.Fatalf("Certify = %v, %v; want refusal %q", issued, err, tt.reason)
			}
		})
	}
}

func TestCertifyIssues(t *testing.T) {
	c, issuer := newCertifier(t)
	issued, err := c.Certify(context.Background(), Request{Token: "web", CSR: csrFor(t, webID)})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(issued.Leaf)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(issuer.Cert)
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: webID, Roots: pool, CurrentTime: c.Now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Fatalf("issued leaf does not verify: %v", err)
	}
	if issued.Identity != webID || !issued.ValidUntil.Equal(c.Now().Add(24*time.Hour)) {
		t.Fatalf("issued %+v", issued)
	}
}

func TestCertifyRateLimitAndIssuer(t *testing.T) {
	c, _ := newCertifier(t)
	c.PerIdentity, c.Burst = 0.001, 2
	for i := 0; i < 2; i++ {
		if _, err := c.Certify(context.Background(), Request{Token: "web", CSR: csrFor(t, webID)}); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if _, err := c.Certify(context.Background(), Request{Token: "web", CSR: csrFor(t, webID)}); ReasonOf(err) != ReasonRateLimited {
		t.Fatalf("third request: %v, want rate limited", err)
	}
	c2, _ := newCertifier(t)
	c2.Issuer = func() *identity.CA { return nil }
	if _, err := c2.Certify(context.Background(), Request{Token: "web", CSR: csrFor(t, webID)}); ReasonOf(err) != ReasonNoIssuer {
		t.Fatalf("without an issuer: %v", err)
	}
}
