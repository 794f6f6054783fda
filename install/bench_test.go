package install

import (
	"context"
	"io"
	"testing"
)

// BenchmarkRenderControlPlane measures `meshctl install` (offline) with
// fixed certificates: values, templates and encoding, no key generation.
func BenchmarkRenderControlPlane(b *testing.B) {
	o := offline(b)
	for b.Loop() {
		if err := Render(context.Background(), o, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderControlPlaneGenerated includes generating the trust
// anchor, issuer and webhook certificates, as a real install does.
func BenchmarkRenderControlPlaneGenerated(b *testing.B) {
	o := Options{}
	for b.Loop() {
		if err := Render(context.Background(), o, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderCRDs measures `meshctl install --crds`.
func BenchmarkRenderCRDs(b *testing.B) {
	o := offline(b)
	o.CRDs = true
	for b.Loop() {
		if err := Render(context.Background(), o, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
