//go:build e2e

// Package e2e holds the end-to-end tests that need the local cluster of
// hack/cluster (run them with hack/e2e.sh, or by hand:
// hack/cluster/cluster.sh up; eval "$(hack/cluster/cluster.sh env)";
// go test -tags e2e ./test/e2e/...).
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/meshctl/meshctl/cmd/meshctl/cli"
)

const clusterHint = "start the local cluster with `hack/cluster/cluster.sh up` and `eval \"$(hack/cluster/cluster.sh env)\"`"

// requireCluster skips the test unless KUBECONFIG points at a reachable
// API server and kubectl is installed.
func requireCluster(t testing.TB) {
	t.Helper()
	if os.Getenv("KUBECONFIG") == "" {
		t.Skipf("KUBECONFIG is not set: %s", clusterHint)
	}
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skipf("kubectl is not installed: %v", err)
	}
	if out, err := kubectl(t, "", "version", "--request-timeout=5s"); err != nil {
		t.Skipf("the cluster of KUBECONFIG=%s is not reachable (%v: %s): %s", os.Getenv("KUBECONFIG"), err, out, clusterHint)
	}
}

func kubectl(t testing.TB, stdin string, args ...string) (string, error) {
	t.Helper()
	// t.Context() is cancelled before Cleanup functions run; detach from
	// its cancellation so that clean-ups (namespace deletions) still run.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 6*time.Minute) // above every --timeout the suite passes
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// meshctl runs the real command tree in process.
func meshctl(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	code = cli.Execute(t.Context(), streams, args)
	return out.String(), errOut.String(), code
}

var separator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// namespaceDoc returns the Namespace document of a manifest.
func namespaceDoc(t *testing.T, manifest string) string {
	t.Helper()
	for _, d := range separator.Split(manifest, -1) {
		if strings.Contains(d, "\nkind: Namespace\n") {
			return d
		}
	}
	t.Fatal("the manifest has no Namespace")
	return ""
}

// TestInstallDryRunServer applies `meshctl install --crds` and then
// `meshctl install` with kubectl apply --dry-run=server, so that the real
// API server validates every object (CRD schemas included). The CRDs are
// then applied for real (install checks for them) and the control-plane
// namespace is created for real, since a server-side dry run of namespaced
// objects needs their namespace; the namespace is deleted at the end.
func TestInstallDryRunServer(t *testing.T) {
	requireCluster(t)
	ns := fmt.Sprintf("meshctl-e2e-%d", time.Now().Unix()%100000)

	crds, errOut, code := meshctl(t, "install", "--crds")
	if code != 0 {
		t.Fatalf("install --crds: %s", errOut)
	}
	if out, err := kubectl(t, crds, "apply", "--dry-run=server", "-f", "-"); err != nil {
		t.Fatalf("dry-run of the CRDs: %v\n%s", err, out)
	}
	if out, err := kubectl(t, crds, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply the CRDs: %v\n%s", err, out)
	}
	if out, err := kubectl(t, "", "wait", "--for=condition=Established", "--timeout=60s", "crd/servers.policy.meshctl.io", "crd/serviceprofiles.meshctl.io", "crd/httproutes.policy.meshctl.io"); err != nil {
		t.Fatalf("CRDs not established: %v\n%s", err, out)
	}

	manifest, errOut, code := meshctl(t, "install", "--mesh-namespace", ns)
	if code != 0 {
		t.Fatalf("install against the cluster: %s", errOut)
	}
	if !strings.Contains(errOut, "Generated a trust anchor") {
		t.Errorf("install did not report the generated certificates: %s", errOut)
	}
	if out, err := kubectl(t, namespaceDoc(t, manifest), "apply", "-f", "-"); err != nil {
		t.Fatalf("create namespace %s: %v\n%s", ns, err, out)
	}
	t.Cleanup(func() { _, _ = kubectl(t, "", "delete", "namespace", ns, "--wait=false") })
	if out, err := kubectl(t, manifest, "apply", "--dry-run=server", "-f", "-"); err != nil {
		t.Fatalf("dry-run of the control plane: %v\n%s", err, out)
	}
	json, errOut, code := meshctl(t, "install", "--ignore-cluster", "--ha", "-o", "json", "--mesh-namespace", ns)
	if code != 0 {
		t.Fatalf("install --ha -o json: %s", errOut)
	}
	if out, err := kubectl(t, json, "apply", "--dry-run=server", "-f", "-"); err != nil {
		t.Fatalf("dry-run of the HA control plane as JSON: %v\n%s", err, out)
	}
}

// TestCRDsRejectBadObjects checks that the CRD schemas reject unknown
// fields, bad enums and missing required fields.
func TestCRDsRejectBadObjects(t *testing.T) {
	requireCluster(t)
	crds, errOut, code := meshctl(t, "install", "--crds")
	if code != 0 {
		t.Fatalf("install --crds: %s", errOut)
	}
	if out, err := kubectl(t, crds, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply the CRDs: %v\n%s", err, out)
	}
	if out, err := kubectl(t, "", "wait", "--for=condition=Established", "--timeout=60s", "crd/servers.policy.meshctl.io"); err != nil {
		t.Fatalf("CRDs not established: %v\n%s", err, out)
	}
	server := func(spec string) string {
		return "apiVersion: policy.meshctl.io/v1beta1\nkind: Server\nmetadata:\n  name: web\n  namespace: default\nspec:\n" + spec
	}
	good := server("  podSelector:\n    matchLabels:\n      app: web\n  port: http\n  proxyProtocol: HTTP/1\n")
	if out, err := kubectl(t, good, "apply", "--dry-run=server", "-f", "-"); err != nil {
		t.Fatalf("a valid Server was rejected: %v\n%s", err, out)
	}
	bad := []struct{ name, obj, reason string }{
		{"unknown field", server("  podSelector: {}\n  port: 80\n  bogus: true\n"), `unknown field "spec.bogus"`},
		{"bad enum", server("  podSelector: {}\n  port: 80\n  proxyProtocol: HTTP/3\n"), "spec.proxyProtocol"},
		{"missing port", server("  podSelector: {}\n"), "spec.port: Required value"},
		{"port too large", server("  podSelector: {}\n  port: 70000\n"), "port must be a number from 1 to 65535"},
		{"bad port name", server("  podSelector: {}\n  port: Bad_Name\n"), "container port name"},
		{"bad policy target kind", "apiVersion: policy.meshctl.io/v1beta1\nkind: AuthorizationPolicy\nmetadata:\n  name: a\n  namespace: default\nspec:\n  targetRef:\n    kind: Pod\n    name: x\n  requiredAuthenticationRefs: []\n", "spec.targetRef.kind"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			out, err := kubectl(t, tt.obj, "apply", "--dry-run=server", "--validate=strict", "-f", "-")
			if err == nil {
				t.Fatalf("accepted:\n%s\n%s", tt.obj, out)
			}
			if !strings.Contains(out, tt.reason) {
				t.Fatalf("rejected for another reason than %q:\n%s", tt.reason, out)
			}
		})
	}
}
