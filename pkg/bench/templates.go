package bench

import (
	"bytes"
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"text/template"
)

// configFS holds the reference proxies' configuration templates.
//
//go:embed configs/*.tmpl
var configFS embed.FS

// refConfig is the data of one reference proxy's configuration.
type refConfig struct {
	Side     string // "A (outbound)" or "B (inbound)"
	Name     string // file stem, unique per side
	Scenario Scenario
	Dir      string
	Listen   string
	Target   string
	// H2In accepts HTTP/2 with prior knowledge; H2Out speaks it to Target.
	H2In, H2Out bool
	GRPC, TCP   bool
	// TLSIn terminates mutual TLS 1.3 on Listen (side B of an mTLS run);
	// TLSOut opens it to Target (side A). TLS names the side's files.
	TLSIn, TLSOut bool
	TLS           refTLS
}

// refTLS is one reference side's part of the mTLS hop.
type refTLS struct {
	// CA holds the trust anchors the peer's certificate must chain to.
	CA string
	// certFiles are this side's chain (leaf, issuer) and key.
	certFiles
	// ServerName is the identity side A requires of B's certificate.
	ServerName string
	// CipherSuite is the one TLS 1.3 suite offered and accepted: the one
	// Go's crypto/tls picks on AES-capable CPUs, so every pair encrypts
	// with the same cipher (OpenSSL would pick AES-256-GCM).
	CipherSuite string
}

// refCipherSuite is Go's TLS 1.3 choice on CPUs with AES instructions.
const refCipherSuite = "TLS_AES_128_GCM_SHA256"

// hops sets the protocol of each hop as in perf.md's topology: gRPC is
// HTTP/2 end to end; for plain h2 the client's side is h2c and the hops
// behind it HTTP/1.1 keep-alive (what both references do by default).
func (c refConfig) hops(outbound bool) refConfig {
	switch c.Scenario {
	case ScenarioGRPC:
		c.GRPC, c.H2In, c.H2Out = true, true, true
	case ScenarioH2:
		c.H2In = outbound
	case ScenarioTCP:
		c.TCP = true
	}
	return c
}

// withTLS turns on the mTLS hop of side A (outbound) or B with the run's
// certificates: A presents the client's, B the server's.
func (c refConfig) withTLS(pki *meshPKI, outbound bool) refConfig {
	if pki == nil {
		return c
	}
	c.TLS = refTLS{CA: pki.anchorsFile, certFiles: pki.server, ServerName: ServerIdentity(), CipherSuite: refCipherSuite}
	if outbound {
		c.TLSOut, c.TLS.certFiles = true, pki.client
	} else {
		c.TLSIn = true
	}
	return c
}

// executeConfig renders template name with data.
func executeConfig(name string, data refConfig) ([]byte, error) {
	t, err := template.ParseFS(configFS, "configs/"+name)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return b.Bytes(), nil
}

// renderConfig writes template name with data to dir/file and returns the path.
func renderConfig(name string, data refConfig, file string) (string, error) {
	b, err := executeConfig(name, data)
	if err != nil {
		return "", err
	}
	path := filepath.Join(data.Dir, file)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}
