package sidecar

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/render"
	"github.com/meshctl/meshctl/templates"
)

func defaults(t testing.TB) map[string]any {
	t.Helper()
	v, err := DefaultValues(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func podTemplate(annotations map[string]string, containers ...corev1.Container) corev1.PodTemplateSpec {
	if len(containers) == 0 {
		containers = []corev1.Container{{Name: "app", Image: "nginx"}}
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Annotations: annotations},
		Spec:       corev1.PodSpec{Containers: containers},
	}
}

func TestDecideRendersPatch(t *testing.T) {
	in := New(Options{Render: render.Contents, Version: "v1.2.3"})
	d, err := in.Decide(Request{Owner: Owner{"Deployment", "123"}, Namespace: "shop", Template: podTemplate(nil), Values: defaults(t)})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Inject || d.Patch == nil {
		t.Fatalf("not injected: %+v", d)
	}
	p := d.Patch
	labels := map[string]string{}
	for _, kv := range p.Labels {
		labels[kv.Key] = kv.Value
	}
	if labels[meshapi.ProxyKindLabel("deployment")] != "123" || labels[meshapi.LabelWorkloadNS] != "shop" || labels[meshapi.LabelControlPlaneNS] != "meshctl" {
		t.Errorf("labels %v", labels)
	}
	if len(p.InitContainers) != 2 || MapGet(p.InitContainers[0], "name").Value != meshapi.InitContainerName ||
		MapGet(p.InitContainers[1], "name").Value != meshapi.ProxyContainerName ||
		MapGet(p.InitContainers[1], "restartPolicy").Value != "Always" {
		t.Errorf("init containers wrong")
	}
	if len(p.Volumes) != 2 || len(p.Containers) != 0 {
		t.Errorf("volumes %d containers %d", len(p.Volumes), len(p.Containers))
	}
	b, err := yaml.Marshal(map[string]any{"labels": p.Labels})
	if err != nil {
		t.Fatal(err)
	}
	_ = b
	// The name "123" must stay a string when encoded.
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, kv := range p.Labels {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: kv.Key}, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: kv.Value})
	}
	out, _ := yaml.Marshal(n)
	if !strings.Contains(string(out), `"123"`) {
		t.Errorf("numeric name not quoted:\n%s", out)
	}
}

func TestDecideReasons(t *testing.T) {
	in := New(Options{Render: render.Contents})
	f := false
	cases := []struct {
		name    string
		tpl     corev1.PodTemplateSpec
		optIn   bool
		ns      map[string]string
		refusal string
		skip    string
		warn    string
		injects bool
	}{
		{name: "hostNetwork", tpl: func() corev1.PodTemplateSpec { p := podTemplate(nil); p.Spec.HostNetwork = true; return p }(), refusal: ReasonHostNetwork},
		{name: "istio", tpl: podTemplate(nil, corev1.Container{Name: "app"}, corev1.Container{Name: "istio-proxy"}), refusal: ReasonThirdPartySidecar},
		{name: "envoy image", tpl: podTemplate(nil, corev1.Container{Name: "x", Image: "envoyproxy/envoy:v1.30"}), refusal: ReasonThirdPartySidecar},
		{name: "automount", tpl: func() corev1.PodTemplateSpec {
			p := podTemplate(nil)
			p.Spec.AutomountServiceAccountToken = &f
			return p
		}(), refusal: ReasonAutomountDisabled},
		{name: "bad annotation", tpl: podTemplate(map[string]string{"config.meshctl.io/admin-port": "0"}), refusal: ReasonInvalidAnnotation},
		{name: "wait before exit out of range", tpl: podTemplate(map[string]string{"config.meshctl.io/proxy-wait-before-exit-seconds": "7200"}), refusal: ReasonInvalidAnnotation},
		{name: "wait before exit not whole seconds", tpl: podTemplate(map[string]string{"config.meshctl.io/proxy-wait-before-exit-seconds": "20s"}), refusal: ReasonInvalidAnnotation},
		{name: "disabled", tpl: podTemplate(map[string]string{meshapi.AnnotationInject: "disabled"}), skip: ReasonInjectDisabled},
		{name: "opt-in missing", tpl: podTemplate(nil), optIn: true, skip: ReasonNotEnabled},
		{name: "opt-in ns disabled", tpl: podTemplate(nil), optIn: true, ns: map[string]string{meshapi.AnnotationInject: "disabled"}, skip: ReasonInjectDisabled},
		// The opt-in rules `meshctl check` (MESH406) relies on, as the webhook applies them.
		{name: "opt-in ns enabled", tpl: podTemplate(nil), optIn: true, ns: map[string]string{meshapi.AnnotationInject: "enabled"}, injects: true},
		{name: "opt-in ns ingress", tpl: podTemplate(nil), optIn: true, ns: map[string]string{meshapi.AnnotationInject: "ingress"}, injects: true},
		{name: "opt-in pod enabled, ns plain", tpl: podTemplate(map[string]string{meshapi.AnnotationInject: "enabled"}), optIn: true, injects: true},
		{name: "opt-in pod enabled, ns disabled", tpl: podTemplate(map[string]string{meshapi.AnnotationInject: "enabled"}), optIn: true, ns: map[string]string{meshapi.AnnotationInject: "disabled"}, injects: true},
		{name: "opt-in pod disabled, ns enabled", tpl: podTemplate(map[string]string{meshapi.AnnotationInject: "disabled"}), optIn: true, ns: map[string]string{meshapi.AnnotationInject: "enabled"}, skip: ReasonInjectDisabled},
		{name: "opt-in pod unsupported value, ns enabled", tpl: podTemplate(map[string]string{meshapi.AnnotationInject: "yes"}), optIn: true, ns: map[string]string{meshapi.AnnotationInject: "enabled"}, skip: ReasonNotEnabled},
		{name: "opt-in ns enabled, hostNetwork", tpl: func() corev1.PodTemplateSpec { p := podTemplate(nil); p.Spec.HostNetwork = true; return p }(), optIn: true, ns: map[string]string{meshapi.AnnotationInject: "enabled"}, refusal: ReasonHostNetwork},
		{name: "udp", tpl: podTemplate(nil, corev1.Container{Name: "dns", Ports: []corev1.ContainerPort{{ContainerPort: 53, Protocol: corev1.ProtocolUDP}}}), warn: ReasonUDPPorts},
		{name: "unknown annotation", tpl: podTemplate(map[string]string{"config.meshctl.io/nope": "1"}), warn: ReasonUnknownAnnotations},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := in.Decide(Request{Owner: Owner{"Pod", "p"}, Template: c.tpl, Values: defaults(t), OptIn: c.optIn, NamespaceAnnotations: c.ns})
			if err != nil {
				t.Fatal(err)
			}
			has := func(rs []Reason, code string) bool {
				for _, r := range rs {
					if r.Code == code {
						return true
					}
				}
				return false
			}
			switch {
			case c.refusal != "":
				if d.Inject || !has(d.Refusals, c.refusal) {
					t.Errorf("want refusal %s: %+v", c.refusal, d)
				}
			case c.skip != "":
				if d.Inject || !has(d.Skips, c.skip) {
					t.Errorf("want skip %s: %+v", c.skip, d)
				}
			case c.warn != "":
				if !d.Inject || !has(d.Warnings, c.warn) {
					t.Errorf("want warning %s: %+v", c.warn, d)
				}
			case c.injects:
				if !d.Inject || len(d.Skips) > 0 || len(d.Refusals) > 0 {
					t.Errorf("want injection: %+v", d)
				}
			}
		})
	}
}

