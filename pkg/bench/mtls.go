package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/time/rate"

	ctlidentity "github.com/meshctl/meshctl/pkg/controller/identity"
	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// The bench's mesh: two ServiceAccounts in a namespace of their own, so
// that the client proxy's identity differs from the server's and each side
// can be checked for the other's name.
const (
	benchNamespace = "meshctl-bench"
	clientAccount  = "bench-client"
	serverAccount  = "bench-server"
	// certLifetime is a day: proxies renew at 70 % of it, later than any
	// ordinary run lasts, so no renewal falls in a measured phase.
	certLifetime = 24 * time.Hour
)

// ClientIdentity is the identity proxy A (and every reference pair's client
// side) proves in an mTLS run.
func ClientIdentity() string {
	return meshapi.IdentityName(clientAccount, benchNamespace, meshapi.DefaultNamespace, meshapi.DefaultTrustDomain)
}

// ServerIdentity is the identity proxy B proves and A verifies.
func ServerIdentity() string {
	return meshapi.IdentityName(serverAccount, benchNamespace, meshapi.DefaultNamespace, meshapi.DefaultTrustDomain)
}

// certFiles are one side's certificate chain (leaf then issuer) and key, as
// separate files (nginx, Go) and as one file (haproxy's crt).
type certFiles struct {
	Chain, Key, Combined string
}

// meshPKI is the trust of one mTLS run: a trust anchor and an issuer
// generated in memory, the identity controller's Certify service on
// loopback with a token reviewer that knows only the run's two tokens, and
// certificates from the same issuer for the reference pairs.
type meshPKI struct {
	dir         string
	anchorsPEM  []byte
	anchorsFile string
	// certifyAddr is the loopback Certify service; tokens maps an identity
	// to the file holding the token that proves it.
	certifyAddr string
	tokens      map[string]string
	// client and server are the reference pairs' certificates.
	client, server certFiles
	stop           func()
}

// newMeshPKI generates the run's trust under workDir/mtls and starts the
// Certify service. Stop it with close.
func newMeshPKI(workDir string) (*meshPKI, error) {
	p := &meshPKI{dir: filepath.Join(workDir, "mtls"), tokens: map[string]string{}}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return nil, fmt.Errorf("mtls: %w", err)
	}
	now := time.Now()
	root, err := identity.GenerateRoot(identity.GenerateOptions{CommonName: "root." + benchNamespace + "." + meshapi.DefaultTrustDomain, Lifetime: certLifetime, Now: now})
	if err != nil {
		return nil, fmt.Errorf("mtls: %w", err)
	}
	issuer, err := root.IssueIntermediate(identity.GenerateOptions{CommonName: identity.IssuerName(meshapi.DefaultNamespace, meshapi.DefaultTrustDomain), Lifetime: certLifetime, Now: now})
	if err != nil {
		return nil, fmt.Errorf("mtls: %w", err)
	}
	p.anchorsPEM = root.CertPEM
	p.anchorsFile = filepath.Join(p.dir, "anchors.pem")
	if err := os.WriteFile(p.anchorsFile, p.anchorsPEM, 0o644); err != nil {
		return nil, fmt.Errorf("mtls: %w", err)
	}
	accounts := map[string]string{}
	for _, id := range []struct{ name, account string }{{ClientIdentity(), clientAccount}, {ServerIdentity(), serverAccount}} {
		token, err := randomToken()
		if err != nil {
			return nil, err
		}
		file := filepath.Join(p.dir, "token-"+id.account)
		if err := writeSecret(file, []byte(token+"\n")); err != nil {
			return nil, err
		}
		p.tokens[id.name] = file
		accounts[token] = "system:serviceaccount:" + benchNamespace + ":" + id.account
	}
	if p.client, err = p.issueFiles(issuer, ClientIdentity(), "client", now); err != nil {
		return nil, err
	}
	if p.server, err = p.issueFiles(issuer, ServerIdentity(), "server", now); err != nil {
		return nil, err
	}
	if err := p.startCertify(issuer, tokenReviewer{accounts: accounts}); err != nil {
		return nil, err
	}
	return p, nil
}

