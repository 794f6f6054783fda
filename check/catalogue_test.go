package check

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// TestCatalogueRows gives every check a "no false positive" row (it passes
// on a healthy cluster) and at least one "true positive" row (it fails, with
// an error naming the problem, on a broken one).
func TestCatalogueRows(t *testing.T) {
	preInstall := func(f *fixture) { f.without(ns) }
	tests := []struct {
		code    string
		name    string
		mutate  func(t *testing.T, f *fixture)
		wantErr string // empty: must pass
	}{
		{"MESH101", "client built", nil, ""},
		{"MESH102", "api answers", nil, ""},
		{"MESH103", "1.37 is supported", nil, ""},
		{"MESH103", "1.28 is too old", func(_ *testing.T, f *fixture) { f.version = "v1.28.5" }, "older than 1.29"},
		{"MESH110", "namespace absent", func(_ *testing.T, f *fixture) { preInstall(f) }, ""},
		{"MESH110", "namespace exists", nil, `namespace "meshctl" exists`},
		{"MESH111", "may create everything", nil, ""},
		{"MESH111", "clusterroles denied", func(_ *testing.T, f *fixture) { f.deny["clusterroles"] = true }, "cannot create: clusterroles.rbac.authorization.k8s.io"},
		{"MESH112", "may read secrets", nil, ""},
		{"MESH112", "secrets denied", func(_ *testing.T, f *fixture) { f.deny["secrets"] = true }, "you may not get secrets in meshctl"},
		{"MESH113", "clocks agree", nil, ""},
		{"MESH113", "node an hour ahead", func(_ *testing.T, f *fixture) { f.now = f.now.Add(-time.Hour) }, "away from this machine's clock"},
		{"MESH114", "no strict namespaces", nil, ""},
		{"MESH114", "restricted namespace", func(_ *testing.T, f *fixture) {
			f.objects = append(f.objects, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "secure", Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}})
		}, "secure (restricted)"},
		{"MESH201", "crds established", nil, ""},
		{"MESH201", "crd missing", func(_ *testing.T, f *fixture) { f.crds = nil }, "servers.policy.meshctl.io is missing"},
		{"MESH201", "crd old version", func(_ *testing.T, f *fixture) { f.crds[0] = crd("servers.policy.meshctl.io", "v1alpha1", true) }, "does not serve version v1beta1"},
		{"MESH201", "crd not established", func(_ *testing.T, f *fixture) { f.crds[0] = crd("servers.policy.meshctl.io", "v1beta1", false) }, "is not Established"},
		{"MESH202", "config present", nil, ""},
		{"MESH202", "config missing", func(_ *testing.T, f *fixture) { f.without(meshapi.ConfigMapName) }, "configmap meshctl/meshctl-config"},
		{"MESH203", "rbac present", nil, ""},
		{"MESH203", "clusterrole missing", func(_ *testing.T, f *fixture) {
			f.manifest = append(f.manifest, Object{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Name: "meshctl-policy"})
		}, "missing: ClusterRole meshctl-policy"},
		{"MESH204", "service accounts present", nil, ""},
		{"MESH204", "service account missing", func(_ *testing.T, f *fixture) { f.without("meshctl-identity") }, "missing: ServiceAccount meshctl/meshctl-identity"},
		{"MESH205", "webhook present", nil, ""},
		{"MESH205", "webhook deleted", func(_ *testing.T, f *fixture) { f.without(meshapi.InjectorWebhookName) }, "missing: MutatingWebhookConfiguration meshctl-proxy-injector"},
		{"MESH206", "pods ready", nil, ""},
		{"MESH206", "image pull", func(_ *testing.T, f *fixture) {
			f.without("meshctl-identity-abc")
			p := readyPod("meshctl-identity-abc", "identity")
			p.Status.Conditions = nil
			p.Status.Phase = corev1.PodPending
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "identity", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "pull access denied"}}}}
			f.objects = append(f.objects, p)
		}, "pod meshctl-identity-abc: container identity is waiting: ErrImagePull: pull access denied"},
		{"MESH206", "unschedulable", func(_ *testing.T, f *fixture) {
			f.without("meshctl-identity-abc")
			p := readyPod("meshctl-identity-abc", "identity")
			p.Status.Phase = corev1.PodPending
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Message: "0/1 nodes are available: insufficient cpu"}}
			f.objects = append(f.objects, p)
		}, "pending, not scheduled: 0/1 nodes are available: insufficient cpu"},
		{"MESH206", "scaled to zero", func(_ *testing.T, f *fixture) { f.without("meshctl-identity-abc") }, "deployment meshctl-identity has no ready pod"},
		{"MESH207", "versions match", nil, ""},
		{"MESH207", "versions differ", func(_ *testing.T, f *fixture) {
			f.without(meshapi.ConfigMapName)
			f.objects = append(f.objects, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: meshapi.ConfigMapName, Namespace: ns}, Data: map[string]string{meshapi.ConfigMapVersionKey: "v0.9.0"}})
		}, "control plane is v0.9.0, CLI is v1.0.0"},
		{"MESH208", "control plane proxies ready", nil, ""},
		{"MESH208", "control plane proxy crash-looping", func(_ *testing.T, f *fixture) {
			f.without("meshctl-identity-abc")
			p := readyPod("meshctl-identity-abc", "identity")
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: meshapi.ProxyContainerName, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}
			f.objects = append(f.objects, p)
		}, "pod meshctl-identity-abc: proxy is waiting: CrashLoopBackOff"},
		{"MESH208", "control plane pod without proxy", func(_ *testing.T, f *fixture) {
			f.without("meshctl-identity-abc")
			p := readyPod("meshctl-identity-abc", "identity")
			p.Status.InitContainerStatuses = nil
			f.objects = append(f.objects, p)
		}, "no meshctl-proxy container"},
		{"MESH305", "control plane certificates current", nil, ""},
		{"MESH305", "certificate from a foreign root", func(t *testing.T, f *fixture) {
			f.chains[ns+"/meshctl-identity-abc"] = f.leaf(t, foreignIssuer(t, f), "meshctl-identity.meshctl.serviceaccount.identity.meshctl.cluster.local", 24*time.Hour)
		}, `pod meshctl-identity-abc: certificate "meshctl-identity.meshctl.serviceaccount.identity.meshctl.cluster.local" (issued by "identity.meshctl.cluster.local") does not chain to the current trust anchors`},
		{"MESH305", "certificate expiring within the hour", func(_ *testing.T, f *fixture) {
			f.now = f.now.Add(23*time.Hour + 30*time.Minute)
		}, "in 29m0s: the proxy is not renewing it"},
		{"MESH305", "short lifetime, renewed in time", func(t *testing.T, f *fixture) {
			f.chains[ns+"/meshctl-identity-abc"] = f.leaf(t, f.issuer, "meshctl-identity.meshctl.serviceaccount.identity.meshctl.cluster.local", 30*time.Minute)
		}, ""},
		{"MESH305", "certificate expired", func(t *testing.T, f *fixture) {
			f.chains[ns+"/meshctl-identity-abc"] = f.leaf(t, f.issuer, "meshctl-identity.meshctl.serviceaccount.identity.meshctl.cluster.local", 30*time.Minute)
			f.now = f.now.Add(time.Hour)
		}, "is not valid under the current trust anchors"},
		{"MESH305", "no certificate yet", func(_ *testing.T, f *fixture) { delete(f.chains, ns+"/meshctl-identity-abc") }, "pod meshctl-identity-abc: read the proxy's certificate"},
		{"MESH301", "anchors valid", nil, ""},
		{"MESH301", "anchors expired", func(_ *testing.T, f *fixture) { f.now = f.now.Add(11 * 365 * 24 * time.Hour) }, "expired on"},
		{"MESH301", "anchors garbage", func(_ *testing.T, f *fixture) {
			f.without(meshapi.TrustRootsConfigMapName)
			f.objects = append(f.objects, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: meshapi.TrustRootsConfigMapName, Namespace: ns}, Data: map[string]string{meshapi.TrustRootsKey: "not a certificate"}})
		}, "key ca-bundle.crt"},
		{"MESH302", "anchors far from expiry", nil, ""},
		{"MESH302", "anchors expire in 30 days", func(_ *testing.T, f *fixture) { f.now = f.now.Add(10*365*24*time.Hour - 30*24*time.Hour) }, "in 30 days"},
		{"MESH303", "issuer chains", nil, ""},
		{"MESH303", "foreign issuer", func(t *testing.T, f *fixture) {
			other, err := identity.GenerateRoot(identity.GenerateOptions{CommonName: "foreign", Lifetime: time.Hour * 24 * 365, Now: f.now})
			if err != nil {
				t.Fatal(err)
			}
			f.without(meshapi.IssuerSecretName)
			f.objects = append(f.objects, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: meshapi.IssuerSecretName, Namespace: ns}, Data: map[string][]byte{"tls.crt": other.CertPEM, "tls.key": other.KeyPEM}})
		}, "secret meshctl/meshctl-identity-issuer"},
		{"MESH303", "issuer expired", func(_ *testing.T, f *fixture) { f.now = f.now.Add(400 * 24 * time.Hour) }, "expired"},
		{"MESH304", "issuer far from expiry", nil, ""},
		{"MESH304", "issuer expires in 10 days", func(_ *testing.T, f *fixture) { f.now = f.now.Add(355 * 24 * time.Hour) }, "in 10 days"},
		{"MESH310", "webhook cert matches", nil, ""},
		{"MESH310", "ca bundle from another CA", func(t *testing.T, f *fixture) {
			other, err := identity.GenerateRoot(identity.GenerateOptions{CommonName: "other", Lifetime: time.Hour * 24 * 365, Now: f.now})
			if err != nil {
				t.Fatal(err)
			}
			crt, key, err := other.IssueServing([]string{"meshctl-injector.meshctl.svc"}, 24*time.Hour*365, f.now)
			if err != nil {
				t.Fatal(err)
			}
			f.without(meshapi.InjectorTLSSecretName)
			f.objects = append(f.objects, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: meshapi.InjectorTLSSecretName, Namespace: ns}, Data: map[string][]byte{"tls.crt": crt, "tls.key": key}})
		}, "is not valid for meshctl-injector.meshctl.svc under the webhook's caBundle"},
		{"MESH401", "all namespaces", nil, ""},
		{"MESH401", "missing namespace", func(_ *testing.T, f *fixture) { f.dataNS = "nope" }, "namespace nope"},
		{"MESH402", "proxies ready", nil, ""},
		{"MESH402", "proxy not ready", func(_ *testing.T, f *fixture) {
			f.without("web-1")
			f.objects = append(f.objects, meshedPod("web-1", "x", "v1.0.0", false))
		}, "pod shop/web-1: proxy is not ready"},
		{"MESH402", "nothing meshed", func(_ *testing.T, f *fixture) { f.without("web-1") }, "no meshed pods found"},
		{"MESH403", "anchors current", nil, ""},
		{"MESH403", "stale anchors", func(_ *testing.T, f *fixture) {
			f.without("web-1")
			f.objects = append(f.objects, meshedPod("web-1", "old anchors", "v1.0.0", true))
		}, "proxies started with other trust anchors: shop/web-1"},
		{"MESH404", "versions match", nil, ""},
		{"MESH404", "old proxy", func(_ *testing.T, f *fixture) {
			f.without("web-1")
			f.objects = append(f.objects, meshedPod("web-1", "x", "v0.9.0", true))
		}, "shop/web-1 (v0.9.0)"},
		{"MESH405", "data plane certificates current", nil, ""},
		{"MESH405", "stale trust root", func(t *testing.T, f *fixture) {
			f.chains["shop/web-1"] = f.leaf(t, foreignIssuer(t, f), "web.shop.serviceaccount.identity.meshctl.cluster.local", 24*time.Hour)
		}, `pod shop/web-1: certificate "web.shop.serviceaccount.identity.meshctl.cluster.local" (issued by "identity.meshctl.cluster.local") does not chain to the current trust anchors: it comes from another trust root`},
		{"MESH405", "certificate unreadable", func(_ *testing.T, f *fixture) { delete(f.chains, "shop/web-1") }, "pod shop/web-1: read the proxy's certificate"},
		{"MESH405", "rotated anchors bundle the old root", func(t *testing.T, f *fixture) {
			newRoot, err := identity.GenerateRoot(identity.GenerateOptions{CommonName: "root-2", Lifetime: 365 * 24 * time.Hour, Now: f.now})
			if err != nil {
				t.Fatal(err)
			}
			f.without(meshapi.TrustRootsConfigMapName)
			f.objects = append(f.objects, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: meshapi.TrustRootsConfigMapName, Namespace: ns}, Data: map[string]string{meshapi.TrustRootsKey: string(newRoot.CertPEM) + string(f.root.CertPEM)}})
		}, ""},
		{"MESH406", "nothing annotated", nil, ""},
		{"MESH406", "meshed, opted out, host network, finished, not annotated", func(_ *testing.T, f *fixture) { withInjection(f) }, ""},
		{"MESH406", "started without the proxy", func(_ *testing.T, f *fixture) { withUnmeshed(f) },
			"2 pods with injection enabled run without the meshctl-proxy container:\npod plain/debug (no owner)\npod shop/api-5c6-q2x (Deployment shop/api)"},
		{"MESH406", "one namespace", func(_ *testing.T, f *fixture) { withUnmeshed(f); f.dataNS = "plain" },
			"1 pod with injection enabled runs without the meshctl-proxy container:\npod plain/debug (no owner)"},
		{"MESH406", "listed up to ten", func(_ *testing.T, f *fixture) {
			withInjection(f)
			for i := range 12 {
				f.objects = append(f.objects, unmeshedPod("shop", fmt.Sprintf("batch-%02d", i), nil))
			}
		}, "12 pods with injection enabled run without the meshctl-proxy container:\npod shop/batch-00 (no owner)\n"},
		{"MESH406", "and the rest counted", func(_ *testing.T, f *fixture) {
			withInjection(f)
			for i := range 12 {
				f.objects = append(f.objects, unmeshedPod("shop", fmt.Sprintf("batch-%02d", i), nil))
			}
		}, "pod shop/batch-09 (no owner)\nand 2 more"},
		{"MESH501", "viz installed", func(_ *testing.T, f *fixture) { withViz(f) }, ""},
		{"MESH501", "viz not installed", nil, "namespace meshctl-viz"},
		{"MESH502", "prometheus ready", func(_ *testing.T, f *fixture) { withViz(f) }, ""},
		{"MESH502", "prometheus image pull", func(_ *testing.T, f *fixture) {
			withViz(f)
			f.without(meshapi.PrometheusName)
			f.objects = append(f.objects,
				&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: meshapi.PrometheusName, Namespace: meshapi.VizNamespace}},
				prometheusPod("ImagePullBackOff"))
		}, "pod meshctl-prometheus-7c9: container prometheus is waiting: ImagePullBackOff"},
		{"MESH502", "prometheus scaled to zero", func(_ *testing.T, f *fixture) {
			withViz(f)
			f.without(meshapi.PrometheusName)
			f.objects = append(f.objects, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: meshapi.PrometheusName, Namespace: meshapi.VizNamespace}})
		}, "deployment meshctl-prometheus has no ready pod"},
		{"MESH503", "prometheus answers", func(_ *testing.T, f *fixture) { withViz(f) }, ""},
		{"MESH503", "service proxy refused", func(_ *testing.T, f *fixture) {
			withViz(f)
			f.prom.err = errors.New(`services "http:meshctl-prometheus:9090" is forbidden`)
		}, "GET /-/ready from service meshctl-viz/meshctl-prometheus through the API server: services \"http:meshctl-prometheus:9090\" is forbidden"},
		{"MESH504", "every pod scraped", func(_ *testing.T, f *fixture) { withViz(f) }, ""},
		{"MESH504", "pod not discovered", func(_ *testing.T, f *fixture) {
			withViz(f)
			f.prom.bodies["/api/v1/targets"] = `{"status":"success","data":{"activeTargets":[]}}`
		}, "1 of 1 meshed pods are not scraped:\npod shop/web-1 has no scrape target"},
		{"MESH504", "target down", func(_ *testing.T, f *fixture) {
			withViz(f)
			f.prom.bodies["/api/v1/targets"] = strings.Replace(strings.Replace(vizTargetsUp, `"up"`, `"down"`, 1), `"lastError":""`, `"lastError":"connection refused"`, 1)
		}, "pod shop/web-1 is not scraped: connection refused"},
		{"MESH504", "not scraped yet", func(_ *testing.T, f *fixture) {
			withViz(f)
			f.prom.bodies["/api/v1/targets"] = strings.Replace(vizTargetsUp, `"up"`, `"unknown"`, 1)
		}, `pod shop/web-1 is not scraped yet (target health "unknown")`},
		{"MESH504", "nothing meshed", func(_ *testing.T, f *fixture) { withViz(f); f.without("web-1") }, "no meshed pods to scrape"},
		{"MESH311", "webhook cert far from expiry", nil, ""},
		{"MESH311", "webhook cert expires soon", func(_ *testing.T, f *fixture) { f.now = f.now.Add(340 * 24 * time.Hour) }, "in 25 days"},
	}
	covered := map[string][2]bool{}
	for _, tt := range tests {
		t.Run(tt.code+"/"+tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.mutate != nil {
				tt.mutate(t, f)
			}
			err := runCheck(t, tt.code, f.env())
			c := covered[tt.code]
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("false positive: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("passed; want an error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
			if tt.wantErr == "" {
				c[0] = true
			} else {
				c[1] = true
			}
			covered[tt.code] = c
		})
	}
	for _, cat := range Catalogue() {
		for _, c := range cat.Checks {
			if cov := covered[c.Code]; !cov[0] || (!cov[1] && c.Code != "MESH101" && c.Code != "MESH102") {
				t.Errorf("%s needs a passing and a failing row (have pass=%v fail=%v)", c.Code, cov[0], cov[1])
			}
		}
	}
}

