package destination

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	"github.com/meshctl/meshctl/pkg/controller"
	"github.com/meshctl/meshctl/pkg/kube"
)

// Index names of the informer caches.
const (
	indexPodIP     = "podIP"
	indexClusterIP = "clusterIP"
	indexService   = "service"
	indexEndpoint  = "endpointIP"
)

// KubeSource is the Source backed by shared informers on Pods, Services
// and EndpointSlices (discovery.k8s.io/v1) across all namespaces.
type KubeSource struct {
	informers controller.Informers
	pods      cache.SharedIndexInformer
	services  cache.SharedIndexInformer
	slices    cache.SharedIndexInformer
	// profiles watches ServiceProfiles; nil without a dynamic client.
	profiles cache.SharedIndexInformer
	dynamic  dynamicinformer.DynamicSharedInformerFactory
	changes  changes
}

// NewKubeSource builds the informers; Start runs them. dyn, when not nil,
// also watches ServiceProfiles for route configuration.
func NewKubeSource(cs kube.Clientset, dyn dynamic.Interface) (*KubeSource, error) {
	// No periodic resync: watches deliver every change, and a resync would
	// only wake every stream for nothing.
	s := &KubeSource{}
	for _, in := range []struct {
		to  *cache.SharedIndexInformer
		inf cache.SharedIndexInformer
	}{
		{&s.pods, controller.NewInformer(cs, &corev1.Pod{}, cs.CoreV1().Pods(metav1.NamespaceAll).List, cs.CoreV1().Pods(metav1.NamespaceAll).Watch)},
		{&s.services, controller.NewInformer(cs, &corev1.Service{}, cs.CoreV1().Services(metav1.NamespaceAll).List, cs.CoreV1().Services(metav1.NamespaceAll).Watch)},
		{&s.slices, controller.NewInformer(cs, &discoveryv1.EndpointSlice{}, cs.DiscoveryV1().EndpointSlices(metav1.NamespaceAll).List, cs.DiscoveryV1().EndpointSlices(metav1.NamespaceAll).Watch)},
	} {
		inf, err := s.informers.Add(in.inf)
		if err != nil {
			return nil, fmt.Errorf("destination: %w", err)
		}
		*in.to = inf
	}
	for _, ix := range []struct {
		inf  cache.SharedIndexInformer
		name string
		fn   cache.IndexFunc
	}{
		{s.pods, indexPodIP, podIPs},
		{s.services, indexClusterIP, clusterIPs},
		{s.slices, indexService, sliceService},
		{s.slices, indexEndpoint, sliceAddresses},
	} {
		if err := ix.inf.AddIndexers(cache.Indexers{ix.name: ix.fn}); err != nil {
			return nil, fmt.Errorf("destination: index %s: %w", ix.name, err)
		}
	}
	notify := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.changes.notify() },
		UpdateFunc: func(any, any) { s.changes.notify() },
		DeleteFunc: func(any) { s.changes.notify() },
	}
	// Pod status changes all the time (conditions, restarts); only what a
	// resolution reads wakes the streams.
	podNotify := notify
	podNotify.UpdateFunc = func(o, n any) {
		if podChanged(o, n) {
			s.changes.notify()
		}
	}
	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandler
	}{{s.pods, podNotify}, {s.services, notify}, {s.slices, notify}}
	if dyn != nil {
		s.dynamic = dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, metav1.NamespaceAll, nil)
		s.profiles = s.dynamic.ForResource(ServiceProfileResource()).Informer()
		handlers = append(handlers, struct {
			inf cache.SharedIndexInformer
			h   cache.ResourceEventHandler
		}{s.profiles, notify})
	}
	for _, h := range handlers {
		if _, err := h.inf.AddEventHandler(h.h); err != nil {
			return nil, fmt.Errorf("destination: watch: %w", err)
		}
	}
	return s, nil
}

// Start runs the informers until ctx is cancelled.
func (s *KubeSource) Start(ctx context.Context) {
	s.informers.Start(ctx.Done())
	if s.dynamic != nil {
		s.dynamic.Start(ctx.Done())
	}
}

