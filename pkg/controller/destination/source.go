package destination

import (
	"net/netip"
	"strings"
	"sync"
)

// Source is the destination controller's source of truth: the pods and
// Services it can answer for. The Kubernetes implementation is KubeSource;
// a local registry (meshctl demo) can implement the same interface and
// reuse the resolution rules, the gRPC service and the metrics unchanged.
//
// Implementations answer from memory and are safe for concurrent use.
type Source interface {
	// PodByIP returns the running, non-host-network pod whose IP is ip.
	PodByIP(ip netip.Addr) (Pod, bool)
	// ServiceByIP returns the Service whose cluster IP is ip and, when port
	// is one of its TCP ports, the ready backends of that port with the
	// Service port mapped to the backends' own (target) port. ok is false
	// when no Service has that cluster IP; hasPort is false when the
	// Service has no such port.
	ServiceByIP(ip netip.Addr, port uint16) (svc Service, backends []Backend, hasPort, ok bool)
	// ServicesOf returns the Service ports whose endpoints (ready or not)
	// include addr, a pod IP and target port, sorted by namespace, name
	// and port.
	ServicesOf(addr netip.AddrPort) []ServicePort
	// Profile returns the spec of the ServiceProfile namespace/name.
	Profile(namespace, name string) (*ProfileSpec, bool)
	// Changed returns a channel closed at the next change of anything the
	// source holds. Callers take it before reading, so no change between
	// a read and the wait is missed.
	Changed() <-chan struct{}
}

// Pod is what the controller needs to know about one pod.
type Pod struct {
	Namespace, Name string
	// ServiceAccount is the pod's ServiceAccount; empty means "default".
	ServiceAccount string
	// Meshed reports whether the pod runs the meshctl proxy.
	Meshed bool
	// OwnerKind (lower case: deployment, statefulset, daemonset, job,
	// replicaset, cronjob) and OwnerName name the workload that owns the
	// pod, when known.
	OwnerKind, OwnerName string
	// OpaquePorts are the pod's ports whose traffic the proxy must not
	// protocol-detect.
	OpaquePorts PortRanges
	// SkipInboundPorts are the pod's ports its proxy does not intercept
	// (meshctl-init lets them through): clients reach the application
	// there directly, in plaintext.
	SkipInboundPorts PortRanges
}

// PortRanges is a list of inclusive port ranges, e.g. from "25,8000-8100".
type PortRanges []PortRange

// PortRange is an inclusive range of ports; Lo == Hi for one port.
type PortRange struct{ Lo, Hi uint16 }

// Contains reports whether port is in one of the ranges.
func (r PortRanges) Contains(port uint16) bool {
	for _, pr := range r {
		if pr.Lo <= port && port <= pr.Hi {
			return true
		}
	}
	return false
}

// Service is what the controller needs to know about one Service.
type Service struct {
	Namespace, Name string
}

// ServicePort is one port of a Service.
type ServicePort struct {
	Service Service
	Port    uint16
}

// compareServicePorts orders Service ports by namespace, name and port.
func compareServicePorts(a, b ServicePort) int {
	if c := strings.Compare(a.Service.Namespace, b.Service.Namespace); c != 0 {
		return c
	}
	if c := strings.Compare(a.Service.Name, b.Service.Name); c != 0 {
		return c
	}
	return int(a.Port) - int(b.Port)
}

// Backend is one ready endpoint of a Service port.
type Backend struct {
	// Addr is the endpoint's address and target port.
	Addr netip.AddrPort
	// Pod is the pod behind the endpoint; nil when the endpoint names no
	// known pod (a manually managed EndpointSlice, a pod not yet seen).
	Pod *Pod
}

// changes hands out the channel closed at the next change: the broadcast
// behind Source.Changed, without per-listener bookkeeping.
type changes struct {
	mu sync.Mutex
	ch chan struct{}
}

// Changed returns the channel closed at the next call to notify.
func (c *changes) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

// notify wakes every current waiter.
func (c *changes) notify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
}
