package proxy

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshctl/meshctl/pkg/netutil"
	"github.com/meshctl/meshctl/pkg/proxy/profile"
)

// Direction says which way a connection flows through the proxy.
type Direction string

// The two directions, as used in metric labels.
const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// Target is what a connection or request asked for.
type Target struct {
	// Addr is the original destination of the connection.
	Addr netip.AddrPort
	// Authority is the HTTP authority of a request, empty for opaque TCP.
	Authority string
}

// Endpoint is one place a target may be served from.
type Endpoint struct {
	Addr netip.AddrPort
	// Weight is the relative share of traffic; zero means 1.
	Weight uint32
	// Identity is the TLS identity the endpoint must prove, empty when the
	// endpoint is not meshed (plaintext).
	Identity string
	// Labels are added to outbound metrics (dst_namespace, dst_service, …).
	Labels map[string]string
	// Protocol is what the destination knows of how the endpoint treats
	// the bytes it is sent; the zero value knows nothing.
	Protocol EndpointProtocol

	// text is Addr formatted, set in the lists the proxy keeps for many
	// requests (configuredEndpoints), so that requests' URLs do not
	// format it each time.
	text string
}

// addrText is e.Addr formatted.
func (e Endpoint) addrText() string {
	if e.text != "" {
		return e.text
	}
	return e.Addr.String()
}

// EndpointProtocol is a destination's hint about an endpoint's port.
type EndpointProtocol uint8

const (
	// EndpointDetect: nothing is known; the bytes are sent as they came.
	EndpointDetect EndpointProtocol = iota
	// EndpointOpaque: the endpoint's proxy treats the port as opaque TCP.
	EndpointOpaque
	// EndpointH2: the endpoint's proxy detects HTTP on the port and takes
	// HTTP/1 requests carried over HTTP/2 (marked with HeaderOrigProto),
	// so this proxy multiplexes them on one connection per endpoint.
	EndpointH2
)

// Destination answers "where does this go, and who should answer". The
// destination controller implements it later; Passthrough is the default.
type Destination interface {
	Resolve(ctx context.Context, t Target) ([]Endpoint, error)
}

// Profiles is implemented by a Destination that also knows the route
// configuration of targets (the destination controller's ServiceProfiles).
// The proxy asks it for every HTTP request, on both sides: outbound for
// the Service the request goes to, inbound for the pod's own Service.
type Profiles interface {
	// Profile returns the routes of t, nil when none apply. It may wait,
	// bounded, for the target's first answer.
	Profile(ctx context.Context, t Target) *profile.Profile
}

// Passthrough resolves every target to its original destination.
type Passthrough struct{}

// Resolve returns the target's own address.
func (Passthrough) Resolve(_ context.Context, t Target) ([]Endpoint, error) {
	return []Endpoint{{Addr: t.Addr}}, nil
}

// TLS provides the proxy's certificates: the hook where automatic mTLS
// plugs in. A nil *tls.Config means plaintext.
type TLS interface {
	// LocalName is the identity this proxy proves; inbound TLS whose SNI
	// names it is terminated here, other TLS is the application's own and
	// passes through. Empty for plaintext.
	LocalName() string
	// ServerConfig is used on inbound connections that start a TLS handshake.
	ServerConfig() *tls.Config
	// ClientConfig is used towards an endpoint that must prove identity;
	// nil exactly when LocalName is empty.
	ClientConfig(identity string) *tls.Config
}

// Waiter is implemented by TLS providers that need time before they can
// serve (a certificate to obtain). The proxy neither listens nor reports
// ready until Ready is closed: no plaintext fallback.
type Waiter interface {
	Ready() <-chan struct{}
}

// CertificateHolder is implemented by TLS providers that hold a workload
// certificate; the admin server's /identity shows it (public data only).
type CertificateHolder interface {
	Certificate() *tls.Certificate
}

// Plaintext is the TLS provider used when identity is disabled.
type Plaintext struct{}

// LocalName returns "": no identity.
func (Plaintext) LocalName() string { return "" }

// ServerConfig returns nil: no TLS.
func (Plaintext) ServerConfig() *tls.Config { return nil }

// ClientConfig returns nil: no TLS.
func (Plaintext) ClientConfig(string) *tls.Config { return nil }

// Peer describes the client of an inbound connection.
type Peer struct {
	Addr netip.AddrPort
	// Identity is the verified TLS identity, empty for plaintext clients.
	Identity string
}

// InboundPolicy decides whether a peer may reach a local port. The policy
// controller implements it later; AllowAll is the default.
type InboundPolicy interface {
	Authorize(ctx context.Context, p Peer, port uint16) error
}

// AllowAll authorizes every connection.
type AllowAll struct{}

// Authorize always allows.
func (AllowAll) Authorize(context.Context, Peer, uint16) error { return nil }

// Deps are the proxy's pluggable parts; nil fields take the defaults above.
type Deps struct {
	Destination Destination
	TLS         TLS
	Policy      InboundPolicy
	// Registry receives the proxy's metrics; nil means a fresh registry.
	// Pass one to add other components' metrics (identity) to /metrics.
	Registry *prometheus.Registry
	// OriginalDst recovers the destination a redirected connection was
	// dialled to. Nil means SO_ORIGINAL_DST (netutil.OriginalDstOf).
	OriginalDst func(net.Conn) (netip.AddrPort, error)
	// LogLevel is the level of the logger given to New, which the admin
	// endpoint /proxy-log-level reads and sets; nil means the level is
	// fixed and the endpoint says so.
	LogLevel *slog.LevelVar
}

func (d Deps) withDefaults() Deps {
	if d.Destination == nil {
		d.Destination = Passthrough{}
	}
	if d.TLS == nil {
		d.TLS = Plaintext{}
	}
	if d.Policy == nil {
		d.Policy = AllowAll{}
	}
	if d.OriginalDst == nil {
		d.OriginalDst = netutil.OriginalDstOf
	}
	return d
}
