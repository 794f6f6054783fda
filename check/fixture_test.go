package check

import (
	"context"
	"errors"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// fixture is a healthy installed cluster, described as objects that tests
// mutate before building the Env: the "true negative" baseline every check
// must pass on.
type fixture struct {
	now        time.Time
	objects    []runtime.Object
	crds       []*unstructured.Unstructured
	version    string
	deny       map[string]bool // resource names SelfSubjectAccessReviews refuse
	dataNS     string          // --proxy --namespace
	manifest   []Object
	crdObjects []Object
	prom       *fakePrometheus // the viz Prometheus behind services/proxy; nil: none
	// chains are what each pod's proxy serves at /identity, by
	// "namespace/name"; a pod without one answers 503.
	chains map[string][]byte
	root   *identity.CA
	issuer *identity.CA
}

const ns = "meshctl"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	root, err := identity.GenerateRoot(identity.GenerateOptions{CommonName: "root.meshctl.cluster.local", Lifetime: 10 * 365 * 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := root.IssueIntermediate(identity.GenerateOptions{CommonName: "identity.meshctl.cluster.local", Lifetime: 365 * 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	webhookCA, err := identity.GenerateRoot(identity.GenerateOptions{CommonName: "webhook-ca", Lifetime: 365 * 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	servingCrt, servingKey, err := webhookCA.IssueServing([]string{"meshctl-injector.meshctl.svc"}, 365*24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: ns} }
	f := &fixture{now: now, version: "v1.37.2", deny: map[string]bool{}, root: root, issuer: issuer, chains: map[string][]byte{}}
	f.chains[ns+"/meshctl-identity-abc"] = f.leaf(t, issuer, "meshctl-identity.meshctl.serviceaccount.identity.meshctl.cluster.local", 24*time.Hour)
	f.chains["shop/web-1"] = f.leaf(t, issuer, "web.shop.serviceaccount.identity.meshctl.cluster.local", 24*time.Hour)
	webRS := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-7d9", Namespace: "shop", OwnerReferences: []metav1.OwnerReference{controllerRef("Deployment", "web")}}}
	f.objects = []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.ConfigMap{ObjectMeta: meta(meshapi.ConfigMapName), Data: map[string]string{meshapi.ConfigMapVersionKey: "v1.0.0"}},
		&corev1.ConfigMap{ObjectMeta: meta(meshapi.TrustRootsConfigMapName), Data: map[string]string{meshapi.TrustRootsKey: string(root.CertPEM)}},
		&corev1.Secret{ObjectMeta: meta(meshapi.IssuerSecretName), Data: map[string][]byte{"tls.crt": issuer.CertPEM, "tls.key": issuer.KeyPEM}},
		&corev1.Secret{ObjectMeta: meta(meshapi.InjectorTLSSecretName), Data: map[string][]byte{"tls.crt": servingCrt, "tls.key": servingKey}},
		&admissionv1.MutatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: meshapi.InjectorWebhookName},
			Webhooks: []admissionv1.MutatingWebhook{{Name: "proxy-injector.meshctl.io", ClientConfig: admissionv1.WebhookClientConfig{
				Service: &admissionv1.ServiceReference{Name: "meshctl-injector", Namespace: ns}, CABundle: webhookCA.CertPEM,
			}}},
		},
		&corev1.ServiceAccount{ObjectMeta: meta("meshctl-identity")},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node"}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.NewTime(now.Add(-10 * time.Second))}}}},
		readyPod("meshctl-identity-abc", "identity"),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
		meshedPod("web-1", string(root.CertPEM), "v1.0.0", true),
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}},
		webRS,
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "meshctl-injector", Namespace: ns}},
	}
	f.manifest = []Object{
		{APIVersion: "v1", Kind: "Namespace", Name: ns},
		{APIVersion: "v1", Kind: "ServiceAccount", Name: "meshctl-identity", Namespace: ns},
		{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingWebhookConfiguration", Name: meshapi.InjectorWebhookName},
		{APIVersion: "apps/v1", Kind: "Deployment", Name: "meshctl-identity", Namespace: ns},
		{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Name: "meshctl-identity"},
	}
	f.crdObjects = []Object{{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition", Name: "servers.policy.meshctl.io", Versions: []string{"v1beta1"}}}
	f.crds = []*unstructured.Unstructured{crd("servers.policy.meshctl.io", "v1beta1", true)}
	return f
}

func readyPod(name, component string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{meshapi.LabelControlPlaneComponent: component}},
		Status: corev1.PodStatus{
			Phase:                 corev1.PodRunning,
			Conditions:            []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			InitContainerStatuses: []corev1.ContainerStatus{{Name: meshapi.ProxyContainerName, Ready: true}},
		},
	}
}

