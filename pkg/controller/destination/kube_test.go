package destination

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	destinationv1 "github.com/meshctl/meshctl/pkg/api/destination/v1"
	"github.com/meshctl/meshctl/pkg/kube/kubefake"
)

// The cluster of the resolution tests: a meshed web pod (native sidecar,
// opaque 6379), an unmeshed legacy pod, a meshed pod with the proxy as a
// plain container, a host-network pod, a pending pod, and the web Service
// whose named targetPort "web" is 8080 on its pods.
var clusterManifests = []string{ //nolint:gochecknoglobals // test fixture
	`apiVersion: v1
kind: Pod
metadata:
  name: web-7d9f-abcde
  namespace: demo
  labels: {app: web, meshctl.io/proxy-deployment: web, pod-template-hash: 7d9f}
spec:
  serviceAccountName: web
  initContainers:
  - name: meshctl-init
    image: meshctl
    env:
    - {name: MESHCTL_PROXY_INIT_SKIP_INBOUND_PORTS, value: "4190,4191,9443"}
  - name: meshctl-proxy
    image: meshctl
    restartPolicy: Always
    env:
    - {name: MESHCTL_PROXY_OPAQUE_PORTS, value: "25,6379,9000-9010"}
  containers:
  - name: web
    image: web
    ports: [{name: web, containerPort: 8080}]
status:
  phase: Running
  podIP: 10.1.0.5
  podIPs: [{ip: 10.1.0.5}]`,
	`apiVersion: v1
kind: Pod
metadata:
  name: legacy-0
  namespace: demo
  ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: legacy, uid: u1, controller: true}]
spec:
  containers: [{name: legacy, image: legacy}]
status: {phase: Running, podIP: 10.1.0.6, podIPs: [{ip: 10.1.0.6}]}`,
	`apiVersion: v1
kind: Pod
metadata:
  name: api-5c4b-xyz12
  namespace: demo
  annotations: {config.meshctl.io/opaque-ports: "5432"}
  labels: {pod-template-hash: 5c4b}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-5c4b, uid: u2, controller: true}]
spec:
  containers:
  - {name: api, image: api}
  - {name: meshctl-proxy, image: meshctl}
status: {phase: Running, podIP: 10.1.0.7, podIPs: [{ip: 10.1.0.7}]}`,
	`apiVersion: v1
kind: Pod
metadata: {name: node-agent, namespace: kube-system}
spec:
  hostNetwork: true
  containers:
  - {name: agent, image: agent}
  - {name: meshctl-proxy, image: meshctl}
status: {phase: Running, podIP: 172.18.0.2, podIPs: [{ip: 172.18.0.2}]}`,
	`apiVersion: v1
kind: Pod
metadata: {name: starting, namespace: demo}
spec:
  containers: [{name: meshctl-proxy, image: meshctl}]
status: {phase: Pending, podIP: 10.1.0.8, podIPs: [{ip: 10.1.0.8}]}`,
	`apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  clusterIP: 10.96.0.10
  clusterIPs: [10.96.0.10]
  ports:
  - {name: http, port: 80, targetPort: web}
  - {name: metrics, port: 9090, targetPort: 9090}`,
	`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  namespace: demo
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports:
- {name: http, port: 8080, protocol: TCP}
- {name: metrics, port: 9090, protocol: TCP}
endpoints:
- addresses: [10.1.0.5]
  conditions: {ready: true}
  targetRef: {kind: Pod, namespace: demo, name: web-7d9f-abcde}
- addresses: [10.1.0.6]
  conditions: {ready: false}
  targetRef: {kind: Pod, namespace: demo, name: legacy-0}
- addresses: [10.1.0.99]`,
	`apiVersion: v1
kind: Service
metadata: {name: empty, namespace: demo}
spec:
  clusterIP: 10.96.0.11
  ports: [{name: http, port: 80}]`,
}

const (
	webIdentity = "web.demo.serviceaccount.identity.meshctl.cluster.local"
	apiIdentity = "default.demo.serviceaccount.identity.meshctl.cluster.local"
)

