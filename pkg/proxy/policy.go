package proxy

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
)

// Default inbound policies, as Linkerd names them.
const (
	PolicyAllUnauthenticated     = "all-unauthenticated"
	PolicyAllAuthenticated       = "all-authenticated"
	PolicyClusterUnauthenticated = "cluster-unauthenticated"
	PolicyClusterAuthenticated   = "cluster-authenticated"
	PolicyDeny                   = "deny"
	// PolicyAudit allows everything; refusals that another policy would
	// make are the policy controller's to log (it arrives later).
	PolicyAudit = "audit"
)

// DefaultClusterNetworks are the private address ranges, Linkerd's default.
func DefaultClusterNetworks() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{"10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// ParseNetworks parses a comma-separated list of CIDRs.
func ParseNetworks(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("network %q: want a CIDR such as 10.0.0.0/8: %w", part, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// PolicyError is a connection or request refused by inbound policy.
type PolicyError struct{ Reason string }

func (e *PolicyError) Error() string { return "proxy: refused by inbound policy: " + e.Reason }

// ConfigPolicy is the inbound policy of the proxy's own configuration: the
// default policy and the ports that require identity. It is what applies
// until the policy controller serves Server and AuthorizationPolicy
// resources.
type ConfigPolicy struct {
	Default         string
	RequireIdentity PortSet
	ClusterNetworks []netip.Prefix
}

// Authorize decides on one connection. Loopback clients (the pod itself,
// the kubelet's probes through the proxy's own namespace) are not subject
// to the cluster-network rule.
func (c ConfigPolicy) Authorize(_ context.Context, p Peer, port uint16) error {
	if c.RequireIdentity.Has(port) && p.Identity == "" {
		return &PolicyError{Reason: fmt.Sprintf("port %d requires a meshed (mTLS) client", port)}
	}
	switch c.Default {
	case PolicyDeny:
		return &PolicyError{Reason: "default policy is deny"}
	case PolicyAllAuthenticated:
		if p.Identity == "" {
			return &PolicyError{Reason: "default policy all-authenticated requires a meshed (mTLS) client"}
		}
	case PolicyClusterAuthenticated, PolicyClusterUnauthenticated:
		if !c.inCluster(p.Addr.Addr()) {
			return &PolicyError{Reason: fmt.Sprintf("client %s is outside the cluster networks", p.Addr.Addr())}
		}
		if c.Default == PolicyClusterAuthenticated && p.Identity == "" {
			return &PolicyError{Reason: "default policy cluster-authenticated requires a meshed (mTLS) client"}
		}
	}
	return nil
}

func (c ConfigPolicy) inCluster(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() {
		return true
	}
	for _, n := range c.ClusterNetworks {
		if n.Contains(a) {
			return true
		}
	}
	return false
}