// startCertify serves the identity controller's Certify service on a
// loopback port: the same CSR checks, signing and refusals as in a
// cluster, with tokens reviewed by r instead of the API server. It listens
// on 127.0.0.1 whatever Options.Host is: a proxy dials a loopback identity
// service there (cmd/meshctl/cli/proxy_identity.go).
func (p *meshPKI) startCertify(issuer *identity.CA, r tokenReviewer) error {
	srv, err := ctlidentity.NewServer(ctlidentity.ServiceOptions{Certifier: &ctlidentity.Certifier{
		Issuer:        func() *identity.CA { return issuer },
		Reviewer:      r,
		MeshNamespace: meshapi.DefaultNamespace,
		TrustDomain:   meshapi.DefaultTrustDomain,
		Lifetime:      certLifetime,
		// Every pair start asks for two certificates; a run starts many
		// pairs, and nobody else can reach this service.
		PerIdentity: rate.Inf,
	}})
	if err != nil {
		return fmt.Errorf("mtls: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("mtls: listen for the certify service: %w", err)
	}
	p.certifyAddr = ln.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	p.stop = func() { srv.Stop(); <-done }
	return nil
}

// close stops the Certify service.
func (p *meshPKI) close() {
	if p != nil && p.stop != nil {
		p.stop()
	}
}

// proxyEnv is the identity environment of a `meshctl proxy` proving name:
// what the injected pod spec sets in a cluster, pointing at the loopback
// Certify service (which the proxy reaches without TLS, as the identity
// controller's own proxy does).
func (p *meshPKI) proxyEnv(name string) []string {
	return []string{
		meshapi.EnvProxyIdentityLocalName + "=" + name,
		meshapi.EnvProxyIdentityTrustAnchors + "=" + string(p.anchorsPEM),
		meshapi.EnvProxyIdentityTokenFile + "=" + p.tokens[name],
		meshapi.EnvProxyIdentitySvcAddr + "=" + p.certifyAddr,
		meshapi.EnvProxyIdentitySvcName + "=" + meshapi.IdentityName(meshapi.ComponentName(meshapi.ComponentIdentity), meshapi.DefaultNamespace, meshapi.DefaultNamespace, meshapi.DefaultTrustDomain),
	}
}

// issueFiles signs a workload certificate for name with a fresh ECDSA P-256
// key, through the same IssueLeaf the identity controller uses (server and
// client authentication, one DNS name), and writes it as <stem>.crt (leaf
// and issuer), <stem>.key and <stem>.pem (both), keys readable by the owner only.
func (p *meshPKI) issueFiles(issuer *identity.CA, name, stem string, now time.Time) (certFiles, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return certFiles{}, fmt.Errorf("mtls: generate key: %w", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, key)
	if err != nil {
		return certFiles{}, fmt.Errorf("mtls: create csr: %w", err)
	}
	csr, err := identity.ParseCSR(der)
	if err != nil {
		return certFiles{}, fmt.Errorf("mtls: %w", err)
	}
	leafDER, err := issuer.IssueLeaf(csr, certLifetime, identity.ClockSkew, now)
	if err != nil {
		return certFiles{}, fmt.Errorf("mtls: issue %s: %w", name, err)
	}
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return certFiles{}, fmt.Errorf("mtls: %w", err)
	}
	chain := identity.EncodeCertificates([]*x509.Certificate{leaf, issuer.Cert})
	keyPEM, err := identity.EncodePrivateKey(key)
	if err != nil {
		return certFiles{}, fmt.Errorf("mtls: %w", err)
	}
	f := certFiles{
		Chain:    filepath.Join(p.dir, stem+".crt"),
		Key:      filepath.Join(p.dir, stem+".key"),
		Combined: filepath.Join(p.dir, stem+".pem"),
	}
	if err := os.WriteFile(f.Chain, chain, 0o644); err != nil {
		return certFiles{}, fmt.Errorf("mtls: %w", err)
	}
	if err := writeSecret(f.Key, keyPEM); err != nil {
		return certFiles{}, err
	}
	if err := writeSecret(f.Combined, append(append([]byte{}, chain...), keyPEM...)); err != nil {
		return certFiles{}, err
	}
	return f, nil
}

// writeSecret writes data to a new file only its owner can read. An old
// file of that name (a reused --work-dir) is removed first, so its mode
// cannot carry over.
func writeSecret(path string, data []byte) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("mtls: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("mtls: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("mtls: write %s: %w", path, err)
	}
	return nil
}

// randomToken returns 256 random bits, hex encoded.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("mtls: generate token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// tokenReviewer stands in for the API server's TokenReview in the bench's
// mesh: a token the bench wrote proves its fixed ServiceAccount, for the
// identity audience only; anything else is not authenticated.
type tokenReviewer struct {
	// accounts maps a token to "system:serviceaccount:<ns>:<name>".
	accounts map[string]string
}

// Review implements ctlidentity.TokenReviewer.
func (r tokenReviewer) Review(_ context.Context, token, audience string) (ctlidentity.ReviewResult, error) {
	if audience != meshapi.TokenAudience {
		return ctlidentity.ReviewResult{Error: "token not valid for audience " + audience}, nil
	}
	for known, user := range r.accounts {
		if subtle.ConstantTimeCompare([]byte(known), []byte(token)) == 1 {
			return ctlidentity.ReviewResult{Authenticated: true, Username: user, Audiences: []string{audience}}, nil
		}
	}
	return ctlidentity.ReviewResult{Error: "unknown token"}, nil
}