// WaitForSync blocks until the three caches hold a full list, or ctx is
// done; it reports whether they synced. ServiceProfiles are not waited
// for: endpoints must not wait on route configuration (nor on its CRD
// being installed), and a profile that arrives later wakes the streams.
func (s *KubeSource) WaitForSync(ctx context.Context) bool {
	return cache.WaitForCacheSync(ctx.Done(), s.pods.HasSynced, s.services.HasSynced, s.slices.HasSynced)
}

// Shutdown waits for the informers to stop after Start's ctx is cancelled.
func (s *KubeSource) Shutdown() {
	s.informers.Shutdown()
	if s.dynamic != nil {
		s.dynamic.Shutdown()
	}
}

// Changed implements Source.
func (s *KubeSource) Changed() <-chan struct{} { return s.changes.Changed() }

// PodByIP implements Source.
func (s *KubeSource) PodByIP(ip netip.Addr) (Pod, bool) {
	objs, _ := s.pods.GetIndexer().ByIndex(indexPodIP, ip.Unmap().String())
	for _, o := range objs {
		// An IP may briefly index a finished pod and its successor.
		if p, ok := o.(*corev1.Pod); ok && p.Status.Phase == corev1.PodRunning {
			return podModel(p), true
		}
	}
	return Pod{}, false
}

// ServiceByIP implements Source.
func (s *KubeSource) ServiceByIP(ip netip.Addr, port uint16) (Service, []Backend, bool, bool) {
	ip = ip.Unmap()
	objs, _ := s.services.GetIndexer().ByIndex(indexClusterIP, ip.String())
	if len(objs) == 0 {
		return Service{}, nil, false, false
	}
	svc, ok := objs[0].(*corev1.Service)
	if !ok {
		return Service{}, nil, false, false
	}
	model := Service{Namespace: svc.Namespace, Name: svc.Name}
	portName, hasPort := "", false
	for _, p := range svc.Spec.Ports {
		if p.Port == int32(port) && (p.Protocol == "" || p.Protocol == corev1.ProtocolTCP) {
			portName, hasPort = p.Name, true
			break
		}
	}
	if !hasPort {
		return model, nil, false, true
	}
	family := discoveryv1.AddressTypeIPv4
	if ip.Is6() {
		family = discoveryv1.AddressTypeIPv6
	}
	sls, _ := s.slices.GetIndexer().ByIndex(indexService, svc.Namespace+"/"+svc.Name)
	var out []Backend
	for _, o := range sls {
		sl, ok := o.(*discoveryv1.EndpointSlice)
		if !ok || sl.AddressType != family {
			continue
		}
		// The slice names its ports after the Service's, with the target
		// port resolved per pod: this is how a named targetPort maps.
		target, found := slicePort(sl, portName)
		if !found {
			continue
		}
		for _, ep := range sl.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				addr, err := netip.ParseAddr(a)
				if err != nil {
					continue
				}
				out = append(out, Backend{Addr: netip.AddrPortFrom(addr.Unmap(), target), Pod: s.endpointPod(sl.Namespace, ep.TargetRef, addr)})
			}
		}
	}
	return model, out, true, true
}

// ServicesOf implements Source.
func (s *KubeSource) ServicesOf(addr netip.AddrPort) []ServicePort {
	ip := addr.Addr().Unmap()
	objs, _ := s.slices.GetIndexer().ByIndex(indexEndpoint, ip.String())
	var out []ServicePort
	for _, o := range objs {
		sl, ok := o.(*discoveryv1.EndpointSlice)
		if !ok {
			continue
		}
		name := sl.Labels[discoveryv1.LabelServiceName]
		if name == "" {
			continue
		}
		so, ok, _ := s.services.GetIndexer().GetByKey(sl.Namespace + "/" + name)
		if !ok {
			continue
		}
		svc, ok := so.(*corev1.Service)
		if !ok {
			continue
		}
		for _, sp := range svc.Spec.Ports {
			if sp.Protocol != "" && sp.Protocol != corev1.ProtocolTCP {
				continue
			}
			if target, found := slicePort(sl, sp.Name); found && target == addr.Port() {
				out = append(out, ServicePort{Service: Service{Namespace: svc.Namespace, Name: svc.Name}, Port: uint16(sp.Port)})
			}
		}
	}
	slices.SortFunc(out, compareServicePorts)
	return slices.Compact(out)
}

