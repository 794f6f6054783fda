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
		})
	}
	return eps
}