// syncedKubeSource runs a KubeSource over the fake clientset until the
// test ends.
func syncedKubeSource(t *testing.T, manifests ...string) *KubeSource {
	t.Helper()
	src, _ := syncedKubeSourceWithDynamic(t, manifests...)
	return src
}

// syncedKubeSourceWithDynamic is syncedKubeSource that also returns the
// fake dynamic client its ServiceProfile informer watches.
func syncedKubeSourceWithDynamic(t *testing.T, manifests ...string) (*KubeSource, *dynamicfake.FakeDynamicClient) {
	t.Helper()
	f, err := kubefake.NewFakeFactory(manifests...)
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewKubeSource(f.Clientset, f.DynamicClient)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); src.Shutdown() })
	src.Start(ctx)
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if !src.WaitForSync(wctx) {
		t.Fatal("caches did not sync")
	}
	return src, f.DynamicClient
}

func TestResolveKube(t *testing.T) {
	r := Resolver{Source: syncedKubeSource(t, clusterManifests...), MeshNamespace: "meshctl", TrustDomain: "cluster.local"}
	webLabels := func(extra ...string) map[string]string {
		m := map[string]string{"dst_namespace": "demo", "dst_pod": "web-7d9f-abcde", "dst_deployment": "web", "dst_serviceaccount": "web"}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	unknown := func(addr string) *destinationv1.Update {
		return &destinationv1.Update{Kind: destinationv1.Kind_KIND_UNKNOWN, Endpoints: []*destinationv1.Endpoint{{Addr: addr, Weight: 1}}}
	}
	cases := []struct {
		name   string
		target string
		want   *destinationv1.Update
	}{
		{"meshed pod IP", "10.1.0.5:8080", &destinationv1.Update{Exists: true, Kind: destinationv1.Kind_KIND_POD, Endpoints: []*destinationv1.Endpoint{
			{Addr: "10.1.0.5:8080", Weight: 1, TlsIdentity: webIdentity, MetricLabels: webLabels(), ProtocolHint: destinationv1.ProtocolHint_PROTOCOL_HINT_H2},
		}}},
		{"meshed pod IP, a port its proxy lets through: the application, in plaintext", "10.1.0.5:9443", &destinationv1.Update{Exists: true, Kind: destinationv1.Kind_KIND_POD, Endpoints: []*destinationv1.Endpoint{
			{Addr: "10.1.0.5:9443", Weight: 1, MetricLabels: webLabels()},
		}}},
		{"meshed pod IP, opaque port from the proxy's env", "10.1.0.5:9005", &destinationv1.Update{Exists: true, Kind: destinationv1.Kind_KIND_POD, Endpoints: []*destinationv1.Endpoint{
			{Addr: "10.1.0.5:9005", Weight: 1, TlsIdentity: webIdentity, MetricLabels: webLabels(), ProtocolHint: destinationv1.ProtocolHint_PROTOCOL_HINT_OPAQUE},
		}}},
		{"meshed pod with a plain proxy container, default SA, deployment from its ReplicaSet, opaque from the annotation", "10.1.0.7:5432", &destinationv1.Update{Exists: true, Kind: destinationv1.Kind_KIND_POD, Endpoints: []*destinationv1.Endpoint{
			{Addr: "10.1.0.7:5432", Weight: 1, TlsIdentity: apiIdentity, ProtocolHint: destinationv1.ProtocolHint_PROTOCOL_HINT_OPAQUE,
				MetricLabels: map[string]string{"dst_namespace": "demo", "dst_pod": "api-5c4b-xyz12", "dst_deployment": "api", "dst_serviceaccount": "default"}},
		}}},
		{"unmeshed pod IP: no identity", "10.1.0.6:80", &destinationv1.Update{Exists: true, Kind: destinationv1.Kind_KIND_POD, Endpoints: []*destinationv1.Endpoint{
			{Addr: "10.1.0.6:80", Weight: 1, MetricLabels: map[string]string{"dst_namespace": "demo", "dst_pod": "legacy-0", "dst_statefulset": "legacy", "dst_serviceaccount": "default"}},
		}}},
		{"host-network pod: unknown", "172.18.0.2:10250", unknown("172.18.0.2:10250")},
		{"pending pod: unknown", "10.1.0.8:80", unknown("10.1.0.8:80")},
		{"ClusterIP with a named targetPort: ready endpoints only", "10.96.0.10:80", &destinationv1.Update{Exists: true, Kind: destinationv1.Kind_KIND_SERVICE, Endpoints: []*destinationv1.Endpoint{
			{Addr: "10.1.0.5:8080", Weight: 1, TlsIdentity: webIdentity, MetricLabels: webLabels("dst_service", "web"), ProtocolHint: destinationv1.ProtocolHint_PROTOCOL_HINT_H2},
			{Addr: "10.1.0.99:8080", Weight: 1, MetricLabels: map[string]string{"dst_namespace": "demo", "dst_service": "web"}},
		}}},
		{"ClusterIP, second port", "10.96.0.10:9090", &destinationv1.Update{Exists: true, Kind: destinationv1.Kind_KIND_SERVICE, Endpoints: []*destinationv1.Endpoint{
			{Addr: "10.1.0.5:9090", Weight: 1, TlsIdentity: webIdentity, MetricLabels: webLabels("dst_service", "web"), ProtocolHint: destinationv1.ProtocolHint_PROTOCOL_HINT_H2},
			{Addr: "10.1.0.99:9090", Weight: 1, MetricLabels: map[string]string{"dst_namespace": "demo", "dst_service": "web"}},
		}}},
		{"ClusterIP, port the Service lacks: no endpoints", "10.96.0.10:443", &destinationv1.Update{Exists: true, Kind: destinationv1.Kind_KIND_SERVICE, Endpoints: []*destinationv1.Endpoint{}}},
		{"Service without slices: no endpoints", "10.96.0.11:80", &destinationv1.Update{Exists: true, Kind: destinationv1.Kind_KIND_SERVICE, Endpoints: []*destinationv1.Endpoint{}}},
		{"unknown IP", "192.0.2.1:443", unknown("192.0.2.1:443")},
		{"IPv4-mapped IPv6 target is the IPv4 pod", "[::ffff:10.1.0.6]:80", &destinationv1.Update{Exists: true, Kind: destinationv1.Kind_KIND_POD, Endpoints: []*destinationv1.Endpoint{
			{Addr: "10.1.0.6:80", Weight: 1, MetricLabels: map[string]string{"dst_namespace": "demo", "dst_pod": "legacy-0", "dst_statefulset": "legacy", "dst_serviceaccount": "default"}},
		}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := r.Resolve(netip.MustParseAddrPort(tc.target))
			if !proto.Equal(got, tc.want) {
				t.Errorf("Resolve(%s):\n got %s\nwant %s", tc.target, prototext.Format(got), prototext.Format(tc.want))
			}
		})
	}
}

func TestKubeSourceWakesOnChange(t *testing.T) {
	f, err := kubefake.NewFakeFactory(clusterManifests...)
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewKubeSource(f.Clientset, f.DynamicClient)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer func() { cancel(); src.Shutdown() }()
	src.Start(ctx)
	if !src.WaitForSync(ctx) {
		t.Fatal("caches did not sync")
	}
	changed := src.Changed()
	if err := f.Clientset.CoreV1().Services("demo").Delete(ctx, "empty", metav1DeleteOptions()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-ctx.Done():
		t.Fatal("no change signalled after a Service was deleted")
	}
	r := Resolver{Source: src, MeshNamespace: "meshctl", TrustDomain: "cluster.local"}
	deadline := time.Now().Add(5 * time.Second)
	for r.Resolve(netip.MustParseAddrPort("10.96.0.11:80")).GetExists() {
		if time.Now().After(deadline) {
			t.Fatal("deleted Service still resolves")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func metav1DeleteOptions() metav1.DeleteOptions { return metav1.DeleteOptions{} }
