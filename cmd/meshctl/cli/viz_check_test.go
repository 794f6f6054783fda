package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/meshctl/meshctl/pkg/kube/kubefake"
	"github.com/meshctl/meshctl/pkg/testutil/golden"
)

// TestVizCheck runs viz check against a fake cluster: with a healthy viz
// extension, and without one (the first check fails with its hint).
func TestVizCheck(t *testing.T) {
	healthy := []string{
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: meshctl-viz}",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: meshctl-prometheus, namespace: meshctl-viz}\nspec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: prometheus, image: p}]}}}\nstatus: {readyReplicas: 1}",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: web-1, namespace: shop, labels: {meshctl.io/control-plane-ns: meshctl}}\nspec: {containers: [{name: app, image: app}]}\nstatus: {phase: Running}",
	}
	tests := []struct {
		name    string
		objects []string
		args    string
		code    int
	}{
		{"viz_check_healthy", healthy, "viz check --wait 5s", 0},
		{"viz_check_not_installed", healthy[2:], "viz check --wait 5s", ExitFailure},
		{"viz_check_json", healthy, "viz check --wait 5s -o json", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := kubefake.NewFakeFactory(tc.objects...)
			if err != nil {
				t.Fatal(err)
			}
			f.Clientset.PrependProxyReactor("services", func(a k8stesting.Action) (bool, rest.ResponseWrapper, error) {
				body := map[string]string{
					"/-/ready":        "Prometheus Server is Ready.\n",
					"/api/v1/targets": `{"status":"success","data":{"activeTargets":[{"labels":{"namespace":"shop","pod":"web-1"},"health":"up"}]}}`,
				}[a.(k8stesting.ProxyGetAction).GetPath()]
				return true, fakeProxyResponse{body: []byte(body)}, nil
			})
			r := run(t, tc.args, WithKubeFactory(f))
			if r.code != tc.code {
				t.Fatalf("code %d, want %d; stdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			golden.Assert(t, filepath.Join("testdata", "viz", tc.name+".golden"), []byte(r.stdout))
		})
	}
	t.Run("usage", func(t *testing.T) {
		r := run(t, "viz check -o yaml")
		if r.code != ExitUsage || !strings.Contains(r.stderr, "output format") {
			t.Fatalf("code %d stderr %q", r.code, r.stderr)
		}
	})
}
