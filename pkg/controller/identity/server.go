package identity

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	identityv1 "github.com/meshctl/meshctl/pkg/api/identity/v1"
)

// ServiceOptions configure a Certify service served outside Run.
type ServiceOptions struct {
	// Certifier signs the certificates; its Reviewer decides which
	// ServiceAccount a token proves. Required, with a Reviewer.
	Certifier *Certifier
	// Registry receives the service's metrics (the controller's names);
	// nil registers them on a private registry.
	Registry prometheus.Registerer
	// Log receives one line per issued or refused certificate; nil discards.
	Log *slog.Logger
}

// NewServer returns a gRPC server carrying the Certify service of
// o.Certifier, with the controller's own bounds (message sizes, concurrent
// streams, idle connections, handshake time) and metrics. The caller
// serves it on a listener of its choice and stops it.
//
// It exists for a mesh without Kubernetes: meshctl bench certifies its
// loopback proxies with a reviewer that knows only the tokens it wrote.
// Run does not use it and cannot be told to: a cluster's identity
// controller always reviews tokens with KubeTokenReviewer (a TokenReview
// for meshapi.TokenAudience). Whatever the reviewer, the Certifier still
// refuses a token not reviewed for that audience or not naming a
// ServiceAccount, and derives the identity from the reviewed account.
func NewServer(o ServiceOptions) (*grpc.Server, error) {
	if o.Certifier == nil || o.Certifier.Reviewer == nil {
		return nil, errors.New("identity: a certifier with a token reviewer is required")
	}
	reg := o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := o.Certifier
	expiry := func() time.Time {
		if ca := c.issuer(); ca != nil {
			return ca.Cert.NotAfter
		}
		return time.Time{}
	}
	m, err := newMetrics(reg, expiry, time.Now)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	srv := newGRPCServer()
	identityv1.RegisterIdentityServer(srv, &Service{certifier: c, metrics: m, log: log, now: time.Now})
	return srv, nil
}
