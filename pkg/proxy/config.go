package proxy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/meshctl/meshctl/pkg/meshapi"
)

// Config is the proxy's effective configuration. The zero value of every
// field means the documented default; Defaults fills them in.
type Config struct {
	// InboundAddr is where redirected inbound connections arrive (default 0.0.0.0:4143).
	InboundAddr string `json:"inboundAddr"`
	// OutboundAddr is where redirected outbound connections arrive (default 127.0.0.1:4140).
	OutboundAddr string `json:"outboundAddr"`
	// AdminAddr serves /metrics, /ready, /live, /identity and, to loopback
	// clients only, /config (default 0.0.0.0:4191).
	AdminAddr string `json:"adminAddr"`
	// ControlAddr serves the tap stream (default 0.0.0.0:4190). It is bound
	// only when TapTokenSHA256 is set.
	ControlAddr string `json:"controlAddr"`
	// TapTokenSHA256 is the hex SHA-256 of the token a tap client must
	// present (header Meshctl-Tap-Token); empty disables tap. Only the hash
	// is configured, so the pod spec does not reveal the token; /config
	// does not show it either.
	TapTokenSHA256 string `json:"-"`
	// TapMaxStreams bounds the tap streams open at once (default 4).
	TapMaxStreams int `json:"tapMaxStreams"`

	// InboundTarget, when set, sends every inbound connection to this address
	// instead of its original destination (explicit-target mode, used outside
	// a pod: tests, benchmarks, the local demo).
	InboundTarget string `json:"inboundTarget,omitempty"`
	// OutboundTarget is the same for outbound connections.
	OutboundTarget string `json:"outboundTarget,omitempty"`
	// OutboundTargetIdentity, with OutboundTarget, is the identity the
	// target must prove over mTLS (a meshed peer outside a cluster). Such
	// a peer is a meshctl proxy, so HTTP/1 requests travel to it carried
	// over HTTP/2, as to a meshed pod.
	OutboundTargetIdentity string `json:"outboundTargetIdentity,omitempty"`

	// DefaultInboundPolicy decides who may connect to ports without a
	// policy of their own: all-unauthenticated (default), all-authenticated
	// (meshed clients only), cluster-unauthenticated, cluster-authenticated
	// (clients from ClusterNetworks, respectively meshed ones), or deny.
	DefaultInboundPolicy string `json:"defaultInboundPolicy"`
	// RequireIdentityPorts only accept meshed clients (mTLS): plaintext
	// connections are closed, plaintext HTTP requests answered 403.
	RequireIdentityPorts PortSet `json:"requireIdentityPorts"`
	// ClusterNetworks are the networks of the cluster-* policies (default
	// the private ranges: 10.0.0.0/8, 100.64.0.0/10, 172.16.0.0/12,
	// 192.168.0.0/16, fd00::/8).
	ClusterNetworks []netip.Prefix `json:"clusterNetworks"`

	// DetectTimeout bounds protocol detection; a client that has said nothing
	// by then is proxied as opaque TCP (default 10s, as Linkerd).
	DetectTimeout time.Duration `json:"detectTimeout"`
	// OpaquePorts are never protocol-detected: server-speaks-first protocols
	// such as MySQL or SMTP are proxied at once (default meshapi.DefaultOpaquePorts).
	OpaquePorts PortSet `json:"opaquePorts"`
	// ConnectTimeout bounds each upstream connection attempt (default 1s).
	ConnectTimeout time.Duration `json:"connectTimeout"`
	// IdleTimeout closes keep-alive connections idle this long (default 90s).
	IdleTimeout time.Duration `json:"idleTimeout"`
	// ReadHeaderTimeout bounds the reading of a request head (default 10s).
	ReadHeaderTimeout time.Duration `json:"readHeaderTimeout"`
	// MaxHeaderBytes bounds the size of a request head (default 64 KiB).
	MaxHeaderBytes int `json:"maxHeaderBytes"`
	// MaxConcurrentStreams bounds HTTP/2 streams per connection (default 250).
	MaxConcurrentStreams uint32 `json:"maxConcurrentStreams"`
	// ShutdownGracePeriod is how long in-flight work may drain after SIGTERM (default 30s).
	ShutdownGracePeriod time.Duration `json:"shutdownGracePeriod"`
	// WaitBeforeExit is how long the proxy keeps serving after SIGTERM
	// before it drains (default 0: drain at once). It is for proxies run
	// as plain containers, which Kubernetes stops together with the
	// application; a native sidecar is stopped after it anyway.
	WaitBeforeExit time.Duration `json:"waitBeforeExit"`
	// ShutdownEndpoint enables POST /shutdown on the admin server, loopback only.
	ShutdownEndpoint bool `json:"shutdownEndpoint"`
	// PprofEndpoint serves Go's runtime profiles under /debug/pprof/ on the
	// admin server, to loopback clients only (kubectl port-forward
	// reaches it as one): for finding where a proxy's CPU or memory goes.
	PprofEndpoint bool `json:"pprofEndpoint"`
	// LogLevel is debug, info, warn or error (default info), or a Linkerd-style
	// directive such as "warn,meshctl=info" (see EffectiveLogLevel).
	LogLevel string `json:"logLevel"`
	// LogFormat is plain or json (default plain).
	LogFormat string `json:"logFormat"`
	// MaxAuthorityLabels bounds the distinct authority label values per
	// direction; further authorities are counted under "overflow" (default 256).
	MaxAuthorityLabels int `json:"maxAuthorityLabels"`
	// MetricsRetainIdle is how long a metric series that does not move is
	// kept before it is deleted, as Linkerd's
	// LINKERD2_PROXY_METRICS_RETAIN_IDLE (default 10m): series name pods
	// and authorities, which come and go.
	MetricsRetainIdle time.Duration `json:"metricsRetainIdle"`
}

