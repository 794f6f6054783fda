package identity

import (
	"context"
	"testing"

	"golang.org/x/time/rate"

	identityv1 "github.com/meshctl/meshctl/pkg/api/identity/v1"
)

// BenchmarkCertifyGRPC measures the Certify service over real gRPC on
// loopback: CSR parsing and validation, signing, and the round trip. The
// token review is a fake, so the API server's share is not included (the
// e2e identity test measures it on the real cluster).
//
//	go test -run '^$' -bench CertifyGRPC -benchtime 2000x ./pkg/controller/identity/
func BenchmarkCertifyGRPC(b *testing.B) {
	c, _ := newCertifier(b)
	c.PerIdentity, c.Burst = rate.Inf, 1
	client, _ := startService(b, c)
	req := &identityv1.CertifyRequest{Identity: webID, Token: []byte("web"), CertificateSigningRequest: csrFor(b, webID)}
	b.ResetTimer()
	for b.Loop() {
		if _, err := client.Certify(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
