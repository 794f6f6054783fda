package injector

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// certReloader serves the certificate in dir (tls.crt, tls.key) and loads
// it again when the files change, checking at most once per interval.
type certReloader struct {
	dir      string
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string
	checked time.Time
}

func newCertReloader(dir string) (*certReloader, error) {
	r := &certReloader{dir: dir, interval: time.Second, now: time.Now}
	if err := r.reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// stampOf identifies the current files: size and modification time of
// both, which change when the kubelet swaps a Secret volume.
func (r *certReloader) stampOf() (string, error) {
	var s string
	for _, f := range []string{"tls.crt", "tls.key"} {
		fi, err := os.Stat(filepath.Join(r.dir, f))
		if err != nil {
			return "", err
		}
		s += fmt.Sprintf("%s:%d:%d;", f, fi.Size(), fi.ModTime().UnixNano())
	}
	return s, nil
}

func (r *certReloader) reload() error {
	stamp, err := r.stampOf()
	if err != nil {
		return fmt.Errorf("read the serving certificate in %s: %w", r.dir, err)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(r.dir, "tls.crt"), filepath.Join(r.dir, "tls.key"))
	if err != nil {
		return fmt.Errorf("load the serving certificate in %s: %w", r.dir, err)
	}
	r.mu.Lock()
	r.cert, r.stamp, r.checked = &cert, stamp, r.now()
	r.mu.Unlock()
	return nil
}

// GetCertificate is tls.Config.GetCertificate: the current certificate,
// reloaded first when the files changed. A failed reload keeps serving the
// previous certificate.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	due := r.now().Sub(r.checked) >= r.interval
	if due {
		r.checked = r.now()
	}
	current, stamp := r.cert, r.stamp
	r.mu.Unlock()
	if due {
		if s, err := r.stampOf(); err == nil && s != stamp {
			if err := r.reload(); err == nil {
				r.mu.Lock()
				current = r.cert
				r.mu.Unlock()
			}
		}
	}
	return current, nil
}

// tlsConfig is the webhook's TLS configuration: 1.2 at least (the API
// server speaks 1.3), certificate from r.
func tlsConfig(r *certReloader) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}
