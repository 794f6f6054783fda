package discovery

import (
	"log/slog"
	"maps"
	"net/netip"

	destinationv1 "github.com/meshctl/meshctl/pkg/api/destination/v1"
	"github.com/meshctl/meshctl/pkg/proxy"
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
