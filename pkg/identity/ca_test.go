package identity

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"strings"
	"testing"
	"time"
)

func TestGenerateRootAndIntermediate(t *testing.T) {
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	root, err := GenerateRoot(GenerateOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	checkCA(t, root, DefaultRootCommonName, now, DefaultRootLifetime, 1)
	if !bytes.Equal(root.Cert.RawIssuer, root.Cert.RawSubject) {
		t.Error("root is not self-signed")
	}

	issuer, err := root.IssueIntermediate(GenerateOptions{CommonName: IssuerName("mesh", "example.org"), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	checkCA(t, issuer, "identity.mesh.example.org", now, DefaultIssuerLifetime, 0)
	if !bytes.Equal(issuer.Cert.AuthorityKeyId, root.Cert.SubjectKeyId) {
		t.Error("issuer's AuthorityKeyId is not the root's SubjectKeyId")
	}
	if _, err := ValidateIssuer(root.CertPEM, issuer.CertPEM, issuer.KeyPEM, now); err != nil {
		t.Fatalf("generated pair does not validate: %v", err)
	}
	if _, err := ValidateIssuer(root.CertPEM, issuer.CertPEM, issuer.KeyPEM, now.Add(-ClockSkew+time.Second)); err != nil {
		t.Errorf("generated pair not valid within the clock skew allowance: %v", err)
	}

	// An issuer may not sign another CA (MaxPathLen 0).
	sub, err := issuer.IssueIntermediate(GenerateOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	leafPEM, _, err := sub.IssueServing([]string{"a.example"}, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	leaf := mustCert(t, leafPEM)
	if err := verifyChain(leaf, []*x509.Certificate{sub.Cert, issuer.Cert}, []*x509.Certificate{root.Cert}, now); err == nil {
		t.Error("a leaf of a CA below the issuer verified despite the issuer's MaxPathLen 0")
	}

	other, err := GenerateRoot(GenerateOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if other.Cert.SerialNumber.Cmp(root.Cert.SerialNumber) == 0 || bytes.Equal(other.KeyPEM, root.KeyPEM) {
		t.Error("two generated roots share a serial or a key")
	}
}

func checkCA(t *testing.T, ca *CA, cn string, now time.Time, lifetime time.Duration, maxPathLen int) {
	t.Helper()
	c := ca.Cert
	if c.Subject.CommonName != cn {
		t.Errorf("CN = %q, want %q", c.Subject.CommonName, cn)
	}
	if !c.IsCA || !c.BasicConstraintsValid || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("%s is not a CA", cn)
	}
	if c.MaxPathLen != maxPathLen || (maxPathLen == 0 && !c.MaxPathLenZero) {
		t.Errorf("%s MaxPathLen = %d (zero %v), want %d", cn, c.MaxPathLen, c.MaxPathLenZero, maxPathLen)
	}
	if want := now.Add(-ClockSkew); !c.NotBefore.Equal(want) {
		t.Errorf("%s NotBefore = %s, want %s", cn, c.NotBefore, want)
	}
	if want := now.Add(lifetime); !c.NotAfter.Equal(want) {
		t.Errorf("%s NotAfter = %s, want %s", cn, c.NotAfter, want)
	}
	if len(c.SubjectKeyId) != 20 {
		t.Errorf("%s SubjectKeyId has %d bytes, want 20", cn, len(c.SubjectKeyId))
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.Cmp(serialLimit) >= 0 {
		t.Errorf("%s serial %s is not a positive 128-bit number", cn, c.SerialNumber)
	}
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("%s key is %T, want ECDSA P-256", cn, c.PublicKey)
	}
	loaded, err := LoadCA(ca.CertPEM, ca.KeyPEM)
	if err != nil {
		t.Fatalf("%s does not load back: %v", cn, err)
	}
	if !loaded.Cert.Equal(c) {
		t.Errorf("%s loads back as a different certificate", cn)
	}
	if !strings.HasPrefix(string(ca.KeyPEM), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("%s key is not PKCS#8 PEM", cn)
	}
}

func TestIssueIntermediateCappedAtParent(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	root, err := GenerateRoot(GenerateOptions{Lifetime: time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := root.IssueIntermediate(GenerateOptions{Lifetime: 48 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if !issuer.Cert.NotAfter.Equal(root.Cert.NotAfter) {
		t.Errorf("issuer NotAfter %s, want the root's %s", issuer.Cert.NotAfter, root.Cert.NotAfter)
	}
}

func TestIssueServing(t *testing.T) {
	root, err := LoadCA(readFixture(t, "anchor.crt"), readFixture(t, "anchor.key"))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"meshctl-proxy-injector.meshctl.svc", "meshctl-proxy-injector.meshctl.svc.cluster.local"}
	certPEM, keyPEM, err := root.IssueServing(names, 0, validTime)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := ParseCertificates(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	leaf := certs[0]
	if leaf.IsCA {
		t.Error("serving certificate is a CA")
	}
	if want := validTime.Add(DefaultServingLifetime); !leaf.NotAfter.Equal(want) {
		t.Errorf("NotAfter = %s, want %s", leaf.NotAfter, want)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	for _, n := range names {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: n, Roots: pool, CurrentTime: validTime}); err != nil {
			t.Errorf("verify for %s: %v", n, err)
		}
	}
	if _, err := LoadCA(certPEM, keyPEM); err == nil {
		t.Error("a serving certificate loads as a CA")
	}
	key, err := ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if err := keyMatches(leaf, key); err != nil {
		t.Error(err)
	}
}

func TestIssueErrors(t *testing.T) {
	root, err := LoadCA(readFixture(t, "anchor.crt"), readFixture(t, "anchor.key"))
	if err != nil {
		t.Fatal(err)
	}
	leaf := &CA{Cert: mustCert(t, readFixture(t, "leaf.crt")), Key: root.Key}
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"serving without names", func() error { _, _, err := root.IssueServing(nil, 0, validTime); return err }, "no DNS names"},
		{"serving from a nil CA", func() error { _, _, err := (*CA)(nil).IssueServing([]string{"a"}, 0, validTime); return err }, "ca has no certificate or key"},
		{"serving from a non-CA", func() error { _, _, err := leaf.IssueServing([]string{"a"}, 0, validTime); return err }, "not a CA"},
		{"serving with negative lifetime", func() error { _, _, err := root.IssueServing([]string{"a"}, -time.Hour, validTime); return err }, "lifetime -1h0m0s is negative"},
		{"root with negative lifetime", func() error { _, err := GenerateRoot(GenerateOptions{Lifetime: -1}); return err }, "generate root: lifetime"},
		{"intermediate from a non-CA", func() error { _, err := leaf.IssueIntermediate(GenerateOptions{}); return err }, "issue intermediate: not a CA"},
		{"load CA with wrong key", func() error { _, err := LoadCA(readFixture(t, "anchor.crt"), readFixture(t, "issuer.key")); return err }, "load ca: private key does not match"},
		{"load CA from garbage", func() error { _, err := LoadCA([]byte("x"), readFixture(t, "issuer.key")); return err }, "load ca: certificate: no PEM data found"},
		{"load CA with garbage key", func() error { _, err := LoadCA(readFixture(t, "anchor.crt"), []byte("x")); return err }, "load ca: key: no PEM data found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func mustCert(t *testing.T, pemData []byte) *x509.Certificate {
	t.Helper()
	certs, err := ParseCertificates(pemData)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}
