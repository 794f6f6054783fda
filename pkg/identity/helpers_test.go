package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fixtureTime is the issuance time of the testdata fixtures; they are valid
// from fixtureTime-ClockSkew.
var fixtureTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// validTime is a time at which the good fixtures are all in date.
var validTime = fixtureTime.Add(24 * time.Hour)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read fixture (run go test ./pkg/identity -run TestFixtures -update to regenerate): %v", err)
	}
	return b
}

// certSpec describes a certificate built directly with crypto/x509, for
// shapes GenerateRoot and friends refuse to make.
type certSpec struct {
	cn        string
	isCA      bool
	keyUsage  x509.KeyUsage
	notBefore time.Time
	notAfter  time.Time
	key       crypto.Signer // subject key; nil means a new P-256 key
	parent    *CA           // nil means self-signed
	sigAlg    x509.SignatureAlgorithm
}

// makeCert builds a certificate from spec and returns it as a CA (whether
// or not it is one).
func makeCert(t *testing.T, s certSpec) *CA {
	t.Helper()
	if s.key == nil {
		s.key = ecKey(t, elliptic.P256())
	}
	if s.notBefore.IsZero() {
		s.notBefore = fixtureTime
	}
	if s.notAfter.IsZero() {
		s.notAfter = fixtureTime.Add(365 * 24 * time.Hour)
	}
	serial, err := newSerial()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: s.cn},
		NotBefore:             s.notBefore,
		NotAfter:              s.notAfter,
		IsCA:                  s.isCA,
		BasicConstraintsValid: true,
		KeyUsage:              s.keyUsage,
		SignatureAlgorithm:    s.sigAlg,
	}
	parent, signer := tmpl, s.key
	if s.parent != nil {
		parent, signer = s.parent.Cert, s.parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, s.key.Public(), signer)
	if err != nil {
		t.Fatalf("create certificate %q: %v", s.cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{
		Cert:    cert,
		Key:     s.key,
		CertPEM: EncodeCertificates([]*x509.Certificate{cert}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
}

func ecKey(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func rsaKey(t *testing.T, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// serialLimit is 2^128.
var serialLimit = new(big.Int).Lsh(big.NewInt(1), 128)