func TestNoClient(t *testing.T) {
	env := newFixture(t).env()
	env.Kube, env.KubeErr = nil, errorString("load kubeconfig: no configuration")
	if err := runCheck(t, "MESH101", env); err == nil || !strings.Contains(err.Error(), "no configuration") {
		t.Fatalf("MESH101 = %v", err)
	}
	if err := runCheck(t, "MESH102", env); err == nil {
		t.Fatal("MESH102 passed without a client")
	}
}

// foreignIssuer is an issuer of the same name under another root: the
// stale-trust-root case after an anchor rotation.
func foreignIssuer(t *testing.T, f *fixture) *identity.CA {
	t.Helper()
	root, err := identity.GenerateRoot(identity.GenerateOptions{CommonName: "root.meshctl.cluster.local", Lifetime: 365 * 24 * time.Hour, Now: f.now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := root.IssueIntermediate(identity.GenerateOptions{CommonName: "identity.meshctl.cluster.local", Lifetime: 30 * 24 * time.Hour, Now: f.now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

type errorString string

func (e errorString) Error() string { return string(e) }

// TestNothingMeshedWaitsOnlyForPodsOnTheirWay: MESH402 retries (until
// --wait) while a pod may still turn out meshed, and reports at once when
// every pod has started without the proxy.
func TestNothingMeshedWaitsOnlyForPodsOnTheirWay(t *testing.T) {
	plain := func(name string, phase corev1.PodPhase, ready corev1.ConditionStatus) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
			Status:     corev1.PodStatus{Phase: phase, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: ready}}},
		}
	}
	for _, tt := range []struct {
		name      string
		pods      []*corev1.Pod
		wantFinal bool
	}{
		{"no pods yet", nil, false},
		{"unmeshed pod running", []*corev1.Pod{plain("late-1", corev1.PodRunning, corev1.ConditionTrue)}, true},
		{"job finished", []*corev1.Pod{plain("job-1", corev1.PodSucceeded, corev1.ConditionFalse)}, true},
		{"pod pending", []*corev1.Pod{plain("late-1", corev1.PodRunning, corev1.ConditionTrue), plain("late-2", corev1.PodPending, corev1.ConditionFalse)}, false},
		{"pod not ready", []*corev1.Pod{plain("late-1", corev1.PodRunning, corev1.ConditionFalse)}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.without("web-1")
			for _, p := range tt.pods {
				f.objects = append(f.objects, p)
			}
			err := runCheck(t, "MESH402", f.env())
			if err == nil || !strings.Contains(err.Error(), "no meshed pods found") {
				t.Fatalf("MESH402 = %v", err)
			}
			if isFinal(err) != tt.wantFinal {
				t.Fatalf("final = %v, want %v", isFinal(err), tt.wantFinal)
			}
		})
	}
}
