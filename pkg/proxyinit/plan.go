package proxyinit

import (
	"fmt"
	"net/netip"
)

// TableName is the name of meshctl's nftables table in each family
// ("ip meshctl", "ip6 meshctl"). Apply owns these tables entirely and
// touches nothing else.
const TableName = "meshctl"

// Chain names inside TableName.
const (
	chainPrerouting = "prerouting"
	chainOutput     = "output"
	chainInbound    = "inbound_redirect"
)

// natPriority is the priority of both base chains: NF_IP_PRI_NAT_DST, the
// "dstnat" of nft and the priority iptables-nft gives its nat chains.
const natPriority = -100

// loopbackName is the interface name of loopback in every namespace.
const loopbackName = "lo"

// family is an address family the plan programs.
type family struct {
	name     string       // nft family keyword: "ip" or "ip6"
	addr     string       // payload keyword: "ip" or "ip6"
	loopback netip.Prefix // 127.0.0.0/8 or ::1/128
}

func familyIPv4() family {
	return family{name: "ip", addr: "ip", loopback: netip.MustParsePrefix("127.0.0.0/8")}
}

func familyIPv6() family {
	return family{name: "ip6", addr: "ip6", loopback: netip.MustParsePrefix("::1/128")}
}

// plan is the complete ruleset Apply programs and DryRun prints: one table
// per enabled family. It is the single source both the netlink encoding and
// the text rendering are derived from.
type plan struct {
	tables []table
	// removeIPv6 asks Apply to remove an ip6 table left by an earlier run.
	removeIPv6 bool
}

type table struct {
	family family
	chains []chain
}

type chain struct {
	name string
	// hook is "prerouting" or "output" for base chains, "" for a regular
	// chain reached by jump.
	hook  string
	rules []rule
}

type rule struct {
	matches []match
	verdict verdict
	comment string
}

type matchKind int

const (
	matchTCP     matchKind = iota // meta l4proto tcp
	matchDport                    // tcp dport N or N-M
	matchDaddr                    // ip daddr P (or !=)
	matchOifname                  // oifname "lo"
	matchSkuid                    // meta skuid N
	matchSkgid                    // meta skgid N
)

// match is one condition of a rule; the fields used depend on kind.
type match struct {
	kind   matchKind
	ports  PortRange
	prefix netip.Prefix
	negate bool
	name   string
	id     uint32
}

type verdictKind int

const (
	verdictReturn   verdictKind = iota // return
	verdictJump                        // jump chain
	verdictRedirect                    // redirect to :port
)

type verdict struct {
	kind  verdictKind
	chain string
	port  uint16
}

// newPlan validates cfg and builds its ruleset.
func newPlan(cfg Config) (*plan, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	p := &plan{tables: []table{buildTable(cfg, familyIPv4())}}
	if cfg.IPv6 {
		p.tables = append(p.tables, buildTable(cfg, familyIPv6()))
	} else {
		p.removeIPv6 = true
	}
	return p, nil
}

func buildTable(cfg Config, fam family) table {
	// The regular chain comes first: it must exist before a rule jumps to it.
	return table{family: fam, chains: []chain{
		{name: chainInbound, rules: inboundRules(cfg)},
		{name: chainPrerouting, hook: "prerouting", rules: []rule{{
			matches: []match{{kind: matchTCP}},
			verdict: verdict{kind: verdictJump, chain: chainInbound},
			comment: "inbound TCP",
		}}},
		{name: chainOutput, hook: "output", rules: outboundRules(cfg, fam)},
	}}
}

// inboundRules send inbound TCP to the inbound port, except connections to
// the proxy's own ports and the skipped ports. The output chain also jumps
// here for the proxy's connections to its own pod's address.
func inboundRules(cfg Config) []rule {
	rules := []rule{
		dportReturn(single(cfg.InboundPort), "proxy inbound port"),
		dportReturn(single(cfg.ControlPort), "proxy control port"),
		dportReturn(single(cfg.AdminPort), "proxy admin port"),
	}
	builtin := []uint16{cfg.InboundPort, cfg.ControlPort, cfg.AdminPort}
	for _, r := range dedupe(cfg.SkipInboundPorts, builtin) {
		rules = append(rules, dportReturn(r, "skip-inbound-ports"))
	}
	return append(rules, rule{
		matches: []match{{kind: matchTCP}},
		verdict: verdict{kind: verdictRedirect, port: cfg.InboundPort},
		comment: "to the proxy's inbound port",
	})
}

// outboundRules send outbound TCP to the outbound port. Following Linkerd's
// proxy-init, traffic leaving through loopback is not redirected, with one
// exception: the proxy's own connections to this pod's (non-loopback)
// address go through the inbound rules, so that a pod calling a service that
// resolves to itself is still served by its inbound proxy.
func outboundRules(cfg Config, fam family) []rule {
	owners := []match{{kind: matchSkuid, id: cfg.ProxyUID}}
	names := []string{fmt.Sprintf("proxy uid %d", cfg.ProxyUID)}
	if cfg.ProxyGID != nil {
		owners = append(owners, match{kind: matchSkgid, id: *cfg.ProxyGID})
		names = append(names, fmt.Sprintf("proxy gid %d", *cfg.ProxyGID))
	}
	var rules []rule
	for i, owner := range owners {
		rules = append(rules,
			rule{
				matches: []match{
					{kind: matchOifname, name: loopbackName},
					{kind: matchDaddr, prefix: fam.loopback, negate: true},
					owner,
				},
				verdict: verdict{kind: verdictJump, chain: chainInbound},
				comment: names[i] + " to this pod's address",
			},
			rule{matches: []match{owner}, verdict: verdict{kind: verdictReturn}, comment: names[i]},
		)
	}
	rules = append(rules, rule{
		matches: []match{{kind: matchOifname, name: loopbackName}},
		verdict: verdict{kind: verdictReturn},
		comment: "pod-local traffic",
	})
	for _, r := range dedupe(cfg.SkipOutboundPorts, nil) {
		rules = append(rules, dportReturn(r, "skip-outbound-ports"))
	}
	for _, p := range cfg.SkipOutboundSubnets {
		if p.Addr().Is4() != (fam.name == "ip") {
			continue
		}
		rules = append(rules, rule{
			matches: []match{{kind: matchDaddr, prefix: p}},
			verdict: verdict{kind: verdictReturn},
			comment: "skip-outbound-subnets",
		})
	}
	return append(rules, rule{
		matches: []match{{kind: matchTCP}},
		verdict: verdict{kind: verdictRedirect, port: cfg.OutboundPort},
		comment: "to the proxy's outbound port",
	})
}

func single(port uint16) PortRange { return PortRange{First: port, Last: port} }

func dportReturn(r PortRange, comment string) rule {
	return rule{
		matches: []match{{kind: matchDport, ports: r}},
		verdict: verdict{kind: verdictReturn},
		comment: comment,
	}
}

// dedupe drops repeated ranges and single ports already in builtin (the
// injector lists the proxy's own ports among the skipped ones, for
// example), keeping the first occurrence's order.
func dedupe(ranges []PortRange, builtin []uint16) []PortRange {
	seen := make(map[PortRange]bool, len(ranges)+len(builtin))
	for _, p := range builtin {
		seen[single(p)] = true
	}
	var out []PortRange
	for _, r := range ranges {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}
