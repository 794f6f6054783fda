package discovery

import (
	"log/slog"
	"net/netip"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/keepalive"
)

// Defaults of Options.
const (
	DefaultInitialTimeout = 3 * time.Second
	DefaultIdleTimeout    = 5 * time.Minute
	DefaultMaxTargets     = 10000
	DefaultMinBackoff     = 100 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
	// MaxSnapshotBytes bounds one snapshot received, as the controller
	// bounds what it sends.
	MaxSnapshotBytes = 4 << 20
)

// DefaultClusterNetworks are the networks whose addresses are asked about,
// as Linkerd's defaults: the private IPv4 ranges, CGNAT and IPv6 ULAs.
func DefaultClusterNetworks() []netip.Prefix {
	return []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("100.64.0.0/10"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("fd00::/8"),
	}
}

// Options configure a Client. Zero fields take the defaults above.
type Options struct {
	// Namespace is the proxy's own namespace, sent with every request.
	Namespace string
	// InitialTimeout bounds how long a Resolve waits for a target's first
	// snapshot before it fails.
	InitialTimeout time.Duration
	// ClusterNetworks are the networks the controller may know; targets
	// outside them resolve to themselves without asking. Nil means
	// DefaultClusterNetworks().
	ClusterNetworks []netip.Prefix
	// IdleTimeout is how long a target may go unresolved before its
	// stream is closed and its snapshot forgotten.
	IdleTimeout time.Duration
	// MaxTargets bounds the targets watched at once; beyond it the least
	// recently used is forgotten.
	MaxTargets int
	// MinBackoff and MaxBackoff bound the jittered, doubling wait before a
	// broken stream is reopened.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives stream failures; nil discards them.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.InitialTimeout <= 0 {
		o.InitialTimeout = DefaultInitialTimeout
	}
	if o.ClusterNetworks == nil {
		o.ClusterNetworks = DefaultClusterNetworks()
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxTargets <= 0 {
		o.MaxTargets = DefaultMaxTargets
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// DialOptions are the connection settings recommended for the
// controller's address, to add to the transport credentials: keepalive
// pings (within the controller's enforcement policy) so a dead controller
// is noticed, and a reconnect backoff capped at 10s.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 500 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 10 * time.Second},
			MinConnectTimeout: 5 * time.Second,
		}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxSnapshotBytes)),
	}
}
