package proxy

import (
	"encoding/pem"
	"net/http"
)

// serveIdentity writes the proxy's certificate chain as PEM: the leaf
// first, then the intermediates. Certificates are public; the private key
// never leaves the TLS provider. 404 when identity is disabled, 503 before
// the first certificate.
func (p *Proxy) serveIdentity(w http.ResponseWriter, _ *http.Request) {
	holder, ok := p.tlsProvider.(CertificateHolder)
	if !ok || p.tlsProvider.LocalName() == "" {
		http.Error(w, "identity is disabled on this proxy", http.StatusNotFound)
		return
	}
	cert := holder.Certificate()
	if cert == nil {
		http.Error(w, "no certificate yet: waiting for the identity service", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	for _, der := range cert.Certificate {
		_ = pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
}
