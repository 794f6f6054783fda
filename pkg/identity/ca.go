package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Defaults of GenerateOptions and IssueServing.
const (
	// DefaultRootLifetime is the lifetime of a generated trust anchor.
	DefaultRootLifetime = 10 * 365 * 24 * time.Hour
	// DefaultIssuerLifetime is the lifetime of a generated identity issuer.
	DefaultIssuerLifetime = 365 * 24 * time.Hour
	// DefaultServingLifetime is the lifetime of a webhook serving certificate.
	DefaultServingLifetime = 365 * 24 * time.Hour
	// ClockSkew is how far NotBefore of every issued certificate is
	// backdated, so that nodes whose clocks lag a little accept it.
	ClockSkew = 5 * time.Minute

	// DefaultRootCommonName is the subject of a generated trust anchor.
	DefaultRootCommonName = "root.meshctl.cluster.local"
	// DefaultIssuerCommonName is the subject of a generated identity
	// issuer in the default namespace and trust domain; see IssuerName.
	DefaultIssuerCommonName = "identity.meshctl.cluster.local"
)

// IssuerName is the conventional subject of the identity issuer of a control
// plane in meshNamespace with trustDomain: identity.<ns>.<trust-domain>.
func IssuerName(meshNamespace, trustDomain string) string {
	return "identity." + meshNamespace + "." + trustDomain
}

// CA is a certificate authority: a CA certificate and its private key, both
// parsed and as PEM.
type CA struct {
	// CertPEM is the CA certificate alone, PEM encoded.
	CertPEM []byte
	// KeyPEM is the private key, PEM encoded (PKCS#8 for generated keys).
	KeyPEM []byte
	// Cert is the parsed CA certificate.
	Cert *x509.Certificate
	// Key signs certificates issued by the CA.
	Key crypto.Signer
}

// GenerateOptions describe a CA to generate.
type GenerateOptions struct {
	// CommonName is the subject CN. Empty means DefaultRootCommonName for
	// GenerateRoot and DefaultIssuerCommonName for IssueIntermediate.
	CommonName string
	// Lifetime is how long the CA is valid from Now. Zero means
	// DefaultRootLifetime or DefaultIssuerLifetime. An intermediate never
	// outlives its parent: its NotAfter is capped at the parent's.
	Lifetime time.Duration
	// Now is the issuance time. Zero means time.Now().
	Now time.Time
}

func (o GenerateOptions) withDefaults(cn string, lifetime time.Duration) GenerateOptions {
	if o.CommonName == "" {
		o.CommonName = cn
	}
	if o.Lifetime == 0 {
		o.Lifetime = lifetime
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	return o
}

func (o GenerateOptions) validate() error {
	if o.Lifetime < 0 {
		return fmt.Errorf("lifetime %s is negative", o.Lifetime)
	}
	return nil
}

// GenerateRoot generates a self-signed ECDSA P-256 trust anchor.
func GenerateRoot(opts GenerateOptions) (*CA, error) {
	opts = opts.withDefaults(DefaultRootCommonName, DefaultRootLifetime)
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("generate root: %w", err)
	}
	key, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("generate root: %w", err)
	}
	tmpl, err := caTemplate(opts, key.Public(), 1)
	if err != nil {
		return nil, fmt.Errorf("generate root: %w", err)
	}
	ca, err := sign(tmpl, tmpl, key.Public(), key, key)
	if err != nil {
		return nil, fmt.Errorf("generate root: %w", err)
	}
	return ca, nil
}

// IssueIntermediate generates an ECDSA P-256 CA signed by ca: the identity
// issuer when ca is the trust anchor. It may sign leaves but no further CAs.
func (ca *CA) IssueIntermediate(opts GenerateOptions) (*CA, error) {
	opts = opts.withDefaults(DefaultIssuerCommonName, DefaultIssuerLifetime)
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("issue intermediate: %w", err)
	}
	if err := ca.check(); err != nil {
		return nil, fmt.Errorf("issue intermediate: %w", err)
	}
	key, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("issue intermediate: %w", err)
	}
	tmpl, err := caTemplate(opts, key.Public(), 0)
	if err != nil {
		return nil, fmt.Errorf("issue intermediate: %w", err)
	}
	capNotAfter(tmpl, ca.Cert)
	out, err := sign(tmpl, ca.Cert, key.Public(), ca.Key, key)
	if err != nil {
		return nil, fmt.Errorf("issue intermediate: %w", err)
	}
	return out, nil
}

