package viz

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/render"
	"github.com/meshctl/meshctl/pkg/testutil/golden"
)

func renderInstall(t *testing.T, v render.ValueOptions) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := RenderInstall(InstallOptions{Values: v}, &out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestRenderInstallGolden(t *testing.T) {
	tests := []struct {
		name   string
		values render.ValueOptions
	}{
		{"default", render.ValueOptions{}},
		{"custom", render.ValueOptions{Values: []string{
			"prometheus.image=registry.local/prometheus:v3.16.0", "prometheus.retention=2d",
			"prometheus.imagePullPolicy=Always", "prometheus.nodeSelector.pool=infra", "imagePullSecrets={regcred}",
		}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			golden.AssertYAML(t, filepath.Join("testdata", "golden", "install_"+tc.name+".yaml"), renderInstall(t, tc.values))
		})
	}
}

func TestRenderUninstallGolden(t *testing.T) {
	var out bytes.Buffer
	if err := RenderUninstall(InstallOptions{}, &out); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, filepath.Join("testdata", "golden", "uninstall.yaml"), out.Bytes())
	if !strings.HasSuffix(strings.TrimSpace(out.String()), "name: "+meshapi.VizNamespace) {
		t.Errorf("the namespace is not deleted last:\n%s", out.String())
	}
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeTyped decodes every document of a stream strictly as its typed
// Kubernetes kind and checks the labels every viz object carries.
func decodeTyped(t *testing.T, stream []byte) []runtime.Object {
	t.Helper()
	var objs []runtime.Object
	for i, doc := range docSeparator.Split(string(stream), -1) {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		if head.Kind == "" {
			continue
		}
		gv, err := schema.ParseGroupVersion(head.APIVersion)
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		obj, err := clientscheme.Scheme.New(gv.WithKind(head.Kind))
		if err != nil {
			t.Fatalf("document %d: %s %s is not a known type: %v", i, head.APIVersion, head.Kind, err)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("document %d (%s) does not decode strictly: %v\n%s", i, head.Kind, err, doc)
		}
		labels := obj.(interface{ GetLabels() map[string]string }).GetLabels()
		if labels[meshapi.LabelPartOf] != meshapi.PartOfValue {
			t.Errorf("document %d (%s): labels %v lack %s=%s", i, head.Kind, labels, meshapi.LabelPartOf, meshapi.PartOfValue)
		}
		if head.Kind != "Namespace" && labels[meshapi.VizComponentLabel] == "" {
			t.Errorf("document %d (%s): labels %v lack %s", i, head.Kind, labels, meshapi.VizComponentLabel)
		}
		if _, cp := labels[meshapi.LabelControlPlaneNS]; cp {
			t.Errorf("document %d (%s) carries %s: meshctl uninstall would delete it with the control plane", i, head.Kind, meshapi.LabelControlPlaneNS)
		}
		objs = append(objs, obj)
	}
	return objs
}

// TestInstallShape checks what issue 7 asks of the viz Prometheus.
func TestInstallShape(t *testing.T) {
	objs := decodeTyped(t, renderInstall(t, render.ValueOptions{}))
	var dep *appsv1.Deployment
	var svc *corev1.Service
	var cm *corev1.ConfigMap
	kinds := map[string]bool{}
	for _, o := range objs {
		kinds[o.GetObjectKind().GroupVersionKind().Kind] = true
		switch x := o.(type) {
		case *appsv1.Deployment:
			dep = x
		case *corev1.Service:
			svc = x
		case *corev1.ConfigMap:
			cm = x
		case *corev1.Namespace:
			if x.Name != meshapi.VizNamespace {
				t.Errorf("namespace %s, want %s", x.Name, meshapi.VizNamespace)
			}
		case *rbacv1.ClusterRole:
			for _, r := range x.Rules {
				if !slices.Equal(r.Resources, []string{"pods"}) || !slices.Equal(r.Verbs, []string{"get", "list", "watch"}) {
					t.Errorf("cluster role rule %+v: want get/list/watch on pods only", r)
				}
			}
		}
	}
	for _, k := range []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Service", "Deployment"} {
		if !kinds[k] {
			t.Errorf("no %s rendered", k)
		}
	}
	if dep == nil || svc == nil || cm == nil {
		t.Fatal("deployment, service or configmap missing")
	}
	if dep.Name != meshapi.PrometheusName || svc.Name != meshapi.PrometheusName || cm.Name != meshapi.PrometheusName {
		t.Errorf("names %s, %s, %s; want %s", dep.Name, svc.Name, cm.Name, meshapi.PrometheusName)
	}
	if svc.Spec.Ports[0].Port != meshapi.PrometheusPort || svc.Spec.Ports[0].Name != "http" {
		t.Errorf("service port %+v, want http %d", svc.Spec.Ports[0], meshapi.PrometheusPort)
	}
	pod := dep.Spec.Template.Spec
	c := pod.Containers[0]
	if !strings.HasPrefix(c.Image, "docker.io/prom/prometheus:v") || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("image %s %s, want a pinned prom/prometheus, IfNotPresent", c.Image, c.ImagePullPolicy)
	}
	sc := c.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("container security context %+v: want non-root, read-only root, RuntimeDefault, no escalation", sc)
	}
	if c.ReadinessProbe.HTTPGet.Path != "/-/ready" || c.LivenessProbe.HTTPGet.Path != "/-/healthy" {
		t.Errorf("probes %s and %s", c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want requests and a memory limit", c.Resources)
	}
	if !slices.Contains(c.Args, "--storage.tsdb.retention.time=6h") {
		t.Errorf("args %v lack the 6h retention", c.Args)
	}
	var data bool
	for _, v := range pod.Volumes {
		if v.Name == "data" && v.EmptyDir != nil {
			data = true
		}
	}
	if !data {
		t.Error("no emptyDir data volume")
	}
	cfg := cm.Data["prometheus.yml"]
	for _, want := range []string{"scrape_interval: 10s", "role: pod", "regex: meshctl-proxy;" + meshapi.ProxyAdminPortName, "target_label: namespace", "target_label: pod", "target_label: k8s_job", "target_label: statefulset", "target_label: daemonset"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("prometheus.yml lacks %q", want)
		}
	}
}

