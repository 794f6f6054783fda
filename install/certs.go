package install

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/meshctl/meshctl/pkg/meshapi"

	"github.com/meshctl/meshctl/pkg/identity"
)

// Lifetimes of what install generates.
const (
	// TrustAnchorLifetime is the lifetime of a generated trust anchor.
	TrustAnchorLifetime = 10 * 365 * 24 * time.Hour
	// IssuerLifetime is the lifetime of a generated identity issuer.
	IssuerLifetime = 365 * 24 * time.Hour
	// WebhookCertLifetime is the lifetime of the injector's serving certificate.
	WebhookCertLifetime = 365 * 24 * time.Hour
)

// CertSource makes the certificates install generates. The default,
// GenerateCerts, creates fresh ECDSA P-256 keys on every call. Tests and
// anyone who needs byte-identical renders pass FixedCerts instead: Go's key
// generation ignores a seeded random source, so a fixed source is the only
// reproducible one.
type CertSource interface {
	// TrustAnchor returns a self-signed trust anchor.
	TrustAnchor(opts identity.GenerateOptions) (*identity.CA, error)
	// Issuer returns an identity issuer signed by anchor.
	Issuer(anchor *identity.CA, opts identity.GenerateOptions) (*identity.CA, error)
	// WebhookCert returns a CA bundle and a serving certificate and key for dnsNames.
	WebhookCert(dnsNames []string, now time.Time) (caPEM, certPEM, keyPEM []byte, err error)
	// TapToken returns a new token for meshctl viz tap (the proxies hold
	// only its SHA-256).
	TapToken() (string, error)
}

// GenerateCerts is the CertSource that generates new keys.
type GenerateCerts struct{}

// TrustAnchor generates a trust anchor.
func (GenerateCerts) TrustAnchor(opts identity.GenerateOptions) (*identity.CA, error) {
	return identity.GenerateRoot(opts)
}

// Issuer generates an issuer signed by anchor.
func (GenerateCerts) Issuer(anchor *identity.CA, opts identity.GenerateOptions) (*identity.CA, error) {
	return anchor.IssueIntermediate(opts)
}

// WebhookCert generates a CA for the webhook and a serving certificate signed by it.
func (GenerateCerts) WebhookCert(dnsNames []string, now time.Time) (caPEM, certPEM, keyPEM []byte, err error) {
	ca, err := identity.GenerateRoot(identity.GenerateOptions{CommonName: "webhook." + dnsNames[0], Lifetime: WebhookCertLifetime, Now: now})
	if err != nil {
		return nil, nil, nil, err
	}
	certPEM, keyPEM, err = ca.IssueServing(dnsNames, WebhookCertLifetime, now)
	if err != nil {
		return nil, nil, nil, err
	}
	return ca.CertPEM, certPEM, keyPEM, nil
}

// TapToken returns 32 random bytes in hex.
func (GenerateCerts) TapToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate the tap token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// FixedCerts is a CertSource that always returns the same certificates, for
// reproducible renders. Every certificate field is PEM.
type FixedCerts struct {
	AnchorCert, AnchorKey  []byte
	IssuerCert, IssuerKey  []byte
	WebhookCA              []byte
	WebhookCrt, WebhookKey []byte
	// Tap is the tap token.
	Tap string
}

// TapToken returns the fixed tap token.
func (f FixedCerts) TapToken() (string, error) { return f.Tap, nil }

// TrustAnchor returns the fixed anchor.
func (f FixedCerts) TrustAnchor(identity.GenerateOptions) (*identity.CA, error) {
	return identity.LoadCA(f.AnchorCert, f.AnchorKey)
}

// Issuer returns the fixed issuer.
func (f FixedCerts) Issuer(*identity.CA, identity.GenerateOptions) (*identity.CA, error) {
	return identity.LoadCA(f.IssuerCert, f.IssuerKey)
}

// WebhookCert returns the fixed webhook certificate.
func (f FixedCerts) WebhookCert([]string, time.Time) (caPEM, certPEM, keyPEM []byte, err error) {
	return f.WebhookCA, f.WebhookCrt, f.WebhookKey, nil
}

// webhookDNSNames are the names the injector's Service answers to.
func webhookDNSNames(namespace, clusterDomain string) []string {
	svc := meshapi.ComponentName(meshapi.ComponentInjector) + "." + namespace + ".svc"
	return []string{svc, svc + "." + clusterDomain}
}

// generated is what the render adds to the values under "generated": never
// user-settable and, apart from the version, never stored.
type generated struct {
	version                                    string
	storedValues                               string
	issuerCrtPEM, issuerKeyPEM                 string
	webhookCABundle, webhookCrtPEM, webhookKey string
	// tapToken is the Secret meshctl-tap-token's token; empty renders no
	// Secret (tap off, or a token the user manages).
	tapToken string
}

func (g generated) toMap() map[string]any {
	return map[string]any{
		"version":         g.version,
		"storedValues":    g.storedValues,
		"issuerCrtPEM":    g.issuerCrtPEM,
		"issuerKeyPEM":    g.issuerKeyPEM,
		"webhookCABundle": g.webhookCABundle,
		"webhookCrtPEM":   g.webhookCrtPEM,
		"webhookKeyPEM":   g.webhookKey,
		"tapToken":        g.tapToken,
	}
}

func expiry(t time.Time) string { return t.UTC().Format(time.RFC3339) }
