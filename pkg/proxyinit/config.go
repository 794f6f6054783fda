package proxyinit

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/meshctl/meshctl/pkg/meshapi"
)

// Config describes the redirect that Apply programs. The zero value of every
// field has a documented default, so Config{} redirects exactly as an
// injected pod expects; DefaultConfig spells those defaults out.
type Config struct {
	// InboundPort is where inbound TCP is redirected. Zero means
	// meshapi.ProxyInboundPort (4143).
	InboundPort uint16
	// OutboundPort is where outbound TCP is redirected. Zero means
	// meshapi.ProxyOutboundPort (4140).
	OutboundPort uint16
	// ControlPort and AdminPort are the proxy's own ports; inbound
	// connections to them are never redirected. Zero means
	// meshapi.ProxyControlPort (4190) and meshapi.ProxyAdminPort (4191).
	ControlPort uint16
	AdminPort   uint16
	// ProxyUID is the user the proxy runs as; its own connections are not
	// redirected to the outbound port. Zero means meshapi.ProxyUID (2102):
	// root can never be the proxy's user, since that would exempt every
	// root process in the pod from the mesh.
	ProxyUID uint32
	// ProxyGID, when not nil, also exempts connections of that group, for
	// proxies that run with a dedicated group.
	ProxyGID *uint32
	// SkipInboundPorts are destination ports of inbound connections that
	// bypass the proxy.
	SkipInboundPorts []PortRange
	// SkipOutboundPorts are destination ports of outbound connections that
	// bypass the proxy.
	SkipOutboundPorts []PortRange
	// SkipOutboundSubnets are destination networks of outbound connections
	// that bypass the proxy. IPv6 subnets require IPv6.
	SkipOutboundSubnets []netip.Prefix
	// IPv6 also programs the ip6 family. When false, an ip6 table left by an
	// earlier run with IPv6 is removed.
	IPv6 bool
}

// DefaultConfig returns the configuration of an injected pod with no
// overrides: the conventions' ports and proxy UID, nothing skipped, IPv4 only.
func DefaultConfig() Config {
	return Config{
		InboundPort:  meshapi.ProxyInboundPort,
		OutboundPort: meshapi.ProxyOutboundPort,
		ControlPort:  meshapi.ProxyControlPort,
		AdminPort:    meshapi.ProxyAdminPort,
		ProxyUID:     meshapi.ProxyUID,
	}
}

// withDefaults returns c with zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.InboundPort == 0 {
		c.InboundPort = d.InboundPort
	}
	if c.OutboundPort == 0 {
		c.OutboundPort = d.OutboundPort
	}
	if c.ControlPort == 0 {
		c.ControlPort = d.ControlPort
	}
	if c.AdminPort == 0 {
		c.AdminPort = d.AdminPort
	}
	if c.ProxyUID == 0 {
		c.ProxyUID = d.ProxyUID
	}
	return c
}

// Validate reports the first problem with c, naming the offending value:
// the proxy's four ports must be distinct, port ranges well formed, and
// subnets of an enabled family.
func (c Config) Validate() error {
	c = c.withDefaults()
	ports := []struct {
		name string
		port uint16
	}{
		{"inbound port", c.InboundPort},
		{"outbound port", c.OutboundPort},
		{"control port", c.ControlPort},
		{"admin port", c.AdminPort},
	}
	for i, a := range ports {
		for _, b := range ports[i+1:] {
			if a.port == b.port {
				return fmt.Errorf("%s %d conflicts with the %s", a.name, a.port, b.name)
			}
		}
	}
	for _, r := range c.SkipInboundPorts {
		if err := r.validate(); err != nil {
			return fmt.Errorf("skip inbound ports: %w", err)
		}
	}
	for _, r := range c.SkipOutboundPorts {
		if err := r.validate(); err != nil {
			return fmt.Errorf("skip outbound ports: %w", err)
		}
		if r.Contains(c.OutboundPort) {
			// Not harmful to the kernel, but a sign of a confused config.
			return fmt.Errorf("skip outbound ports: %s includes the outbound port %d", r, c.OutboundPort)
		}
	}
	for _, p := range c.SkipOutboundSubnets {
		if !p.IsValid() {
			return errors.New("skip outbound subnets: invalid (zero) prefix")
		}
		if p.Addr().Is6() && !p.Addr().Is4In6() && !c.IPv6 {
			return fmt.Errorf("skip outbound subnets: %s is an IPv6 subnet but IPv6 is off", p)
		}
		if p.Addr().Is4In6() {
			return fmt.Errorf("skip outbound subnets: %s is an IPv4-mapped IPv6 subnet; write it as IPv4", p)
		}
	}
	return nil
}

// PortRange is an inclusive range of TCP ports; a single port has First ==
// Last.
type PortRange struct {
	First, Last uint16
}

// Contains reports whether port is in r.
func (r PortRange) Contains(port uint16) bool { return r.First <= port && port <= r.Last }

// String formats r as "25" or "8000-8100".
func (r PortRange) String() string {
	if r.First == r.Last {
		return strconv.Itoa(int(r.First))
	}
	return fmt.Sprintf("%d-%d", r.First, r.Last)
}

func (r PortRange) validate() error {
	if r.First == 0 || r.Last == 0 {
		return fmt.Errorf("invalid port range %q: ports are 1-65535", r.String())
	}
	if r.First > r.Last {
		return fmt.Errorf("invalid port range %q: start is greater than end", r.String())
	}
	return nil
}

// ParsePorts parses a comma-separated list of ports and inclusive ranges,
// for example "25,587,8000-8100", as the skip-*-ports annotations hold them.
// Blank items are ignored; an empty string yields no ranges. Errors name the
// offending item.
func ParsePorts(s string) ([]PortRange, error) {
	var out []PortRange
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		first, last, isRange := strings.Cut(item, "-")
		lo, err := parsePort(item, first)
		if err != nil {
			return nil, err
		}
		hi := lo
		if isRange {
			if hi, err = parsePort(item, last); err != nil {
				return nil, err
			}
		}
		r := PortRange{First: lo, Last: hi}
		if lo > hi {
			return nil, fmt.Errorf("invalid port range %q: start is greater than end", item)
		}
		out = append(out, r)
	}
	return out, nil
}

func parsePort(item, s string) (uint16, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("invalid port %q: not a number", item)
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("invalid port %q: ports are 1-65535", item)
	}
	return uint16(n), nil
}

// ParseSubnets parses a comma-separated list of CIDRs such as
// "10.0.0.0/8,fd00::/8". A bare address means that one host; host bits of a
// prefix are cleared ("10.1.2.3/8" is 10.0.0.0/8). Errors name the
// offending item.
func ParseSubnets(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var p netip.Prefix
		if strings.Contains(item, "/") {
			var err error
			if p, err = netip.ParsePrefix(item); err != nil {
				return nil, fmt.Errorf("invalid subnet %q: %w", item, err)
			}
		} else {
			a, err := netip.ParseAddr(item)
			if err != nil {
				return nil, fmt.Errorf("invalid subnet %q: %w", item, err)
			}
			if a.Zone() != "" {
				return nil, fmt.Errorf("invalid subnet %q: zones are not allowed", item)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