// TestScrapeConfigPromtool lints the rendered scrape configuration with
// promtool (Debian's prometheus package), as Prometheus would at start-up.
func TestScrapeConfigPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus)")
	}
	for _, o := range decodeTyped(t, renderInstall(t, render.ValueOptions{})) {
		cm, ok := o.(*corev1.ConfigMap)
		if !ok {
			continue
		}
		// Debian builds Prometheus without Kubernetes service discovery:
		// lint everything else (globals, relabelling) over a static target.
		cfg := cm.Data["prometheus.yml"]
		sd := "kubernetes_sd_configs:\n      - role: pod\n"
		if !strings.Contains(cfg, sd) {
			t.Fatalf("prometheus.yml has no pod discovery:\n%s", cfg)
		}
		cfg = strings.Replace(cfg, sd, "static_configs:\n      - targets: [\"10.0.0.1:4191\"]\n", 1)
		path := filepath.Join(t.TempDir(), "prometheus.yml")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(promtool, "check", "config", "--syntax-only", path).CombinedOutput()
		if err != nil {
			t.Fatalf("promtool check config: %v\n%s", err, out)
		}
		return
	}
	t.Fatal("no ConfigMap rendered")
}

func TestInstallValuesErrors(t *testing.T) {
	tests := []struct {
		name string
		set  []string
		want string
	}{
		{"unknown key", []string{"prometheus.retension=2d"}, "unknown field"},
		{"bad duration", []string{"prometheus.retention=six hours"}, "not a Prometheus duration"},
		{"timeout over interval", []string{"prometheus.scrapeTimeout=30s"}, "exceeds prometheus.scrapeInterval"},
		{"pull policy", []string{"prometheus.imagePullPolicy=Sometimes"}, "IfNotPresent"},
		{"root", []string{"prometheus.uid=0"}, "non-root"},
		{"empty image", []string{"prometheus.image="}, "prometheus.image is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := RenderInstall(InstallOptions{Values: render.ValueOptions{Values: tc.set}}, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if out.Len() > 0 {
				t.Error("output written despite the error")
			}
		})
	}
}

func TestInstallValuesFile(t *testing.T) {
	files := map[string]string{"v.yaml": "prometheus:\n  retention: 12h\n"}
	read := func(p string) ([]byte, error) { return []byte(files[p]), nil }
	v, _, err := BuildValues(InstallOptions{Values: render.ValueOptions{ValueFiles: []string{"v.yaml"}, Values: []string{"prometheus.logLevel=debug"}}, ReadFile: read})
	if err != nil {
		t.Fatal(err)
	}
	if v.Prometheus.Retention != "12h" || v.Prometheus.LogLevel != "debug" || v.Prometheus.ScrapeInterval != "10s" {
		t.Errorf("values %+v", v.Prometheus)
	}
}
