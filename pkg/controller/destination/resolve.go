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
	// ClusterDomain completes Service names (ServiceProfile names and
	// route authorities); empty means meshapi.DefaultClusterDomain.
	ClusterDomain string
	// OnProfileError, when set, hears of ServiceProfile routes left out
	// because the proxy could not apply them.
	OnProfileError func(namespace, name string, err error)
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
			Profile:   r.podProfile(target),
		}
	}
	if svc, backends, hasPort, ok := r.Source.ServiceByIP(target.Addr(), target.Port()); ok {
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
		upd := &destinationv1.Update{Exists: true, Kind: destinationv1.Kind_KIND_SERVICE, Endpoints: eps}
		if hasPort {
			upd.Profile = r.profile(ServicePort{Service: svc, Port: target.Port()})
		}
		return upd
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

// profile is the route configuration of a Service port, nil when the
// Service has no ServiceProfile.
func (r Resolver) profile(sp ServicePort) *destinationv1.Profile {
	domain := r.ClusterDomain
	if domain == "" {
		domain = meshapi.DefaultClusterDomain
	}
	name := ProfileName(sp.Service, domain)
	spec, ok := r.Source.Profile(sp.Service.Namespace, name)
	if !ok {
		return nil
	}
	p, errs := profileMessage(spec, authority(sp.Service, sp.Port, domain))
	if r.OnProfileError != nil {
		for _, err := range errs {
			r.OnProfileError(sp.Service.Namespace, name, err)
		}
	}
	return p
}

// podProfile is the route configuration for a pod's address: that of the
// first of the Service ports serving it that has a ServiceProfile, so that
// routes apply to traffic sent to the pod directly too (a headless
// Service, a StatefulSet's pod DNS name) and on the pod's own inbound side.
func (r Resolver) podProfile(addr netip.AddrPort) *destinationv1.Profile {
	for _, sp := range r.Source.ServicesOf(addr) {
		if p := r.profile(sp); p != nil {
			return p
		}
	}
	return nil
}
