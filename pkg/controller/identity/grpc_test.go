package identity

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	identityv1 "github.com/meshctl/meshctl/pkg/api/identity/v1"
)

// startService serves a Service over a real gRPC server on loopback and
// returns a client for it.
func startService(t testing.TB, c *Certifier) (identityv1.IdentityClient, *metrics) {
	t.Helper()
	m, err := newMetrics(prometheus.NewRegistry(), func() time.Time { return time.Time{} }, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	srv := newGRPCServer()
	identityv1.RegisterIdentityServer(srv, &Service{certifier: c, metrics: m, log: slog.New(slog.DiscardHandler), now: time.Now})
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
	return identityv1.NewIdentityClient(conn), m
}

func TestServiceStatusCodes(t *testing.T) {
	c, _ := newCertifier(t)
	client, m := startService(t, c)
	tests := []struct {
		name   string
		req    *identityv1.CertifyRequest
		code   codes.Code
		reason string
	}{
		{"issued", &identityv1.CertifyRequest{Identity: webID, Token: []byte("web"), CertificateSigningRequest: csrFor(t, webID)}, codes.OK, ""},
		{"no token", &identityv1.CertifyRequest{Identity: webID, CertificateSigningRequest: csrFor(t, webID)}, codes.Unauthenticated, ReasonNoToken},
		{"forged token", &identityv1.CertifyRequest{Identity: webID, Token: []byte("forged"), CertificateSigningRequest: csrFor(t, webID)}, codes.Unauthenticated, ReasonUnauthentic},
		{"other identity", &identityv1.CertifyRequest{Identity: "admin.shop.serviceaccount.identity.meshctl.cluster.local", Token: []byte("web"), CertificateSigningRequest: csrFor(t, webID)}, codes.PermissionDenied, ReasonIdentityMismatch},
		{"bad csr", &identityv1.CertifyRequest{Identity: webID, Token: []byte("web"), CertificateSigningRequest: []byte("junk")}, codes.InvalidArgument, ReasonBadCSR},
		{"oversized token", &identityv1.CertifyRequest{Identity: webID, Token: make([]byte, maxTokenBytes+1), CertificateSigningRequest: csrFor(t, webID)}, codes.InvalidArgument, ReasonBadCSR},
		{"review down", &identityv1.CertifyRequest{Identity: webID, Token: []byte("api-down"), CertificateSigningRequest: csrFor(t, webID)}, codes.Unavailable, ReasonReviewFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := testutil.ToFloat64(m.rejected.WithLabelValues(tt.reason))
			resp, err := client.Certify(context.Background(), tt.req)
			if got := status.Code(err); got != tt.code {
				t.Fatalf("code = %s (%v), want %s", got, err, tt.code)
			}
			if tt.code == codes.OK {
				if len(resp.GetLeafCertificate()) == 0 || len(resp.GetIntermediateCertificates()) != 1 || resp.GetValidUntil() == nil {
					t.Fatalf("incomplete response %v", resp)
				}
				return
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("status %q does not name the reason %q", err, tt.reason)
			}
			if after := testutil.ToFloat64(m.rejected.WithLabelValues(tt.reason)); after != before+1 {
				t.Fatalf("rejected{reason=%q} went %v -> %v", tt.reason, before, after)
			}
		})
	}
	if got := testutil.ToFloat64(m.issued); got != 1 {
		t.Fatalf("issued = %v, want 1", got)
	}
}

func TestServiceRefusesOversizedMessages(t *testing.T) {
	c, _ := newCertifier(t)
	client, _ := startService(t, c)
	_, err := client.Certify(context.Background(), &identityv1.CertifyRequest{Token: make([]byte, MaxMessageBytes+1)})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("oversized message: %v, want ResourceExhausted", err)
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{EnvTrustDomain: "example.org", EnvLifetime: "12h", EnvClockSkew: "oops"}
	cfg, err := FromEnv(Config{}, func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), EnvClockSkew) {
		t.Fatalf("err = %v, want one naming %s", err, EnvClockSkew)
	}
	if cfg.TrustDomain != "example.org" || cfg.Lifetime != 12*time.Hour {
		t.Fatalf("cfg = %+v", cfg)
	}
}

func TestRunNeedsKube(t *testing.T) {
	err := Run(context.Background(), Config{}, Deps{})
	if err == nil || !strings.Contains(err.Error(), "no Kubernetes client") {
		t.Fatalf("Run without a client: %v", err)
	}
}
