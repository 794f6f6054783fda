package identity

import (
	"errors"
	"testing"
	"time"

	"github.com/meshctl/meshctl/pkg/identity"
)

func TestIssuerStoreKeepsCurrentOnBadRotation(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	gen := func(cn string, lifetime time.Duration, at time.Time) *identity.CA {
		ca, err := identity.GenerateRoot(identity.GenerateOptions{CommonName: cn, Lifetime: lifetime, Now: at})
		if err != nil {
			t.Fatal(err)
		}
		return ca
	}
	root := gen("root", 10*365*24*time.Hour, now)
	issuer, err := root.IssueIntermediate(identity.GenerateOptions{CommonName: "issuer-1", Lifetime: 365 * 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var s IssuerStore
	if s.CA() != nil || !s.Expiry().IsZero() {
		t.Fatal("an empty store has an issuer")
	}
	if err := s.Load(root.CertPEM, issuer.CertPEM, issuer.KeyPEM, now); err != nil {
		t.Fatalf("valid issuer refused: %v", err)
	}
	foreign := gen("foreign", 365*24*time.Hour, now)
	expired, err := root.IssueIntermediate(identity.GenerateOptions{CommonName: "issuer-old", Lifetime: time.Hour, Now: now.Add(-48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][3][]byte{
		"foreign CA":      {root.CertPEM, foreign.CertPEM, foreign.KeyPEM},
		"expired":         {root.CertPEM, expired.CertPEM, expired.KeyPEM},
		"key mismatch":    {root.CertPEM, issuer.CertPEM, foreign.KeyPEM},
		"garbage":         {root.CertPEM, []byte("x"), []byte("y")},
		"anchors missing": {nil, issuer.CertPEM, issuer.KeyPEM},
	} {
		t.Run(name, func(t *testing.T) {
			err := s.Load(bad[0], bad[1], bad[2], now)
			if err == nil {
				t.Fatal("a bad issuer was accepted")
			}
			if got := s.CA(); got == nil || got.Cert.Subject.CommonName != "issuer-1" {
				t.Fatalf("the current issuer was lost after a refused rotation: %v", got)
			}
		})
	}
	var untrusted error = identity.ErrUntrusted
	if err := s.Load(root.CertPEM, foreign.CertPEM, foreign.KeyPEM, now); !errors.Is(err, untrusted) {
		t.Fatalf("foreign issuer error %v, want ErrUntrusted", err)
	}
	next, err := root.IssueIntermediate(identity.GenerateOptions{CommonName: "issuer-2", Lifetime: 365 * 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Load(root.CertPEM, next.CertPEM, next.KeyPEM, now); err != nil || s.CA().Cert.Subject.CommonName != "issuer-2" {
		t.Fatalf("a valid rotation was not taken: %v", err)
	}
}
