package discovery

import (
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"time"

	destinationv1 "github.com/meshctl/meshctl/pkg/api/destination/v1"
	"github.com/meshctl/meshctl/pkg/proxy"
	"github.com/meshctl/meshctl/pkg/proxy/profile"
)

// convert turns a snapshot into proxy endpoints. An endpoint with a
// malformed address is dropped and logged: the others remain usable.
func convert(upd *destinationv1.Update, target netip.AddrPort, log *slog.Logger) []proxy.Endpoint {
	eps := make([]proxy.Endpoint, 0, len(upd.GetEndpoints()))
	for _, e := range upd.GetEndpoints() {
		addr, err := netip.ParseAddrPort(e.GetAddr())
		if err != nil {
			log.Warn("destination endpoint dropped", "target", target.String(), "addr", e.GetAddr(), "error", err)
			continue
		}
		eps = append(eps, proxy.Endpoint{
			Addr:     netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port()),
			Weight:   e.GetWeight(),
			Identity: e.GetTlsIdentity(),
			Labels:   maps.Clone(e.GetMetricLabels()),
			Protocol: protocol(e.GetProtocolHint()),
		})
	}
	return eps
}

// protocol maps a destination hint to the proxy's; a hint this proxy does
// not know is no hint.
func protocol(h destinationv1.ProtocolHint) proxy.EndpointProtocol {
	switch h {
	case destinationv1.ProtocolHint_PROTOCOL_HINT_OPAQUE:
		return proxy.EndpointOpaque
	case destinationv1.ProtocolHint_PROTOCOL_HINT_H2:
		return proxy.EndpointH2
	default:
		return proxy.EndpointDetect
	}
}

// convertProfile turns a snapshot's profile into the proxy's, compiling
// its regular expressions once. A route that does not compile (the
// controller refuses those, so only a newer controller could send one) is
// dropped and logged; nil in, nil out.
func convertProfile(p *destinationv1.Profile, target netip.AddrPort, log *slog.Logger) *profile.Profile {
	if p == nil {
		return nil
	}
	out := &profile.Profile{Authority: p.GetAuthority(), Budget: profile.DefaultBudget()}
	if b := p.GetRetryBudget(); b != nil {
		out.Budget = profile.BudgetSpec{
			Ratio:        float64(b.GetRetryRatio()),
			MinPerSecond: int(b.GetMinRetriesPerSecond()),
			TTL:          time.Duration(b.GetTtlMs()) * time.Millisecond,
		}
	}
	for _, r := range p.GetRoutes() {
		cond, err := requestMatch(r.GetCondition(), 0)
		if err != nil {
			log.Warn("destination route dropped", "target", target.String(), "route", r.GetName(), "error", err)
			continue
		}
		rt := &profile.Route{
			Name:      r.GetName(),
			Condition: cond,
			Retryable: r.GetIsRetryable(),
			Timeout:   time.Duration(r.GetTimeoutMs()) * time.Millisecond,
		}
		for _, c := range r.GetResponseClasses() {
			rt.Classes = append(rt.Classes, profile.ResponseClass{Condition: responseMatch(c.GetCondition(), 0), Failure: c.GetIsFailure()})
		}
		out.Routes = append(out.Routes, rt)
	}
	return out
}

// maxMatchDepth bounds the nesting of conditions, so a hostile or broken
// answer cannot recurse without end.
const maxMatchDepth = 16

func requestMatch(m *destinationv1.RequestMatch, depth int) (profile.RequestMatch, error) {
	var out profile.RequestMatch
	if m == nil {
		return out, nil
	}
	if depth > maxMatchDepth {
		return out, fmt.Errorf("conditions nested deeper than %d", maxMatchDepth)
	}
	out.Method = m.GetMethod()
	if re := m.GetPathRegex(); re != "" {
		c, err := destinationv1.CompilePathRegex(re)
		if err != nil {
			return out, err
		}
		out.Path = c
	}
	for _, sub := range m.GetAll() {
		s, err := requestMatch(sub, depth+1)
		if err != nil {
			return out, err
		}
		out.All = append(out.All, s)
	}
	for _, sub := range m.GetAny() {
		s, err := requestMatch(sub, depth+1)
		if err != nil {
			return out, err
		}
		out.Any = append(out.Any, s)
	}
	if m.GetNot() != nil {
		s, err := requestMatch(m.GetNot(), depth+1)
		if err != nil {
			return out, err
		}
		out.Not = &s
	}
	return out, nil
}

func responseMatch(m *destinationv1.ResponseMatch, depth int) profile.ResponseMatch {
	var out profile.ResponseMatch
	if m == nil {
		return out
	}
	if depth > maxMatchDepth {
		// Too deep to be real: a condition that matches nothing.
		return profile.ResponseMatch{Not: &profile.ResponseMatch{}}
	}
	if st := m.GetStatus(); st != nil {
		out.MinStatus, out.MaxStatus = int(st.GetMin()), int(st.GetMax())
	}
	for _, sub := range m.GetAll() {
		out.All = append(out.All, responseMatch(sub, depth+1))
	}
	for _, sub := range m.GetAny() {
		out.Any = append(out.Any, responseMatch(sub, depth+1))
	}
	if m.GetNot() != nil {
		n := responseMatch(m.GetNot(), depth+1)
		out.Not = &n
	}
	return out
}