func controllerRef(kind, name string) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{APIVersion: "apps/v1", Kind: kind, Name: name, Controller: &yes}
}

// leaf issues a proxy certificate for name and returns the chain the proxy
// serves at /identity: the leaf, then the issuer.
func (f *fixture) leaf(t *testing.T, issuer *identity.CA, name string, lifetime time.Duration) []byte {
	t.Helper()
	crt, _, err := issuer.IssueServing([]string{name}, lifetime, f.now.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	return append(crt, issuer.CertPEM...)
}

// identityReactor serves the proxies' /identity on pods/proxy.
func (f *fixture) identityReactor(a k8stesting.Action) (bool, rest.ResponseWrapper, error) {
	pa := a.(k8stesting.ProxyGetAction)
	if pa.GetPort() != "4191" || pa.GetPath() != "/identity" {
		return true, proxyAnswer{err: errors.New("the server could not find the requested resource")}, nil
	}
	chain, ok := f.chains[pa.GetNamespace()+"/"+pa.GetName()]
	if !ok {
		return true, proxyAnswer{err: errors.New("the server is currently unable to handle the request (get pods " + pa.GetName() + ":4191)")}, nil
	}
	return true, proxyAnswer{body: chain}, nil
}

// meshedPod is an injected pod in namespace shop whose proxy is ready or not.
func meshedPod(name, anchors, version string, ready bool) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "shop",
			OwnerReferences: []metav1.OwnerReference{controllerRef("ReplicaSet", "web-7d9")},
			Labels:          map[string]string{meshapi.LabelControlPlaneNS: ns},
			Annotations:     map[string]string{meshapi.AnnotationTrustRootSHA256: sha256Hex(anchors), meshapi.AnnotationProxyVersion: version},
		},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: meshapi.InitContainerName}, {Name: meshapi.ProxyContainerName}},
			Containers:     []corev1.Container{{Name: "app"}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, InitContainerStatuses: []corev1.ContainerStatus{{Name: meshapi.ProxyContainerName, Ready: ready}}},
	}
}

func crd(name, version string, establishedTrue bool) *unstructured.Unstructured {
	status := "False"
	if establishedTrue {
		status = "True"
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": name},
		"spec":       map[string]any{"versions": []any{map[string]any{"name": version, "served": true}}},
		"status":     map[string]any{"conditions": []any{map[string]any{"type": "Established", "status": status}}},
	}}
}

func clusterRole(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": name},
	}}
}

