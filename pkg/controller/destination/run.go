package destination

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	destinationv1 "github.com/meshctl/meshctl/pkg/api/destination/v1"
	"github.com/meshctl/meshctl/pkg/controller"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// Config configures the destination controller. The zero value is usable.
type Config struct {
	// Config holds the settings every component shares.
	controller.Config
	// GRPCAddr is the Destination service's listen address; empty means
	// :meshapi.DestinationGRPCPort. Ignored when GRPCListener is set.
	GRPCAddr string
	// GRPCListener, when set, is used instead of listening on GRPCAddr
	// (tests). Run closes it.
	GRPCListener net.Listener
	// TrustDomain of identity names; empty means meshapi.DefaultTrustDomain.
	TrustDomain string
	// MaxStreams bounds the Get streams open at once; zero means
	// DefaultMaxStreams.
	MaxStreams int
	// ClusterDomain is the cluster's DNS suffix; empty means
	// meshapi.DefaultClusterDomain.
	ClusterDomain string
}

// Deps are the destination controller's collaborators; see
// controller.Deps. Kube is required.
type Deps = controller.Deps

// ReadySynced is the readiness condition met once the Pod, Service and
// EndpointSlice caches hold a full view of the cluster.
const ReadySynced = "caches-synced"

// MaxRecvBytes bounds a request (a target and a namespace); MaxSendBytes
// bounds one snapshot, room for some ten thousand endpoints.
const (
	MaxRecvBytes = 16 << 10
	MaxSendBytes = 4 << 20
)

// Spec describes the destination controller.
func Spec() controller.Spec {
	return controller.Spec{
		Component: meshapi.ComponentDestination,
		Capabilities: []controller.Capability{{
			Name:        "endpoint-discovery",
			Description: fmt.Sprintf("endpoint and identity discovery (gRPC :%d)", meshapi.DestinationGRPCPort),
			Implemented: true,
		}},
	}
}

// Run serves the Destination service and the admin endpoints until ctx is
// cancelled and returns nil after a clean shutdown. It is ready once its
// caches are synced; until then Get answers Unavailable.
func Run(ctx context.Context, cfg Config, deps Deps) error {
	cfg = cfg.withDefaults()
	deps, log, cs, err := deps.Prepare(meshapi.ComponentDestination)
	if err != nil {
		return err
	}
	ready := deps.Readiness
	ready.Set(ReadySynced, false, "pod, service and endpointslice caches not synced yet")

	dyn, err := deps.Kube.Dynamic()
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	src, err := NewKubeSource(cs, dyn)
	if err != nil {
		return err
	}
	sctx, stopSource := context.WithCancel(ctx)
	defer func() { stopSource(); src.Shutdown() }()
	src.Start(sctx)
	synced := make(chan struct{})
	go func() {
		if src.WaitForSync(sctx) {
			close(synced)
			ready.Set(ReadySynced, true, "caches synced")
			log.Info("caches synced")
		}
	}()
	isSynced := func() bool {
		select {
		case <-synced:
			return true
		default:
			return false
		}
	}
	svc, err := NewServer(ServerOptions{
		Resolver: Resolver{
			Source: src, MeshNamespace: cfg.MeshNamespace, TrustDomain: cfg.TrustDomain, ClusterDomain: cfg.ClusterDomain,
			OnProfileError: newWarnOnce(log, maxProfileWarnings).profileError,
		},
		Synced:     isSynced,
		MaxStreams: cfg.MaxStreams,
		Registerer: deps.Registry,
		Logger:     log,
	})
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}

	srv := NewGRPCServer()
	destinationv1.RegisterDestinationServer(srv, svc)
	stopGRPC, addr, err := controller.StartGRPC(ctx, srv, cfg.GRPCListener, cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	log.Info("destination service listening", "addr", addr.String(), "trust_domain", cfg.TrustDomain)

	err = controller.Serve(ctx, Spec(), cfg.Config, deps)
	// Streams live until their clients leave: end them, then give the
	// server a moment to flush before cutting connections.
	svc.Close()
	if gerr := stopGRPC(); gerr != nil && err == nil {
		err = fmt.Errorf("destination: destination service: %w", gerr)
	}
	return err
}

// NewGRPCServer returns a gRPC server bounded for the Destination service:
// message sizes, concurrent streams per connection, handshake time, and
// keepalive so the streams of a vanished proxy are reclaimed.
func NewGRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append([]grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxRecvBytes),
		grpc.MaxSendMsgSize(MaxSendBytes),
		// One proxy opens one stream per target it talks to.
		grpc.MaxConcurrentStreams(1024),
		grpc.ConnectionTimeout(10 * time.Second),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	}, opts...)...)
}

func (c Config) withDefaults() Config {
	if c.MeshNamespace == "" {
		c.MeshNamespace = meshapi.DefaultNamespace
	}
	if c.GRPCAddr == "" {
		c.GRPCAddr = net.JoinHostPort("", strconv.Itoa(meshapi.DestinationGRPCPort))
	}
	if c.TrustDomain == "" {
		c.TrustDomain = meshapi.DefaultTrustDomain
	}
	if c.ClusterDomain == "" {
		c.ClusterDomain = meshapi.DefaultClusterDomain
	}
	return c
}