// IssueServing issues an ECDSA P-256 TLS server certificate for dnsNames
// (the first is also the subject CN), for webhook serving. A zero lifetime
// means DefaultServingLifetime and a zero now means time.Now(); NotAfter is
// capped at the CA's.
func (ca *CA) IssueServing(dnsNames []string, lifetime time.Duration, now time.Time) (certPEM, keyPEM []byte, err error) {
	if len(dnsNames) == 0 {
		return nil, nil, errors.New("issue serving certificate: no DNS names")
	}
	if err := ca.check(); err != nil {
		return nil, nil, fmt.Errorf("issue serving certificate: %w", err)
	}
	opts := GenerateOptions{CommonName: dnsNames[0], Lifetime: lifetime, Now: now}.
		withDefaults("", DefaultServingLifetime)
	if err := opts.validate(); err != nil {
		return nil, nil, fmt.Errorf("issue serving certificate: %w", err)
	}
	key, err := newKey()
	if err != nil {
		return nil, nil, fmt.Errorf("issue serving certificate: %w", err)
	}
	tmpl, err := baseTemplate(opts, key.Public())
	if err != nil {
		return nil, nil, fmt.Errorf("issue serving certificate: %w", err)
	}
	tmpl.DNSNames = append([]string(nil), dnsNames...)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	tmpl.BasicConstraintsValid = true
	capNotAfter(tmpl, ca.Cert)
	leaf, err := sign(tmpl, ca.Cert, key.Public(), ca.Key, key)
	if err != nil {
		return nil, nil, fmt.Errorf("issue serving certificate: %w", err)
	}
	return leaf.CertPEM, leaf.KeyPEM, nil
}

// LoadCA parses a CA from its certificate and key PEM. The first certificate
// of certPEM is the CA; the key must match it.
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	certs, err := ParseCertificates(certPEM)
	if err != nil {
		return nil, fmt.Errorf("load ca: certificate: %w", err)
	}
	key, err := ParsePrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load ca: key: %w", err)
	}
	ca := &CA{CertPEM: EncodeCertificates(certs[:1]), KeyPEM: keyPEM, Cert: certs[0], Key: key}
	if err := ca.check(); err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	if err := keyMatches(certs[0], key); err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	return ca, nil
}

func (ca *CA) check() error {
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return errors.New("ca has no certificate or key")
	}
	return isCA(ca.Cert)
}

func newKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ecdsa p-256 key: %w", err)
	}
	return key, nil
}

func baseTemplate(opts GenerateOptions, pub crypto.PublicKey) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	skid, err := subjectKeyID(pub)
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: opts.CommonName},
		NotBefore:    opts.Now.Add(-ClockSkew).UTC().Truncate(time.Second),
		NotAfter:     opts.Now.Add(opts.Lifetime).UTC().Truncate(time.Second),
		SubjectKeyId: skid,
	}, nil
}

func caTemplate(opts GenerateOptions, pub crypto.PublicKey, maxPathLen int) (*x509.Certificate, error) {
	tmpl, err := baseTemplate(opts, pub)
	if err != nil {
		return nil, err
	}
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	tmpl.MaxPathLen = maxPathLen
	tmpl.MaxPathLenZero = maxPathLen == 0
	return tmpl, nil
}

func capNotAfter(tmpl, parent *x509.Certificate) {
	if tmpl.NotAfter.After(parent.NotAfter) {
		tmpl.NotAfter = parent.NotAfter
	}
}

// newSerial returns a random positive 128-bit serial number.
func newSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("generate serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// subjectKeyID is the leftmost 160 bits of the SHA-256 of the public key's
// DER encoding (RFC 7093, section 2, method 1).
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	// The hash of the whole SubjectPublicKeyInfo differs from the hash of
	// the BIT STRING alone, but RFC 5280 only requires a unique value.
	sum := sha256.Sum256(der)
	return sum[:20], nil
}

func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer, key crypto.Signer) (*CA, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse signed certificate: %w", err)
	}
	keyPEM, err := EncodePrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &CA{CertPEM: EncodeCertificates([]*x509.Certificate{cert}), KeyPEM: keyPEM, Cert: cert, Key: key}, nil
}
