package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"time"
)

// ALPN is the protocol the proxies negotiate between themselves; a server
// proxy knows a connection that offers it comes from a meshed peer.
const ALPN = "meshctl.io/proxy/v1"

// errNoCertificate is returned while no certificate has been issued yet.
var errNoCertificate = errors.New("mtls: no certificate yet")

// ServerConfig is the inbound TLS configuration: TLS 1.3 only, this
// proxy's certificate, and a client certificate verified against the
// trust anchors when one is given (unmeshed clients have none; whether they
// may connect is policy's call). nil until the first certificate.
func (p *Provider) ServerConfig() *tls.Config {
	if p.current.Load() == nil {
		return nil
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{ALPN},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			if c := p.current.Load(); c != nil {
				return c, nil
			}
			return nil, errNoCertificate
		},
		ClientAuth: tls.VerifyClientCertIfGiven,
		ClientCAs:  p.anchors,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return nil
			}
			_, err := IdentityOf(cs.PeerCertificates[0])
			return err
		},
	}
}

// ClientConfig is the outbound TLS configuration towards a peer that must
// prove identity: TLS 1.3 only, SNI set to the identity, the peer verified
// against the trust anchors with an exact name match, and this proxy's
// certificate presented.
func (p *Provider) ClientConfig(identity string) *tls.Config {
	return clientConfig(identity, p.anchors, func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if c := p.current.Load(); c != nil {
			return c, nil
		}
		return &tls.Certificate{}, nil // no certificate: the server decides
	}, p.opts.Now)
}

// BootstrapClientConfig verifies a server (the identity service) before
// this proxy has a certificate of its own.
func BootstrapClientConfig(identity string, anchorsPEM []byte) (*tls.Config, error) {
	pool, err := AnchorPool(anchorsPEM)
	if err != nil {
		return nil, err
	}
	return clientConfig(identity, pool, nil, nil), nil
}

func clientConfig(identity string, anchors *x509.CertPool, getCert func(*tls.CertificateRequestInfo) (*tls.Certificate, error), now func() time.Time) *tls.Config {
	cfg := &tls.Config{
		MinVersion:           tls.VersionTLS13,
		ServerName:           identity,
		NextProtos:           []string{ALPN},
		GetClientCertificate: getCert,
		// Verification is done in VerifyConnection with the exact-name
		// rule; Go's own check would accept wildcards.
		InsecureSkipVerify: true, //nolint:gosec // replaced by VerifyConnection below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("mtls: server sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			return verifyLeaf(cs.PeerCertificates[0], identity, anchors, inter, clock(now), x509.ExtKeyUsageServerAuth)
		},
	}
	return cfg
}

func clock(now func() time.Time) time.Time {
	if now == nil {
		return time.Now()
	}
	return now()
}
