package cli

import (
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"sigs.k8s.io/yaml"

	"github.com/meshctl/meshctl/pkg/kube/kubefake"
)

const installTestdata = "../../../install/testdata/"

// certFlags are the identity flags with the install test certificates.
func certFlags(anchor, crt, key string) string {
	c := installTestdata + "certs/"
	return " --identity-trust-anchors-file " + c + anchor +
		" --identity-issuer-certificate-file " + c + crt +
		" --identity-issuer-key-file " + c + key
}

var yamlSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// splitYAML returns the non-empty documents of a stream.
func splitYAML(t *testing.T, stream string) []string {
	t.Helper()
	var docs []string
	for _, d := range yamlSeparator.Split(stream, -1) {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d), &m); err != nil {
			t.Fatalf("bad yaml: %v", err)
		}
		if len(m) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

// listKinds are the resources the fake dynamic client can list.
func listKinds() map[schema.GroupVersionResource]string {
	m := map[schema.GroupVersionResource]string{}
	add := func(g, v, res, kind string) {
		m[schema.GroupVersionResource{Group: g, Version: v, Resource: res}] = kind + "List"
	}
	add("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration")
	add("apps", "v1", "deployments", "Deployment")
	add("", "v1", "services", "Service")
	add("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding")
	add("rbac.authorization.k8s.io", "v1", "roles", "Role")
	add("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding")
	add("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole")
	add("", "v1", "configmaps", "ConfigMap")
	add("", "v1", "secrets", "Secret")
	add("", "v1", "serviceaccounts", "ServiceAccount")
	add("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget")
	add("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition")
	add("", "v1", "namespaces", "Namespace")
	return m
}

// fakeCluster returns a FakeFactory holding the objects of the YAML streams:
// every object in the dynamic client, and the core ones in the typed
// clientset too.
func fakeCluster(t *testing.T, streams ...string) *kubefake.FakeFactory {
	t.Helper()
	var typed []string
	var dyn []runtime.Object
	for _, s := range streams {
		for _, d := range splitYAML(t, s) {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(d), &u.Object); err != nil {
				t.Fatal(err)
			}
			dyn = append(dyn, u)
			if u.GroupVersionKind().Group == "" { // core objects: what the typed look-ups read
				typed = append(typed, d)
			}
		}
	}
	f, err := kubefake.NewFakeFactory(typed...)
	if err != nil {
		t.Fatal(err)
	}
	f.DynamicClient = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds(), dyn...)
	return f
}

// crdsManifest renders the CRDs.
func crdsManifest(t *testing.T) string {
	t.Helper()
	r := run(t, "install --crds")
	if r.code != 0 {
		t.Fatalf("install --crds: %s", r.stderr)
	}
	return r.stdout
}

func TestInstallOffline(t *testing.T) {
	r := run(t, "install --ignore-cluster")
	if r.code != 0 {
		t.Fatalf("code %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"kind: Namespace", "kind: MutatingWebhookConfiguration", "name: meshctl-identity-issuer", "args: [\"controller\", \"injector\"]"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if !strings.Contains(r.stderr, "Generated a trust anchor") || !strings.Contains(r.stderr, "expires") {
		t.Errorf("stderr does not report the generated certificates: %q", r.stderr)
	}
}

func TestInstallJSONAndCRDs(t *testing.T) {
	r := run(t, "install --ignore-cluster -o json"+certFlags("anchor.crt", "issuer.crt", "issuer.key"))
	if r.code != 0 || !strings.HasPrefix(r.stdout, "{") || !strings.Contains(r.stdout, `"kind": "List"`) {
		t.Fatalf("code %d, stdout %.80q, stderr %s", r.code, r.stdout, r.stderr)
	}
	crds := crdsManifest(t)
	if n := strings.Count(crds, "kind: CustomResourceDefinition"); n != 6 {
		t.Errorf("install --crds rendered %d CRDs, want 6", n)
	}
}

func TestInstallClusterChecks(t *testing.T) {
	installed := run(t, "install --ignore-cluster"+certFlags("anchor.crt", "issuer.crt", "issuer.key")).stdout
	tests := []struct {
		name    string
		factory func(t *testing.T) *kubefake.FakeFactory
		code    int
		want    string
	}{
		{"no crds", func(t *testing.T) *kubefake.FakeFactory { return fakeCluster(t) }, 1, "meshctl install --crds | kubectl apply -f -"},
		{"crds present", func(t *testing.T) *kubefake.FakeFactory { return fakeCluster(t, crdsManifest(t)) }, 0, "Generated a trust anchor"},
		{"already installed", func(t *testing.T) *kubefake.FakeFactory { return fakeCluster(t, crdsManifest(t), installed) }, 1, "meshctl upgrade"},
		{"unreachable", func(t *testing.T) *kubefake.FakeFactory {
			f := fakeCluster(t)
			f.Err = errUnreachable
			return f
		}, 1, "--ignore-cluster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "install", WithKubeFactory(tt.factory(t)))
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("code %d (want %d), stderr %q lacks %q", r.code, tt.code, r.stderr, tt.want)
			}
			if tt.code != 0 && r.stdout != "" {
				t.Fatalf("stdout not empty on failure: %.100q", r.stdout)
			}
		})
	}
}

// TestInstallFlagsFromEnvironment checks that flags set through MESHCTL_*
// variables count as set, like their command-line form.
func TestInstallFlagsFromEnvironment(t *testing.T) {
	t.Setenv("MESHCTL_PROXY_CPU_LIMIT", "750m")
	t.Setenv("MESHCTL_CONTROLLER_REPLICAS", "2")
	r := run(t, "install --ignore-cluster")
	if r.code != 0 {
		t.Fatalf("code %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, `cpu: "750m"`) || !strings.Contains(r.stdout, "replicas: 2") {
		t.Fatal("flags from the environment were not applied")
	}
}
