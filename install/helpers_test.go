package install

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fixedNow is the clock of every golden render: the test certificates are
// valid then.
func fixedNow() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

func cert(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "certs", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixedCerts returns the CertSource of the goldens.
func fixedCerts(t testing.TB) FixedCerts {
	return FixedCerts{
		AnchorCert: cert(t, "anchor.crt"), AnchorKey: cert(t, "anchor.key"),
		IssuerCert: cert(t, "issuer.crt"), IssuerKey: cert(t, "issuer.key"),
		WebhookCA: cert(t, "anchor.crt"), WebhookCrt: cert(t, "leaf.crt"), WebhookKey: cert(t, "leaf.key"),
		Tap: "test-tap-token",
	}
}

// offline returns Options for a reproducible offline render.
func offline(t testing.TB) Options {
	return Options{Certs: fixedCerts(t), Now: fixedNow, Version: "v0.0.0-test"}
}

func certPath(name string) string { return filepath.Join("testdata", "certs", name) }
