package identity

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	identityv1 "github.com/meshctl/meshctl/pkg/api/identity/v1"
)

// Bounds on one Certify request. A P-256 CSR is about 250 bytes and a
// projected token about 1 KiB; the limits leave generous room and no more.
const (
	maxTokenBytes = 16 << 10
	maxCSRBytes   = 8 << 10
	// maxIdentityBytes bounds the requested name, which refusals echo to
	// the client and the log; the longest name a ServiceAccount can have
	// (253+63 bytes of account and namespace, 63 of mesh namespace, 253 of
	// trust domain, the fixed labels) is well under it.
	maxIdentityBytes = 1 << 10
	// MaxMessageBytes bounds a whole gRPC message on the identity server.
	MaxMessageBytes = 64 << 10
)

// certifyTimeout bounds one Certify call, the TokenReview included.
const certifyTimeout = 10 * time.Second

// Service is the gRPC face of a Certifier.
type Service struct {
	identityv1.UnimplementedIdentityServer
	certifier *Certifier
	metrics   *metrics
	log       *slog.Logger
	now       func() time.Time
}

// Certify implements identityv1.IdentityServer.
func (s *Service) Certify(ctx context.Context, req *identityv1.CertifyRequest) (*identityv1.CertifyResponse, error) {
	start := s.now()
	defer func() { s.metrics.latency.Observe(s.now().Sub(start).Seconds()) }()
	if len(req.GetToken()) > maxTokenBytes || len(req.GetCertificateSigningRequest()) > maxCSRBytes || len(req.GetIdentity()) > maxIdentityBytes {
		return nil, s.refuse(req, &RejectedError{Reason: ReasonBadCSR, Err: errors.New("token, CSR or identity too large")})
	}
	ctx, cancel := context.WithTimeout(ctx, certifyTimeout)
	defer cancel()
	issued, err := s.certifier.Certify(ctx, Request{
		Identity: req.GetIdentity(),
		Token:    string(req.GetToken()),
		CSR:      req.GetCertificateSigningRequest(),
	})
	if err != nil {
		return nil, s.refuse(req, err)
	}
	s.metrics.issued.Inc()
	s.log.Info("certificate issued", "identity", issued.Identity, "valid_until", issued.ValidUntil)
	return &identityv1.CertifyResponse{
		LeafCertificate:          issued.Leaf,
		IntermediateCertificates: issued.Chain,
		ValidUntil:               timestamppb.New(issued.ValidUntil),
	}, nil
}

// refuse counts and logs a refusal and turns it into a gRPC status. The
// status message names the reason but not the details of a token review,
// which stay in the controller's log.
func (s *Service) refuse(req *identityv1.CertifyRequest, err error) error {
	reason := ReasonOf(err)
	if reason == "" {
		reason = ReasonSigningFailed
	}
	s.metrics.rejected.WithLabelValues(reason).Inc()
	requested := req.GetIdentity()
	if len(requested) > maxIdentityBytes {
		// Refused for its size, so no more of it is worth a log line.
		requested = requested[:maxIdentityBytes] + "...(truncated)"
	}
	s.log.Warn("certificate refused", "requested", requested, "reason", reason, "error", err)
	return status.Errorf(codeOf(reason), "identity: certificate refused: %s: %v", reason, publicDetail(reason, err))
}

// codeOf maps a refusal reason to the gRPC code the client acts on:
// Unavailable and ResourceExhausted are retried, the rest are not.
func codeOf(reason string) codes.Code {
	switch reason {
	case ReasonNoToken, ReasonUnauthentic, ReasonAudience, ReasonNotSA:
		return codes.Unauthenticated
	case ReasonIdentityMismatch:
		return codes.PermissionDenied
	case ReasonBadCSR:
		return codes.InvalidArgument
	case ReasonRateLimited:
		return codes.ResourceExhausted
	case ReasonReviewFailed, ReasonNoIssuer:
		return codes.Unavailable
	default:
		return codes.Internal
	}
}

// publicDetail is what the client may learn: CSR problems are its own, the
// rest only by reason.
func publicDetail(reason string, err error) string {
	switch reason {
	case ReasonBadCSR, ReasonIdentityMismatch, ReasonAudience:
		var re *RejectedError
		if errors.As(err, &re) && re.Err != nil {
			return re.Err.Error()
		}
	}
	return reason
}
