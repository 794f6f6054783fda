package destination

import (
	"net/netip"
	"slices"
	"sync"
)

// MemorySource is a Source held in memory and edited by its owner: the
// start of a local registry (meshctl demo) and the fake of tests. The zero
// value is empty and ready to use.
type MemorySource struct {
	mu       sync.RWMutex
	pods     map[netip.Addr]Pod
	services map[netip.Addr]memService
	profiles map[string]*ProfileSpec
	changes  changes
}

type memService struct {
	svc   Service
	ports map[uint16][]Backend
}

// SetPod adds or replaces the pod answering for ip.
func (m *MemorySource) SetPod(ip netip.Addr, p Pod) {
	m.mu.Lock()
	if m.pods == nil {
		m.pods = map[netip.Addr]Pod{}
	}
	m.pods[ip.Unmap()] = p
	m.mu.Unlock()
	m.changes.notify()
}

// DeletePod forgets the pod answering for ip.
func (m *MemorySource) DeletePod(ip netip.Addr) {
	m.mu.Lock()
	delete(m.pods, ip.Unmap())
	m.mu.Unlock()
	m.changes.notify()
}

// SetService adds or replaces the Service whose cluster IP is ip, with
// the ready backends of each of its ports.
func (m *MemorySource) SetService(ip netip.Addr, svc Service, ports map[uint16][]Backend) {
	cp := make(map[uint16][]Backend, len(ports))
	for p, bs := range ports {
		cp[p] = slices.Clone(bs)
	}
	m.mu.Lock()
	if m.services == nil {
		m.services = map[netip.Addr]memService{}
	}
	m.services[ip.Unmap()] = memService{svc: svc, ports: cp}
	m.mu.Unlock()
	m.changes.notify()
}

// DeleteService forgets the Service whose cluster IP is ip.
func (m *MemorySource) DeleteService(ip netip.Addr) {
	m.mu.Lock()
	delete(m.services, ip.Unmap())
	m.mu.Unlock()
	m.changes.notify()
}

// PodByIP implements Source.
func (m *MemorySource) PodByIP(ip netip.Addr) (Pod, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.pods[ip.Unmap()]
	return p, ok
}

// ServiceByIP implements Source.
func (m *MemorySource) ServiceByIP(ip netip.Addr, port uint16) (Service, []Backend, bool, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.services[ip.Unmap()]
	if !ok {
		return Service{}, nil, false, false
	}
	bs, hasPort := s.ports[port]
	return s.svc, slices.Clone(bs), hasPort, true
}

// Changed implements Source.
func (m *MemorySource) Changed() <-chan struct{} { return m.changes.Changed() }

// SetProfile adds or replaces the ServiceProfile namespace/name; nil
// deletes it.
func (m *MemorySource) SetProfile(namespace, name string, spec *ProfileSpec) {
	m.mu.Lock()
	if m.profiles == nil {
		m.profiles = map[string]*ProfileSpec{}
	}
	if spec == nil {
		delete(m.profiles, namespace+"/"+name)
	} else {
		m.profiles[namespace+"/"+name] = spec
	}
	m.mu.Unlock()
	m.changes.notify()
}

// Profile implements Source.
func (m *MemorySource) Profile(namespace, name string) (*ProfileSpec, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.profiles[namespace+"/"+name]
	return p, ok
}

// ServicesOf implements Source.
func (m *MemorySource) ServicesOf(addr netip.AddrPort) []ServicePort {
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []ServicePort
	for _, s := range m.services {
		for port, bs := range s.ports {
			if slices.ContainsFunc(bs, func(b Backend) bool { return b.Addr == addr }) {
				out = append(out, ServicePort{Service: s.svc, Port: port})
			}
		}
	}
	slices.SortFunc(out, compareServicePorts)
	return out
}
