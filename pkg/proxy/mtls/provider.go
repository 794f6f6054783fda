package mtls

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	identityv1 "github.com/meshctl/meshctl/pkg/api/identity/v1"
	"github.com/meshctl/meshctl/pkg/identity"
)

// Options configures a Provider.
type Options struct {
	// LocalName is this proxy's identity name
	// (<sa>.<ns>.serviceaccount.identity.<mesh-ns>.<trust-domain>).
	LocalName string
	// TrustAnchorsPEM are the roots every peer certificate must chain to.
	TrustAnchorsPEM []byte
	// TokenFile holds the projected ServiceAccount token; it is read again
	// for every request because the kubelet rotates it.
	TokenFile string
	// Client talks to the identity service.
	Client identityv1.IdentityClient
	// Log receives renewal events; nil discards them.
	Log *slog.Logger
	// Registry receives the identity metrics; nil registers nothing.
	Registry prometheus.Registerer
	// RenewAt is the fraction of a certificate's lifetime after which it is
	// renewed; zero means 0.7.
	RenewAt float64
	// MinBackoff and MaxBackoff bound the retry delay after a failed
	// request; zero means 1s and 5s, so a proxy waiting for its first
	// certificate has it within seconds of the identity service recovering.
	MinBackoff, MaxBackoff time.Duration
	// RequestTimeout bounds one Certify call; zero means 10s.
	RequestTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Provider holds the proxy's key and current certificate.
type Provider struct {
	opts    Options
	key     *ecdsa.PrivateKey
	csr     []byte
	anchors *x509.CertPool
	metrics *metrics

	current   atomic.Pointer[tls.Certificate]
	ready     chan struct{}
	readyOnce sync.Once
}

// New generates the key and the CSR and parses the trust anchors. It does
// not contact the identity service: Run does.
func New(opts Options) (*Provider, error) {
	if opts.LocalName == "" {
		return nil, errors.New("mtls: no local identity name")
	}
	if opts.Client == nil {
		return nil, errors.New("mtls: no identity service client")
	}
	anchors, err := AnchorPool(opts.TrustAnchorsPEM)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		return nil, fmt.Errorf("mtls: generate key: %w", err)
	}
	csr, err := x509.CreateCertificateRequest(crand.Reader, &x509.CertificateRequest{DNSNames: []string{opts.LocalName}}, key)
	if err != nil {
		return nil, fmt.Errorf("mtls: create CSR: %w", err)
	}
	if opts.RenewAt <= 0 || opts.RenewAt >= 1 {
		opts.RenewAt = 0.7
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(5*time.Second, opts.MinBackoff)
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(opts.Registry)
	if err != nil {
		return nil, err
	}
	return &Provider{opts: opts, key: key, csr: csr, anchors: anchors, metrics: m, ready: make(chan struct{})}, nil
}

// AnchorPool parses PEM trust anchors; at least one certificate is needed.
func AnchorPool(pemData []byte) (*x509.CertPool, error) {
	certs, err := identity.ParseCertificates(pemData)
	if err != nil {
		return nil, fmt.Errorf("mtls: trust anchors: %w", err)
	}
	if len(certs) == 0 {
		return nil, errors.New("mtls: trust anchors: no certificate found")
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// LocalName is the identity this proxy proves.
func (p *Provider) LocalName() string { return p.opts.LocalName }

// Ready is closed once the first certificate is held.
func (p *Provider) Ready() <-chan struct{} { return p.ready }

// Certificate returns the current certificate, nil before the first.
func (p *Provider) Certificate() *tls.Certificate { return p.current.Load() }

// Run obtains a certificate and keeps it renewed until ctx ends.
func (p *Provider) Run(ctx context.Context) {
	backoff := p.opts.MinBackoff
	for {
		wait, err := p.refresh(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			wait = jitter(backoff)
			p.opts.Log.Warn("certificate request failed; retrying", "error", err, "retry_in", wait.Round(time.Millisecond), "have_certificate", p.current.Load() != nil)
			if status.Code(err) != codes.ResourceExhausted {
				backoff = min(2*backoff, p.opts.MaxBackoff)
			}
		} else {
			backoff = p.opts.MinBackoff
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// refresh asks for a certificate once and returns how long to wait before
// the next renewal.
func (p *Provider) refresh(ctx context.Context) (time.Duration, error) {
	token, err := os.ReadFile(p.opts.TokenFile)
	if err != nil {
		return 0, fmt.Errorf("read ServiceAccount token %s: %w", p.opts.TokenFile, err)
	}
	cctx, cancel := context.WithTimeout(ctx, p.opts.RequestTimeout)
	defer cancel()
	resp, err := p.opts.Client.Certify(cctx, &identityv1.CertifyRequest{
		Identity:                  p.opts.LocalName,
		Token:                     []byte(strings.TrimSpace(string(token))),
		CertificateSigningRequest: p.csr,
	})
	p.metrics.refreshes.Inc()
	if err != nil {
		p.metrics.failures.Inc()
		return 0, fmt.Errorf("certify %s: %w", p.opts.LocalName, err)
	}
	cert, leaf, err := p.accept(resp)
	if err != nil {
		p.metrics.failures.Inc()
		return 0, err
	}
	p.current.Store(cert)
	p.metrics.expiry.Set(float64(leaf.NotAfter.Unix()))
	p.readyOnce.Do(func() { close(p.ready) })
	lifetime := leaf.NotAfter.Sub(leaf.NotBefore)
	renew := leaf.NotBefore.Add(time.Duration(float64(lifetime) * p.opts.RenewAt))
	// Spread renewals of many proxies started together over up to 5 % of
	// the lifetime, always earlier, never later, than the 70 % mark.
	renew = renew.Add(-time.Duration(rand.Int64N(int64(lifetime/20) + 1)))
	wait := max(renew.Sub(p.opts.Now()), p.opts.MinBackoff)
	p.opts.Log.Info("certificate issued", "identity", p.opts.LocalName, "not_after", leaf.NotAfter.UTC().Format(time.RFC3339), "renew_in", wait.Round(time.Second))
	return wait, nil
}

// accept checks what the identity service returned before using it: the
// leaf must carry our key and exactly our name and chain to the anchors.
func (p *Provider) accept(resp *identityv1.CertifyResponse) (*tls.Certificate, *x509.Certificate, error) {
	leaf, err := x509.ParseCertificate(resp.GetLeafCertificate())
	if err != nil {
		return nil, nil, fmt.Errorf("identity service returned an unreadable certificate: %w", err)
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&p.key.PublicKey) {
		return nil, nil, errors.New("identity service returned a certificate for another key")
	}
	inter := x509.NewCertPool()
	chain := [][]byte{leaf.Raw}
	for _, der := range resp.GetIntermediateCertificates() {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, fmt.Errorf("identity service returned an unreadable intermediate: %w", err)
		}
		inter.AddCert(c)
		chain = append(chain, der)
	}
	if err := verifyLeaf(leaf, p.opts.LocalName, p.anchors, inter, p.opts.Now(), x509.ExtKeyUsageServerAuth); err != nil {
		return nil, nil, fmt.Errorf("identity service returned a certificate we cannot use: %w", err)
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: p.key, Leaf: leaf}, leaf, nil
}

// jitter returns d ± 20 %.
func jitter(d time.Duration) time.Duration {
	return d*4/5 + time.Duration(rand.Int64N(int64(d*2/5)+1))
}