// TestDecideAlreadyInjected: the proxy, as a native sidecar or a
// container, makes a pod injected; our init container alone is a
// leftover that leaves the pod's traffic redirected to no proxy.
func TestDecideAlreadyInjected(t *testing.T) {
	in := New(Options{Render: render.Contents})
	for _, c := range []struct {
		name  string
		inits []corev1.Container
		extra []corev1.Container
		want  bool
	}{
		{name: "clean"},
		{name: "native sidecar", inits: []corev1.Container{{Name: meshapi.InitContainerName}, {Name: meshapi.ProxyContainerName}}, want: true},
		{name: "proxy container", inits: []corev1.Container{{Name: meshapi.InitContainerName}}, extra: []corev1.Container{{Name: meshapi.ProxyContainerName}}, want: true},
		{name: "init container left", inits: []corev1.Container{{Name: meshapi.InitContainerName}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tpl := podTemplate(nil, append([]corev1.Container{{Name: "app"}}, c.extra...)...)
			tpl.Spec.InitContainers = c.inits
			d, err := in.Decide(Request{Owner: Owner{"Pod", "p"}, Template: tpl, Values: defaults(t), SkipRender: true})
			if err != nil {
				t.Fatal(err)
			}
			if d.AlreadyInjected != c.want {
				t.Errorf("AlreadyInjected = %v, want %v", d.AlreadyInjected, c.want)
			}
		})
	}
}

func TestOverridesPodWins(t *testing.T) {
	in := New(Options{Render: render.Contents})
	tpl := podTemplate(map[string]string{"config.meshctl.io/proxy-cpu-request": "300m", "config.meshctl.io/proxy-enable-native-sidecar": "false"})
	d, err := in.Decide(Request{Owner: Owner{"Deployment", "web"}, Template: tpl, Values: defaults(t),
		NamespaceAnnotations: map[string]string{"config.meshctl.io/proxy-cpu-request": "200m", "config.meshctl.io/proxy-log-level": "debug"}})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := GetValue(d.Values, "proxy.resources.cpu.request"); v != "300m" {
		t.Errorf("cpu request %v", v)
	}
	if v, _ := GetValue(d.Values, "proxy.logLevel"); v != "debug" {
		t.Errorf("log level %v", v)
	}
	if len(d.Patch.Containers) != 1 || len(d.Patch.InitContainers) != 1 {
		t.Errorf("native sidecar off: %d containers, %d init containers", len(d.Patch.Containers), len(d.Patch.InitContainers))
	}
}