// Defaults returns c with every zero field set to its default.
func (c Config) Defaults() Config {
	set := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	setD := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	set(&c.InboundAddr, fmt.Sprintf("0.0.0.0:%d", meshapi.ProxyInboundPort))
	set(&c.OutboundAddr, fmt.Sprintf("127.0.0.1:%d", meshapi.ProxyOutboundPort))
	set(&c.AdminAddr, fmt.Sprintf("0.0.0.0:%d", meshapi.ProxyAdminPort))
	set(&c.ControlAddr, fmt.Sprintf("0.0.0.0:%d", meshapi.ProxyControlPort))
	if c.TapMaxStreams == 0 {
		c.TapMaxStreams = 4
	}
	set(&c.LogLevel, "info")
	set(&c.DefaultInboundPolicy, PolicyAllUnauthenticated)
	if c.ClusterNetworks == nil {
		c.ClusterNetworks = DefaultClusterNetworks()
	}
	set(&c.LogFormat, "plain")
	setD(&c.DetectTimeout, 10*time.Second)
	setD(&c.ConnectTimeout, time.Second)
	setD(&c.IdleTimeout, 90*time.Second)
	setD(&c.ReadHeaderTimeout, 10*time.Second)
	setD(&c.ShutdownGracePeriod, 30*time.Second)
	setD(&c.MetricsRetainIdle, 10*time.Minute)
	if c.OpaquePorts == nil {
		c.OpaquePorts, _ = ParsePortSet(meshapi.DefaultOpaquePorts)
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = 64 << 10
	}
	if c.MaxConcurrentStreams == 0 {
		c.MaxConcurrentStreams = 250
	}
	if c.MaxAuthorityLabels == 0 {
		c.MaxAuthorityLabels = 256
	}
	return c
}

