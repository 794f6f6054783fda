package identity

import (
	"context"
	"crypto/x509"
	"net"
	"testing"

	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	identityv1 "github.com/meshctl/meshctl/pkg/api/identity/v1"
)

// TestNewServer serves a Certifier through the exported constructor: the
// reviewer's verdicts and the Certifier's own checks (audience, identity
// derived from the reviewed account) hold as in the controller.
func TestNewServer(t *testing.T) {
	if _, err := NewServer(ServiceOptions{}); err == nil {
		t.Fatal("a server without a certifier was built")
	}
	if _, err := NewServer(ServiceOptions{Certifier: &Certifier{}}); err == nil {
		t.Fatal("a server without a token reviewer was built")
	}
	c, issuer := newCertifier(t)
	c.PerIdentity = rate.Inf
	srv, err := NewServer(ServiceOptions{Certifier: c})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := identityv1.NewIdentityClient(conn)

	resp, err := client.Certify(context.Background(), &identityv1.CertifyRequest{Identity: webID, Token: []byte("web"), CertificateSigningRequest: csrFor(t, webID)})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(resp.GetLeafCertificate())
	if err != nil || leaf.CheckSignatureFrom(issuer.Cert) != nil || leaf.DNSNames[0] != webID {
		t.Fatalf("issued %v (%v)", leaf, err)
	}
	for token, want := range map[string]codes.Code{"forged": codes.Unauthenticated, "other-aud": codes.Unauthenticated, "user": codes.Unauthenticated} {
		_, err := client.Certify(context.Background(), &identityv1.CertifyRequest{Identity: webID, Token: []byte(token), CertificateSigningRequest: csrFor(t, webID)})
		if status.Code(err) != want {
			t.Errorf("token %q: %v, want %s", token, err, want)
		}
	}
}
