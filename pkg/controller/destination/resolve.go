package destination

import (
	"net/netip"
	"slices"
	"strings"

	destinationv1 "github.com/meshctl/meshctl/pkg/api/destination/v1"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// Resolver turns a target into an Update by the rules of
// docs/destination.md, reading from a Source.
type Resolver struct {
	Source Source
	// MeshNamespace and TrustDomain complete the identity names.
	MeshNamespace, TrustDomain string
}

// Resolve answers for target: the pod with that IP (one endpoint, the
// target itself), else the Service with that cluster IP (its ready
// backends), else an unknown target (exists false, the target itself
// without identity).
func (r Resolver) Resolve(target netip.AddrPort) *destinationv1.Update {
	target = netip.AddrPortFrom(target.Addr().Unmap(), target.Port())
	if pod, ok := r.Source.PodByIP(target.Addr()); ok {
		return &destinationv1.Update{
			Exists:    true,
			Kind:      destinationv1.Kind_KIND_POD,
			Endpoints: []*destinationv1.Endpoint{r.endpoint(target, &pod, nil)},
		}
	}
	if svc, backends, _, ok := r.Source.ServiceByIP(target.Addr(), target.Port()); ok {
		// Backends come from informer caches in no stable order; sorting
		// keeps snapshots comparable, so an unchanged set is not re-sent.
		backends = slices.Clone(backends)
		slices.SortFunc(backends, func(a, b Backend) int { return a.Addr.Compare(b.Addr) })
		eps := make([]*destinationv1.Endpoint, 0, len(backends))
		for i, b := range backends {
			if i > 0 && b.Addr == backends[i-1].Addr {
				continue // the same endpoint listed by two slices
			}
			eps = append(eps, r.endpoint(b.Addr, b.Pod, &svc))
		}
		return &destinationv1.Update{Exists: true, Kind: destinationv1.Kind_KIND_SERVICE, Endpoints: eps}
	}
	return &destinationv1.Update{
		Kind:      destinationv1.Kind_KIND_UNKNOWN,
		Endpoints: []*destinationv1.Endpoint{{Addr: target.String(), Weight: 1}},
	}
}

// endpoint describes addr, served by pod (nil when unknown) behind svc
// (nil for a pod target).
func (r Resolver) endpoint(addr netip.AddrPort, pod *Pod, svc *Service) *destinationv1.Endpoint {
	ep := &destinationv1.Endpoint{Addr: addr.String(), Weight: 1}
	labels := map[string]string{}
	if svc != nil {
		labels["dst_namespace"] = svc.Namespace
		labels["dst_service"] = svc.Name
	}
	if pod != nil {
		sa := pod.ServiceAccount
		if sa == "" {
			sa = "default"
		}
		labels["dst_namespace"] = pod.Namespace
		labels["dst_pod"] = pod.Name
		labels["dst_serviceaccount"] = sa
		if pod.OwnerKind != "" && pod.OwnerName != "" {
			labels["dst_"+strings.ToLower(pod.OwnerKind)] = pod.OwnerName
		}
		// A port the pod's proxy lets through is served by the
		// application itself: plaintext, and no hint about a proxy.
		if pod.Meshed && !pod.SkipInboundPorts.Contains(addr.Port()) {
			ep.TlsIdentity = meshapi.IdentityName(sa, pod.Namespace, r.MeshNamespace, r.TrustDomain)
			if pod.OpaquePorts.Contains(addr.Port()) {
				ep.ProtocolHint = destinationv1.ProtocolHint_PROTOCOL_HINT_OPAQUE
			} else {
				ep.ProtocolHint = destinationv1.ProtocolHint_PROTOCOL_HINT_H2
			}
		}
	}
	if len(labels) > 0 {
		ep.MetricLabels = labels
	}
	return ep
}
