package identity

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "regenerate the PEM fixtures in testdata/")

// fixtureLifetime keeps the good fixtures in date for a century, so tests
// elsewhere may validate them against the real clock.
const fixtureLifetime = 100 * 365 * 24 * time.Hour

// TestFixtures regenerates testdata/*.crt|key with -update and, always,
// checks that the fixtures still have the properties README.md promises.
func TestFixtures(t *testing.T) {
	if *update {
		writeFixtures(t)
	}
	anchor := readFixture(t, "anchor.crt")
	issuer := readFixture(t, "issuer.crt")
	issuerKey := readFixture(t, "issuer.key")
	if _, err := ValidateIssuer(anchor, issuer, issuerKey, validTime); err != nil {
		t.Errorf("issuer fixture: %v", err)
	}
	if _, err := ValidateIssuer(anchor, issuer, issuerKey, time.Now()); err != nil {
		t.Errorf("issuer fixture at the real time: %v", err)
	}
	if _, err := ValidateIssuer(readFixture(t, "foreign-anchor.crt"), readFixture(t, "foreign-issuer.crt"), readFixture(t, "foreign-issuer.key"), validTime); err != nil {
		t.Errorf("foreign issuer fixture under its own anchor: %v", err)
	}
	checks := []struct {
		name, cert, key string
		want            error
	}{
		{"expired issuer", "issuer-expired.crt", "issuer-expired.key", ErrExpired},
		{"non-CA leaf", "leaf.crt", "leaf.key", ErrNotCA},
		{"foreign issuer", "foreign-issuer.crt", "foreign-issuer.key", ErrUntrusted},
		{"foreign anchor as issuer", "foreign-anchor.crt", "foreign-anchor.key", ErrUntrusted},
		{"issuer with anchor key", "issuer.crt", "anchor.key", ErrKeyMismatch},
	}
	for _, c := range checks {
		_, err := ValidateIssuer(anchor, readFixture(t, c.cert), readFixture(t, c.key), validTime)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := ParsePrivateKey(readFixture(t, "rsa-1024.key")); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("rsa-1024.key: got %v, want %v", err, ErrUnsupportedAlgorithm)
	}
}

func writeFixtures(t *testing.T) {
	t.Helper()
	gen := func(o GenerateOptions) GenerateOptions {
		o.Now = fixtureTime
		return o
	}
	anchor, err := GenerateRoot(gen(GenerateOptions{Lifetime: fixtureLifetime}))
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := anchor.IssueIntermediate(gen(GenerateOptions{Lifetime: fixtureLifetime}))
	if err != nil {
		t.Fatal(err)
	}
	expired, err := anchor.IssueIntermediate(gen(GenerateOptions{Lifetime: 24 * time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	leafCert, leafKey, err := anchor.IssueServing([]string{"leaf.meshctl.cluster.local"}, fixtureLifetime, fixtureTime)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := GenerateRoot(gen(GenerateOptions{CommonName: "root.foreign.example", Lifetime: fixtureLifetime}))
	if err != nil {
		t.Fatal(err)
	}
	foreignIssuer, err := foreign.IssueIntermediate(gen(GenerateOptions{CommonName: "identity.foreign.example", Lifetime: fixtureLifetime}))
	if err != nil {
		t.Fatal(err)
	}
	rsaDER, err := x509.MarshalPKCS8PrivateKey(rsaKey(t, 1024))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"anchor.crt":         anchor.CertPEM,
		"anchor.key":         anchor.KeyPEM,
		"issuer.crt":         issuer.CertPEM,
		"issuer.key":         issuer.KeyPEM,
		"issuer-expired.crt": expired.CertPEM,
		"issuer-expired.key": expired.KeyPEM,
		"leaf.crt":           leafCert,
		"leaf.key":           leafKey,
		"foreign-anchor.crt": foreign.CertPEM,
		"foreign-anchor.key": foreign.KeyPEM,
		"foreign-issuer.crt": foreignIssuer.CertPEM,
		"foreign-issuer.key": foreignIssuer.KeyPEM,
		"rsa-1024.key":       pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rsaDER}),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join("testdata", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