func TestOverrideAnnotations(t *testing.T) {
	base := defaults(t)
	want := CloneValues(base)
	_ = SetValue(want, "proxy.ports.admin", float64(5000))
	_ = SetValue(want, "proxy.await", false)
	got := OverrideAnnotations(base, want)
	if len(got) != 2 || got[0] != (KV{"config.meshctl.io/admin-port", "5000"}) || got[1] != (KV{"config.meshctl.io/proxy-await", "disabled"}) {
		t.Errorf("overrides %v", got)
	}
	if got := OverrideAnnotations(base, base); len(got) != 0 {
		t.Errorf("no change gave %v", got)
	}
}

func BenchmarkDecide(b *testing.B) {
	in := New(Options{Render: render.Contents})
	v := defaults(b)
	for i := 0; b.Loop(); i++ {
		if _, err := in.Decide(Request{Owner: Owner{"Deployment", "web"}, Template: podTemplate(nil), Values: v}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTapTokenHashRendered: the proxy gets MESHCTL_PROXY_TAP_TOKEN_SHA256
// only when proxy.tapTokenSHA256 is set (tap is off otherwise).
func TestTapTokenHashRendered(t *testing.T) {
	render := func(hash string) string {
		t.Helper()
		values := defaults(t)
		if hash != "" {
			if err := SetValue(values, "proxy.tapTokenSHA256", hash); err != nil {
				t.Fatal(err)
			}
		}
		d, err := New(Options{Render: render.Contents, Version: "v1.2.3"}).Decide(Request{Owner: Owner{"Deployment", "web"}, Namespace: "shop", Template: podTemplate(nil), Values: values})
		if err != nil || d.Patch == nil {
			t.Fatalf("decide: %v", err)
		}
		out, err := yaml.Marshal(d.Patch.InitContainers[1])
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if off := render(""); strings.Contains(off, "MESHCTL_PROXY_TAP_TOKEN_SHA256") {
		t.Errorf("tap env rendered without a hash:\n%s", off)
	}
	hash := strings.Repeat("ab", 32)
	if on := render(hash); !strings.Contains(on, "MESHCTL_PROXY_TAP_TOKEN_SHA256") || !strings.Contains(on, hash) {
		t.Errorf("tap env missing:\n%s", on)
	}
}

// TestDecideWithoutRenderer: an Injector built without a renderer says so
// instead of panicking; a renderer's error and a wrong document count are
// wrapped with what was being rendered.
func TestDecideWithoutRenderer(t *testing.T) {
	for _, tt := range []struct {
		name   string
		render Renderer
		want   string
	}{
		{"none", nil, "no chart renderer given"},
		{"fails", func(fs.FS, string, []string, string, string, map[string]any) ([]string, error) {
			return nil, errors.New("boom")
		}, "render the sidecar: boom"},
		{"two documents", func(fs.FS, string, []string, string, string, map[string]any) ([]string, error) {
			return []string{"a: 1\n", "b: 2\n"}, nil
		}, "2 documents, want 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Options{Render: tt.render}).Decide(Request{Owner: Owner{"Deployment", "web"}, Namespace: "shop", Template: podTemplate(nil), Values: defaults(t)})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestPprofAnnotation: config.meshctl.io/proxy-enable-pprof turns on the
// proxy's profiles for that pod only, and a value that is no boolean
// refuses the pod.
func TestPprofAnnotation(t *testing.T) {
	proxyEnv := func(annotations map[string]string) (string, *Decision) {
		t.Helper()
		d, err := New(Options{Render: render.Contents, Version: "v1.2.3"}).Decide(Request{Owner: Owner{"Deployment", "web"}, Namespace: "shop", Template: podTemplate(annotations), Values: defaults(t)})
		if err != nil {
			t.Fatalf("decide: %v", err)
		}
		if d.Patch == nil {
			return "", d
		}
		out, err := yaml.Marshal(d.Patch.InitContainers[1])
		if err != nil {
			t.Fatal(err)
		}
		return string(out), d
	}
	if env, _ := proxyEnv(nil); strings.Contains(env, "MESHCTL_PROXY_PPROF_ENABLED") {
		t.Errorf("profiles enabled by default:\n%s", env)
	}
	if env, _ := proxyEnv(map[string]string{"config.meshctl.io/proxy-enable-pprof": "true"}); !strings.Contains(env, "- name: MESHCTL_PROXY_PPROF_ENABLED\n      value: \"true\"") {
		t.Errorf("annotation true did not enable profiles:\n%s", env)
	}
	if env, d := proxyEnv(map[string]string{"config.meshctl.io/proxy-enable-pprof": "sometimes"}); env != "" || len(d.Refusals) == 0 || d.Refusals[0].Code != ReasonInvalidAnnotation {
		t.Errorf("annotation %q: patch %q, refusals %v; want the pod refused", "sometimes", env, d.Refusals)
	}
}
