package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrBadCSR marks a certificate signing request the identity service
// refuses; the message says why.
var ErrBadCSR = errors.New("certificate signing request refused")

// ParseCSR decodes a CSR given as DER or PEM and verifies its signature.
func ParseCSR(data []byte) (*x509.CertificateRequest, error) {
	der := data
	if b, _ := pem.Decode(data); b != nil {
		if b.Type != "CERTIFICATE REQUEST" {
			return nil, fmt.Errorf("%w: PEM block %q, want CERTIFICATE REQUEST", ErrBadCSR, b.Type)
		}
		der = b.Bytes
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCSR, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrBadCSR, err)
	}
	return csr, nil
}

// ValidateCSR checks that csr asks for exactly the workload identity name
// and nothing else: an ECDSA P-256 key, exactly one DNS SAN equal to name,
// no IP, URI or email SANs, no wildcard, and an empty common name or one
// equal to name.
func ValidateCSR(csr *x509.CertificateRequest, name string) error {
	pub, ok := csr.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return fmt.Errorf("%w: key must be ECDSA P-256, got %T", ErrBadCSR, csr.PublicKey)
	}
	if len(csr.IPAddresses) > 0 || len(csr.URIs) > 0 || len(csr.EmailAddresses) > 0 {
		return fmt.Errorf("%w: only one DNS name may be requested (IP, URI and email SANs are refused)", ErrBadCSR)
	}
	if len(csr.DNSNames) != 1 {
		return fmt.Errorf("%w: exactly one DNS name must be requested, got %d", ErrBadCSR, len(csr.DNSNames))
	}
	if strings.Contains(csr.DNSNames[0], "*") {
		return fmt.Errorf("%w: wildcard name %q", ErrBadCSR, csr.DNSNames[0])
	}
	if csr.DNSNames[0] != name {
		return fmt.Errorf("%w: requested %q, but the token proves %q", ErrBadCSR, csr.DNSNames[0], name)
	}
	if cn := csr.Subject.CommonName; cn != "" && cn != name {
		return fmt.Errorf("%w: common name %q differs from %q", ErrBadCSR, cn, name)
	}
	return nil
}

// IssueLeaf signs a workload certificate for the name a validated CSR asks
// for: client and server authentication, valid from now-skew for lifetime
// (never past the issuer's own expiry). It returns the leaf's DER.
func (ca *CA) IssueLeaf(csr *x509.CertificateRequest, lifetime, skew time.Duration, now time.Time) ([]byte, error) {
	if err := ca.check(); err != nil {
		return nil, err
	}
	if !now.Before(ca.Cert.NotAfter) {
		// The leaf would end before it begins.
		return nil, fmt.Errorf("issuer %s: %w on %s", describe(ca.Cert), ErrExpired, ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	skid, err := subjectKeyID(csr.PublicKey)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:   serial,
		Subject:        pkix.Name{CommonName: csr.DNSNames[0]},
		DNSNames:       csr.DNSNames,
		NotBefore:      now.Add(-skew),
		NotAfter:       now.Add(lifetime),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		SubjectKeyId:   skid,
		AuthorityKeyId: ca.Cert.SubjectKeyId,
	}
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, csr.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("sign workload certificate: %w", err)
	}
	return der, nil
}
