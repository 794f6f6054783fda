package install

import (
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/render"
	"github.com/meshctl/meshctl/templates"
)

// TestPatchChart renders the sidecar of one pod from the patch chart, as the
// injector and `meshctl inject` will, and checks that it is the same
// sidecar the control plane's own pods get.
func TestPatchChart(t *testing.T) {
	v, err := DefaultValues(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	v.Identity.TrustAnchorsPEM = string(cert(t, "anchor.crt"))
	v.Proxy.TapTokenSHA256 = tapHash(fixedCerts(t).Tap) // as install sets it
	m, err := v.ToMap()
	if err != nil {
		t.Fatal(err)
	}
	m["generated"] = map[string]any{"version": "v0.0.0-test"}
	m["workload"] = map[string]any{"kind": "deployment", "name": "web", "namespace": "shop"}
	docs, err := render.Render(render.Options{FS: templates.FS, Chart: "patch", Partials: []string{PartialsDir}, Namespace: "meshctl", Values: m})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 {
		t.Fatalf("%d documents", len(docs))
	}
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict([]byte(docs[0].Content), &pod); err != nil {
		t.Fatalf("patch is not a strict partial pod: %v", err)
	}
	ic := pod.Spec.InitContainers
	if len(ic) != 2 || ic[0].Name != meshapi.InitContainerName || ic[1].Name != meshapi.ProxyContainerName {
		t.Fatalf("init containers %v", ic)
	}
	proxy := ic[1]
	if proxy.RestartPolicy == nil || *proxy.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Error("the proxy is not a native sidecar")
	}
	if proxy.LivenessProbe.HTTPGet.Path != "/live" || proxy.ReadinessProbe.HTTPGet.Path != "/ready" || proxy.ReadinessProbe.HTTPGet.Port.IntValue() != meshapi.ProxyAdminPort {
		t.Error("proxy probes are not /live and /ready on the admin port")
	}
	caps := ic[0].SecurityContext.Capabilities.Add
	if len(caps) != 2 || caps[0] != "NET_ADMIN" || caps[1] != "NET_RAW" {
		t.Errorf("meshctl-init capabilities %v", caps)
	}
	if got := pod.Labels[meshapi.ProxyKindLabel("deployment")]; got != "web" {
		t.Errorf("owner label %q", got)
	}
	if pod.Labels[meshapi.LabelWorkloadNS] != "shop" || pod.Annotations[meshapi.AnnotationTrustRootSHA256] == "" {
		t.Errorf("labels %v annotations %v", pod.Labels, pod.Annotations)
	}
	var audience string
	for _, vol := range pod.Spec.Volumes {
		if vol.Projected != nil {
			audience = vol.Projected.Sources[0].ServiceAccountToken.Audience
		}
	}
	if audience != meshapi.TokenAudience {
		t.Errorf("token audience %q", audience)
	}

	// The control plane's pods carry the very same proxy container.
	var out strings.Builder
	if err := Render(t.Context(), offline(t), &out); err != nil {
		t.Fatal(err)
	}
	for _, obj := range decodeAllStrict(t, []byte(out.String())) {
		d, ok := obj.(*appsv1.Deployment)
		if !ok || d.Name != "meshctl-destination" {
			continue
		}
		got := d.Spec.Template.Spec.InitContainers[1]
		if !reflect.DeepEqual(got, proxy) {
			a, _ := yaml.Marshal(got)
			b, _ := yaml.Marshal(proxy)
			t.Fatalf("control-plane proxy differs from the patch's:\n%s\n---\n%s", a, b)
		}
		return
	}
	t.Fatal("no meshctl-destination Deployment")
}
