package mtls

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// verifyLeaf checks that leaf chains to anchors (through intermediates),
// is valid at now for usage, and names exactly one identity: want. Go's
// hostname check alone would accept a wildcard SAN or extra names; an
// identity must match exactly.
func verifyLeaf(leaf *x509.Certificate, want string, anchors, intermediates *x509.CertPool, now time.Time, usage x509.ExtKeyUsage) error {
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:         anchors,
		Intermediates: intermediates,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{usage},
	}); err != nil {
		return fmt.Errorf("certificate of %q does not verify against the trust anchors: %w", want, err)
	}
	got, err := IdentityOf(leaf)
	if err != nil {
		return err
	}
	if want != "" && got != want {
		return fmt.Errorf("peer is %q, want %q", got, want)
	}
	return nil
}

// IdentityOf returns the identity a workload certificate names: its single
// DNS SAN. Certificates with other SAN kinds, several names or a wildcard
// name no identity.
func IdentityOf(c *x509.Certificate) (string, error) {
	if len(c.DNSNames) != 1 || len(c.IPAddresses) > 0 || len(c.URIs) > 0 || len(c.EmailAddresses) > 0 {
		return "", errors.New("peer certificate must name exactly one DNS identity and nothing else")
	}
	name := c.DNSNames[0]
	if name == "" || strings.Contains(name, "*") {
		return "", fmt.Errorf("peer certificate names %q, not an identity", name)
	}
	return name, nil
}
