package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

const workload = "web.shop.serviceaccount.identity.meshctl.cluster.local"

func makeCSR(t *testing.T, key crypto.Signer, tmpl x509.CertificateRequest) *x509.CertificateRequest {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := ParseCSR(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

func TestValidateCSR(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name    string
		key     crypto.Signer
		tmpl    x509.CertificateRequest
		wantErr string
	}{
		{"valid, empty CN", p256, x509.CertificateRequest{DNSNames: []string{workload}}, ""},
		{"valid, CN equal", p256, x509.CertificateRequest{Subject: pkix.Name{CommonName: workload}, DNSNames: []string{workload}}, ""},
		{"two SANs", p256, x509.CertificateRequest{DNSNames: []string{workload, "other.example"}}, "exactly one DNS name"},
		{"no SAN", p256, x509.CertificateRequest{Subject: pkix.Name{CommonName: workload}}, "exactly one DNS name"},
		{"IP SAN", p256, x509.CertificateRequest{DNSNames: []string{workload}, IPAddresses: []net.IP{net.ParseIP("10.0.0.1")}}, "IP, URI and email SANs are refused"},
		{"URI SAN", p256, x509.CertificateRequest{DNSNames: []string{workload}, URIs: []*url.URL{{Scheme: "spiffe", Host: "cluster.local", Path: "/ns/shop/sa/web"}}}, "IP, URI and email SANs are refused"},
		{"email SAN", p256, x509.CertificateRequest{DNSNames: []string{workload}, EmailAddresses: []string{"a@b.c"}}, "IP, URI and email SANs are refused"},
		{"CN mismatch", p256, x509.CertificateRequest{Subject: pkix.Name{CommonName: "admin"}, DNSNames: []string{workload}}, "common name"},
		{"wildcard", p256, x509.CertificateRequest{DNSNames: []string{"*.shop.serviceaccount.identity.meshctl.cluster.local"}}, "wildcard"},
		{"other namespace", p256, x509.CertificateRequest{DNSNames: []string{"web.bank.serviceaccount.identity.meshctl.cluster.local"}}, "but the token proves"},
		{"other service account", p256, x509.CertificateRequest{DNSNames: []string{"admin.shop.serviceaccount.identity.meshctl.cluster.local"}}, "but the token proves"},
		{"P-384 key", p384, x509.CertificateRequest{DNSNames: []string{workload}}, "ECDSA P-256"},
		{"RSA key", rsaKey, x509.CertificateRequest{DNSNames: []string{workload}}, "ECDSA P-256"},
		{"Ed25519 key", edKey, x509.CertificateRequest{DNSNames: []string{workload}}, "ECDSA P-256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateCSR(makeCSR(t, tt.key, tt.tmpl), workload)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("refused a valid CSR: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrBadCSR) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want ErrBadCSR containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseCSRRejects(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{workload}}, key)
	tampered := append([]byte(nil), der...)
	tampered[len(tampered)-5] ^= 0xff // break the signature
	for name, in := range map[string][]byte{
		"garbage":          []byte("not a csr"),
		"wrong PEM type":   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"broken signature": tampered,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseCSR(in); !errors.Is(err, ErrBadCSR) {
				t.Fatalf("ParseCSR = %v, want ErrBadCSR", err)
			}
		})
	}
	if _, err := ParseCSR(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})); err != nil {
		t.Fatalf("PEM CSR refused: %v", err)
	}
}

func TestIssueLeaf(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	root, err := GenerateRoot(GenerateOptions{CommonName: "root", Lifetime: 10 * 365 * 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := root.IssueIntermediate(GenerateOptions{CommonName: "issuer", Lifetime: 48 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr := makeCSR(t, key, x509.CertificateRequest{DNSNames: []string{workload}})
	der, err := issuer.IssueLeaf(csr, 24*time.Hour, 20*time.Second, now)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	inter := x509.NewCertPool()
	inter.AddCert(issuer.Cert)
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: workload, Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("leaf does not verify as a client certificate: %v", err)
	}
	if !leaf.NotBefore.Equal(now.Add(-20*time.Second)) || !leaf.NotAfter.Equal(now.Add(24*time.Hour)) || leaf.IsCA {
		t.Fatalf("leaf validity %s..%s, CA %v", leaf.NotBefore, leaf.NotAfter, leaf.IsCA)
	}
	// Never past the issuer's own expiry.
	der, err = issuer.IssueLeaf(csr, 72*time.Hour, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	if leaf, _ = x509.ParseCertificate(der); leaf.NotAfter.After(issuer.Cert.NotAfter) {
		t.Fatalf("leaf outlives its issuer: %s > %s", leaf.NotAfter, issuer.Cert.NotAfter)
	}
}
