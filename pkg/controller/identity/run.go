package identity

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	identityv1 "github.com/meshctl/meshctl/pkg/api/identity/v1"
	"github.com/meshctl/meshctl/pkg/controller"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// Config configures the identity controller. The zero value is usable.
type Config struct {
	// Config holds the settings every component shares.
	controller.Config
	// GRPCAddr is the Certify service's listen address; empty means
	// :meshapi.IdentityGRPCPort. Ignored when GRPCListener is set.
	GRPCAddr string
	// GRPCListener, when set, is used instead of listening on GRPCAddr
	// (tests). Run closes it.
	GRPCListener net.Listener
	// TrustDomain of identity names; empty means meshapi.DefaultTrustDomain.
	TrustDomain string
	// Lifetime of issued certificates and the clock-skew allowance they
	// are backdated by; zero means 24h and 20s.
	Lifetime, ClockSkew time.Duration
}

// Deps are the identity controller's collaborators; see controller.Deps.
// Kube is required.
type Deps = controller.Deps

// ReadyIssuer is the readiness condition met once a valid issuer is loaded.
const ReadyIssuer = "issuer"

// Spec describes the identity controller.
func Spec() controller.Spec {
	return controller.Spec{
		Component: meshapi.ComponentIdentity,
		Capabilities: []controller.Capability{{
			Name:        "certificate-signing",
			Description: fmt.Sprintf("certificate signing (gRPC :%d)", meshapi.IdentityGRPCPort),
			Implemented: true,
		}},
	}
}

// Run serves the Certify service and the admin endpoints until ctx is
// cancelled and returns nil after a clean shutdown. It is ready once a
// valid issuer is loaded; until then Certify answers Unavailable.
func Run(ctx context.Context, cfg Config, deps Deps) error {
	cfg = cfg.withDefaults()
	deps, log, cs, err := deps.Prepare(meshapi.ComponentIdentity)
	if err != nil {
		return err
	}
	ready := deps.Readiness
	ready.Set(ReadyIssuer, false, "no issuer loaded yet")

	store := &IssuerStore{}
	m, err := newMetrics(deps.Registry, store.Expiry, time.Now)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	events := newIssuerEvents(cs, cfg.MeshNamespace)
	alarm := &expiryAlarm{ready: ready, expiry: store.Expiry, now: time.Now}
	defer alarm.stop()
	reloader := &IssuerReloader{
		Client:    cs,
		Namespace: cfg.MeshNamespace,
		Store:     store,
		Log:       log,
		OnRefused: func(err error) {
			m.issuerRefused.Inc()
			events.refused(ctx, err)
			if store.CA() == nil {
				ready.Set(ReadyIssuer, false, err.Error())
			}
		},
		OnLoaded: func(expiry time.Time) {
			ready.Set(ReadyIssuer, true, "issuer valid until "+expiry.UTC().Format(time.RFC3339))
			alarm.loaded(expiry)
		},
	}
	svc := &Service{
		certifier: &Certifier{
			Issuer:        store.CA,
			Reviewer:      KubeTokenReviewer{Client: cs.AuthenticationV1()},
			MeshNamespace: cfg.MeshNamespace,
			TrustDomain:   cfg.TrustDomain,
			Lifetime:      cfg.Lifetime,
			ClockSkew:     cfg.ClockSkew,
		},
		metrics: m,
		log:     log,
		now:     time.Now,
	}

	srv := newGRPCServer()
	identityv1.RegisterIdentityServer(srv, svc)
	stopGRPC, addr, err := controller.StartGRPC(ctx, srv, cfg.GRPCListener, cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	rctx, stopReload := context.WithCancel(ctx)
	defer stopReload()
	go reloader.Run(rctx)
	log.Info("certify service listening", "addr", addr.String(), "trust_domain", cfg.TrustDomain, "lifetime", cfg.Lifetime.String())

	err = controller.Serve(ctx, Spec(), cfg.Config, deps)
	stopReload()
	if gerr := stopGRPC(); gerr != nil && err == nil {
		err = fmt.Errorf("identity: certify service: %w", gerr)
	}
	return err
}

// newGRPCServer bounds what one client can make the server hold: message
// sizes, concurrent streams, idle connections and handshake time.
func newGRPCServer() *grpc.Server {
	return grpc.NewServer(
		grpc.MaxRecvMsgSize(MaxMessageBytes),
		grpc.MaxSendMsgSize(MaxMessageBytes),
		grpc.MaxConcurrentStreams(64),
		grpc.ConnectionTimeout(10*time.Second),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 5 * time.Minute}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second}),
	)
}

func (c Config) withDefaults() Config {
	if c.MeshNamespace == "" {
		c.MeshNamespace = meshapi.DefaultNamespace
	}
	if c.GRPCAddr == "" {
		c.GRPCAddr = net.JoinHostPort("", strconv.Itoa(meshapi.IdentityGRPCPort))
	}
	if c.TrustDomain == "" {
		c.TrustDomain = meshapi.DefaultTrustDomain
	}
	if c.Lifetime <= 0 {
		c.Lifetime = 24 * time.Hour
	}
	if c.ClockSkew <= 0 {
		c.ClockSkew = 20 * time.Second
	}
	return c
}
