package mtls

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	identityv1 "github.com/meshctl/meshctl/pkg/api/identity/v1"
	"github.com/meshctl/meshctl/pkg/identity"
)

// LocalIssuer is an identity client that signs in process with a CA it
// holds, trusting the requested name without a token review. It serves
// tests and a mesh run without Kubernetes, never a cluster: there the
// identity controller proves each name with a TokenReview.
type LocalIssuer struct {
	// Issuer signs the leaves; Chain are the DER certificates sent with
	// them (the issuer's own, up to but excluding the anchor).
	Issuer *identity.CA
	Chain  [][]byte
	// Lifetime of the leaves; zero means 24h.
	Lifetime time.Duration
}

// Certify implements identityv1.IdentityClient.
func (l LocalIssuer) Certify(_ context.Context, req *identityv1.CertifyRequest, _ ...grpc.CallOption) (*identityv1.CertifyResponse, error) {
	csr, err := identity.ParseCSR(req.GetCertificateSigningRequest())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := identity.ValidateCSR(csr, req.GetIdentity()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	lifetime := l.Lifetime
	if lifetime <= 0 {
		lifetime = 24 * time.Hour
	}
	now := time.Now()
	der, err := l.Issuer.IssueLeaf(csr, lifetime, 20*time.Second, now)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &identityv1.CertifyResponse{
		LeafCertificate:          der,
		IntermediateCertificates: l.Chain,
		ValidUntil:               timestamppb.New(now.Add(lifetime)),
	}, nil
}