// env builds the Env from the fixture's current state.
func (f *fixture) env() *Env {
	cs := fake.NewClientset(f.objects...)
	cs.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &version.Info{Major: "1", Minor: f.version[3:5], GitVersion: f.version}
	cs.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		review.Status.Allowed = !f.deny[review.Spec.ResourceAttributes.Resource]
		return true, review, nil
	})
	cs.PrependProxyReactor("pods", f.identityReactor)
	if f.prom != nil {
		cs.PrependProxyReactor("services", f.prom.reactor)
	}
	dynObjs := []runtime.Object{clusterRole("meshctl-identity")}
	for _, c := range f.crds {
		dynObjs = append(dynObjs, c)
	}
	for _, o := range f.objects {
		dynObjs = append(dynObjs, o)
	}
	dyn := dynamicfake.NewSimpleDynamicClient(scheme.Scheme, dynObjs...)
	return &Env{
		Kube: cs, Dynamic: dyn, Namespace: ns, CLIVersion: "v1.0.0",
		Manifest: f.manifest, CRDManifest: f.crdObjects,
		Now: func() time.Time { return f.now }, CallTimeout: 2 * time.Second,
		DataPlaneNamespace: f.dataNS,
	}
}

// without removes objects of the given name.
func (f *fixture) without(name string) {
	var kept []runtime.Object
	for _, o := range f.objects {
		if m, ok := o.(metav1.Object); ok && m.GetName() == name {
			continue
		}
		kept = append(kept, o)
	}
	f.objects = kept
}

func runCheck(t *testing.T, code string, env *Env) error {
	t.Helper()
	for _, cat := range Catalogue() {
		for _, c := range cat.Checks {
			if c.Code == code {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				return runGuarded(ctx, env, c)
			}
		}
	}
	t.Fatalf("no check %s", code)
	return nil
}

// unmeshedPod is a running pod without meshctl's containers.
func unmeshedPod(namespace, name string, annotations map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Annotations: annotations},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

// withInjection turns injection on for namespace shop (and, to no effect,
// for namespaces the webhook never sees: the control plane's, kube-system,
// and one labelled to keep the webhook away) and adds the unmeshed pods the
// webhook rightly leaves alone: opted out (annotated, or labelled for the
// webhook's objectSelector), on the host network, finished, in a namespace
// without the annotation, or in those the webhook never sees.
func withInjection(f *fixture) {
	enabled := map[string]string{meshapi.AnnotationInject: meshapi.InjectEnabled}
	f.without("shop")
	f.without(ns)
	optedOut := unmeshedPod("shop", "cron-1", map[string]string{meshapi.AnnotationInject: meshapi.InjectDisabled})
	hostNet := unmeshedPod("shop", "node-agent", nil)
	hostNet.Spec.HostNetwork = true
	labelled := unmeshedPod("shop", "report-1", nil)
	labelled.Labels = map[string]string{meshapi.AnnotationInject: meshapi.InjectDisabled} // the webhook's objectSelector
	done := unmeshedPod("shop", "migrate-x", nil)
	done.OwnerReferences = []metav1.OwnerReference{controllerRef("Job", "migrate")}
	done.Status.Phase = corev1.PodSucceeded
	f.objects = append(f.objects,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Annotations: enabled}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Annotations: enabled}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", Annotations: enabled}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "legacy", Annotations: enabled, Labels: map[string]string{meshapi.AdmissionWebhooksLabel: "disabled"}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "plain"}},
		optedOut, labelled, hostNet, done,
		unmeshedPod("plain", "tool", nil),
		unmeshedPod("kube-system", "coredns-1", nil),
		unmeshedPod("legacy", "app-1", nil),
	)
}

// withUnmeshed adds, on top of withInjection, a pod of Deployment shop/api
// that started without the proxy in the enabled namespace, and a bare pod
// annotated enabled in namespace plain.
func withUnmeshed(f *fixture) {
	withInjection(f)
	api := unmeshedPod("shop", "api-5c6-q2x", nil)
	api.OwnerReferences = []metav1.OwnerReference{controllerRef("ReplicaSet", "api-5c6")}
	f.objects = append(f.objects,
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop"}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "api-5c6", Namespace: "shop", OwnerReferences: []metav1.OwnerReference{controllerRef("Deployment", "api")}}},
		api,
		unmeshedPod("plain", "debug", map[string]string{meshapi.AnnotationInject: meshapi.InjectEnabled}),
	)
}