// Validate reports every invalid field of c (after Defaults).
func (c Config) Validate() error {
	var errs []error
	// Fields are checked in a fixed order so the same bad input always
	// gives the same message.
	type field[T any] struct {
		name  string
		value T
	}
	for _, f := range []field[string]{{"inbound address", c.InboundAddr}, {"outbound address", c.OutboundAddr}, {"admin address", c.AdminAddr}, {"control address", c.ControlAddr}} {
		if _, err := netip.ParseAddrPort(f.value); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: want ip:port: %w", f.name, f.value, err))
		}
	}
	for _, f := range []field[string]{{"inbound target", c.InboundTarget}, {"outbound target", c.OutboundTarget}} {
		if f.value == "" {
			continue
		}
		if _, err := netip.ParseAddrPort(f.value); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: want ip:port: %w", f.name, f.value, err))
		}
	}
	for _, f := range []field[time.Duration]{{"detect timeout", c.DetectTimeout}, {"connect timeout", c.ConnectTimeout}, {"idle timeout", c.IdleTimeout}, {"read header timeout", c.ReadHeaderTimeout}, {"shutdown grace period", c.ShutdownGracePeriod}, {"metrics retain idle", c.MetricsRetainIdle}} {
		if f.value <= 0 {
			errs = append(errs, fmt.Errorf("%s %s must be positive", f.name, f.value))
		}
	}
	if c.WaitBeforeExit < 0 {
		errs = append(errs, fmt.Errorf("wait before exit %s must not be negative", c.WaitBeforeExit))
	}
	if _, err := EffectiveLogLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	switch c.LogFormat {
	case "plain", "json":
	default:
		errs = append(errs, fmt.Errorf("log format %q: use plain or json", c.LogFormat))
	}
	switch c.DefaultInboundPolicy {
	case PolicyAllUnauthenticated, PolicyAllAuthenticated, PolicyClusterUnauthenticated, PolicyClusterAuthenticated, PolicyDeny, PolicyAudit:
	default:
		errs = append(errs, fmt.Errorf("default inbound policy %q: use all-unauthenticated, all-authenticated, cluster-unauthenticated, cluster-authenticated, deny or audit", c.DefaultInboundPolicy))
	}
	if c.OutboundTargetIdentity != "" && c.OutboundTarget == "" {
		errs = append(errs, errors.New("outbound target identity is set without an outbound target"))
	}
	if c.TapTokenSHA256 != "" {
		if b, err := hex.DecodeString(c.TapTokenSHA256); err != nil || len(b) != sha256.Size {
			errs = append(errs, errors.New("tap token SHA-256: want 64 hex digits (sha256sum of the token)"))
		}
	}
	if c.TapMaxStreams < 1 || c.TapMaxStreams > 100 {
		errs = append(errs, fmt.Errorf("tap max streams %d: want 1 to 100", c.TapMaxStreams))
	}
	if c.MaxHeaderBytes < 1024 || c.MaxHeaderBytes > 1<<20 {
		errs = append(errs, fmt.Errorf("max header bytes %d: want 1 KiB to 1 MiB", c.MaxHeaderBytes))
	}
	return errors.Join(errs...)
}

// PortSet is a set of TCP ports, written as "25,587,8000-8100".
type PortSet map[uint16]struct{}

// ParsePortSet parses a comma-separated list of ports and inclusive ranges.
func ParsePortSet(s string) (PortSet, error) {
	set := PortSet{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := parsePort(lo)
		if err != nil {
			return nil, fmt.Errorf("port %q: %w", part, err)
		}
		last := first
		if isRange {
			if last, err = parsePort(hi); err != nil {
				return nil, fmt.Errorf("port range %q: %w", part, err)
			}
			if last < first {
				return nil, fmt.Errorf("port range %q: end before start", part)
			}
		}
		for p := int(first); p <= int(last); p++ {
			set[uint16(p)] = struct{}{}
		}
	}
	return set, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("not a port number between 1 and 65535")
	}
	return uint16(n), nil
}

// Has reports whether port is in the set.
func (s PortSet) Has(port uint16) bool {
	_, ok := s[port]
	return ok
}

// String renders the set as sorted ports and ranges.
func (s PortSet) String() string {
	var b strings.Builder
	for p := 1; p <= 65535; p++ {
		if !s.Has(uint16(p)) {
			continue
		}
		start := p
		for p < 65535 && s.Has(uint16(p+1)) {
			p++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if start == p {
			fmt.Fprintf(&b, "%d", p)
		} else {
			fmt.Fprintf(&b, "%d-%d", start, p)
		}
	}
	return b.String()
}

// MarshalText renders the set for the /config dump.
func (s PortSet) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