// Profile implements Source.
func (s *KubeSource) Profile(namespace, name string) (*ProfileSpec, bool) {
	if s.profiles == nil {
		return nil, false
	}
	o, ok, _ := s.profiles.GetIndexer().GetByKey(namespace + "/" + name)
	if !ok {
		return nil, false
	}
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return nil, false
	}
	spec, _, _ := unstructured.NestedMap(u.Object, "spec")
	var out ProfileSpec
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(spec, &out); err != nil {
		// The API server validated it against the CRD schema; what still
		// fails to decode cannot be applied.
		return nil, false
	}
	return &out, true
}

// ServiceProfileResource is the ServiceProfile CRD's resource.
func ServiceProfileResource() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "meshctl.io", Version: "v1alpha1", Resource: "serviceprofiles"}
}

// endpointPod finds the pod behind an endpoint: by its target reference,
// else by its address.
func (s *KubeSource) endpointPod(ns string, ref *corev1.ObjectReference, addr netip.Addr) *Pod {
	if ref != nil && ref.Kind == "Pod" {
		if ref.Namespace != "" {
			ns = ref.Namespace
		}
		if o, ok, _ := s.pods.GetIndexer().GetByKey(ns + "/" + ref.Name); ok {
			if p, ok := o.(*corev1.Pod); ok {
				m := podModel(p)
				return &m
			}
		}
	}
	if p, ok := s.PodByIP(addr); ok {
		return &p
	}
	return nil
}

// slicePort returns the number of the slice's TCP port called name.
func slicePort(sl *discoveryv1.EndpointSlice, name string) (uint16, bool) {
	for _, p := range sl.Ports {
		pname := ""
		if p.Name != nil {
			pname = *p.Name
		}
		if pname != name || p.Port == nil || *p.Port <= 0 || *p.Port > 65535 ||
			(p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP) {
			continue
		}
		return uint16(*p.Port), true
	}
	return 0, false
}

// podIPs indexes a pod by its IPs; host-network pods share the node's
// address and are never answered for.
func podIPs(obj any) ([]string, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok || p.Spec.HostNetwork {
		return nil, nil
	}
	var out []string
	for _, ip := range p.Status.PodIPs {
		if a, err := netip.ParseAddr(ip.IP); err == nil {
			out = append(out, a.Unmap().String())
		}
	}
	if len(out) == 0 && p.Status.PodIP != "" {
		if a, err := netip.ParseAddr(p.Status.PodIP); err == nil {
			out = append(out, a.Unmap().String())
		}
	}
	return out, nil
}

// clusterIPs indexes a Service by its cluster IPs (none when headless).
func clusterIPs(obj any) ([]string, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil, nil
	}
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	var out []string
	for _, ip := range ips {
		if a, err := netip.ParseAddr(ip); err == nil {
			out = append(out, a.Unmap().String())
		}
	}
	return out, nil
}

// sliceService indexes an EndpointSlice by its Service's namespace/name.
func sliceService(obj any) ([]string, error) {
	sl, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil, nil
	}
	name := sl.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return nil, nil
	}
	return []string{sl.Namespace + "/" + name}, nil
}

// sliceAddresses indexes an EndpointSlice by the addresses of its
// endpoints, ready or not: a pod serving a port is its Service's even while
// it is not ready.
func sliceAddresses(obj any) ([]string, error) {
	sl, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil, nil
	}
	var out []string
	for _, ep := range sl.Endpoints {
		for _, a := range ep.Addresses {
			if addr, err := netip.ParseAddr(a); err == nil {
				out = append(out, addr.Unmap().String())
			}
		}
	}
	return out, nil
}

// podChanged reports whether an update changed what resolution reads.
func podChanged(o, n any) bool {
	op, ok1 := o.(*corev1.Pod)
	np, ok2 := n.(*corev1.Pod)
	if !ok1 || !ok2 {
		return true
	}
	return op.Status.Phase != np.Status.Phase || op.Status.PodIP != np.Status.PodIP ||
		!reflect.DeepEqual(op.Status.PodIPs, np.Status.PodIPs) || op.Spec.HostNetwork != np.Spec.HostNetwork ||
		!reflect.DeepEqual(podModel(op), podModel(np))
}
