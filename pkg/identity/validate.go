package identity

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Errors ValidateIssuer wraps, for callers that react to the kind of
// problem (errors.Is).
var (
	// ErrNotCA means a certificate cannot sign others.
	ErrNotCA = errors.New("not a CA")
	// ErrExpired means now is at or after a certificate's NotAfter.
	ErrExpired = errors.New("expired")
	// ErrNotYetValid means now is before a certificate's NotBefore.
	ErrNotYetValid = errors.New("not yet valid")
	// ErrUntrusted means the issuer does not chain to the trust anchors.
	ErrUntrusted = errors.New("does not chain to the trust anchors")
	// ErrKeyMismatch means a private key does not belong to a certificate.
	ErrKeyMismatch = errors.New("private key does not match the certificate")
)

// Issuer is a validated identity issuer and the trust anchors it chains to.
type Issuer struct {
	// Anchors are the trust anchors, in the order of AnchorsPEM.
	Anchors []*x509.Certificate
	// Cert is the issuer certificate (the first of CertPEM).
	Cert *x509.Certificate
	// Key is the issuer's private key.
	Key crypto.Signer
	// AnchorsPEM, CertPEM and KeyPEM are the inputs as given.
	AnchorsPEM, CertPEM, KeyPEM []byte
}

// CA returns the issuer as a CA that can sign certificates.
func (i *Issuer) CA() *CA {
	return &CA{CertPEM: EncodeCertificates([]*x509.Certificate{i.Cert}), KeyPEM: i.KeyPEM, Cert: i.Cert, Key: i.Key}
}

// ValidateIssuer checks that the issuer certificate and key can serve as the
// mesh's identity issuer under the trust anchors at time now (zero means
// time.Now()):
//
//   - every input parses, and errors name the input ("trust anchors",
//     "issuer certificate", "issuer key");
//   - every certificate and the key use a supported algorithm;
//   - every anchor and the issuer are CAs (basic constraints CA:TRUE and the
//     certSign key usage) and in date (NotBefore <= now < NotAfter);
//   - the key matches the issuer certificate;
//   - the issuer chains to one of the anchors. Further certificates after
//     the first in issuerCertPEM are used as intermediates.
func ValidateIssuer(anchorsPEM, issuerCertPEM, issuerKeyPEM []byte, now time.Time) (*Issuer, error) {
	if now.IsZero() {
		now = time.Now()
	}
	anchors, err := parseAnchors(anchorsPEM, now)
	if err != nil {
		return nil, fmt.Errorf("trust anchors: %w", err)
	}
	certs, err := ParseCertificates(issuerCertPEM)
	if err != nil {
		return nil, fmt.Errorf("issuer certificate: %w", err)
	}
	issuer := certs[0]
	if err := checkCACert(issuer, now); err != nil {
		return nil, fmt.Errorf("issuer certificate %s: %w", describe(issuer), err)
	}
	key, err := ParsePrivateKey(issuerKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("issuer key: %w", err)
	}
	if err := keyMatches(issuer, key); err != nil {
		return nil, fmt.Errorf("issuer key: %w", err)
	}
	if err := verifyChain(issuer, certs[1:], anchors, now); err != nil {
		return nil, fmt.Errorf("issuer certificate %s: %w", describe(issuer), err)
	}
	return &Issuer{
		Anchors:    anchors,
		Cert:       issuer,
		Key:        key,
		AnchorsPEM: anchorsPEM,
		CertPEM:    issuerCertPEM,
		KeyPEM:     issuerKeyPEM,
	}, nil
}

func parseAnchors(data []byte, now time.Time) ([]*x509.Certificate, error) {
	anchors, err := ParseCertificates(data)
	if err != nil {
		return nil, err
	}
	for i, a := range anchors {
		if err := checkCACert(a, now); err != nil {
			return nil, fmt.Errorf("anchor %d %s: %w", i+1, describe(a), err)
		}
	}
	return anchors, nil
}

// checkCACert checks algorithms, CA-ness and validity period of c.
func checkCACert(c *x509.Certificate, now time.Time) error {
	if err := checkCertificateAlgorithms(c); err != nil {
		return err
	}
	if err := isCA(c); err != nil {
		return err
	}
	return inDate(c, now)
}

func isCA(c *x509.Certificate) error {
	if !c.BasicConstraintsValid || !c.IsCA {
		return fmt.Errorf("%w: basic constraints do not say CA:TRUE", ErrNotCA)
	}
	if c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("%w: key usage lacks certificate signing", ErrNotCA)
	}
	return nil
}

func inDate(c *x509.Certificate, now time.Time) error {
	if now.Before(c.NotBefore) {
		return fmt.Errorf("%w: valid from %s", ErrNotYetValid, c.NotBefore.UTC().Format(time.RFC3339))
	}
	if !now.Before(c.NotAfter) {
		return fmt.Errorf("%w on %s", ErrExpired, c.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

func keyMatches(c *x509.Certificate, key crypto.Signer) error {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(c.PublicKey) {
		return fmt.Errorf("%w %s", ErrKeyMismatch, describe(c))
	}
	return nil
}

func verifyChain(leaf *x509.Certificate, intermediates, anchors []*x509.Certificate, now time.Time) error {
	roots := x509.NewCertPool()
	for _, a := range anchors {
		roots.AddCert(a)
	}
	inter := x509.NewCertPool()
	for _, c := range intermediates {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	return nil
}

// describe names a certificate in error messages.
func describe(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return fmt.Sprintf("%q", c.Subject.CommonName)
	}
	return fmt.Sprintf("(serial %s)", c.SerialNumber.Text(16))
}
