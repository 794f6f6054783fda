package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshctl/meshctl/pkg/kube/kubefake"
)

const injectInput = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: web # the app
          image: web
`

func writeInput(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app.yaml")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestInjectReadsInstalledValues: only flags that differ from the
// installed configuration become config.meshctl.io annotations.
func TestInjectReadsInstalledValues(t *testing.T) {
	f, err := kubefake.NewFakeFactory("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: meshctl-config, namespace: meshctl}\ndata:\n  values: |\n    proxy:\n      logLevel: debug\n")
	if err != nil {
		t.Fatal(err)
	}
	p := writeInput(t, injectInput)
	r := run(t, "inject --proxy-log-level debug --proxy-cpu-request 300m "+p, WithKubeFactory(f))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "config.meshctl.io/proxy-cpu-request: 300m") || strings.Contains(r.stdout, "proxy-log-level") ||
		!strings.Contains(r.stdout, "meshctl.io/inject: enabled") || !strings.Contains(r.stdout, "# the app") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if r.stderr != "\ndeployment \"web\" injected\n" {
		t.Errorf("stderr %q", r.stderr)
	}
	// Not installed: a clear error, nothing on stdout.
	empty, _ := kubefake.NewFakeFactory()
	r = run(t, "inject "+p, WithKubeFactory(empty))
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "--ignore-cluster") {
		t.Errorf("not installed: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

func TestInjectModes(t *testing.T) {
	p := writeInput(t, injectInput)
	r := run(t, "inject --ignore-cluster --manual --native-sidecar=false "+p)
	if r.code != 0 || !strings.Contains(r.stdout, "- name: meshctl-proxy") || strings.Contains(r.stdout, "restartPolicy: Always") {
		t.Errorf("manual without native sidecar: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	un := writeInput(t, r.stdout)
	r = run(t, "uninject "+un)
	if r.code != 0 || r.stdout != injectInput || !strings.Contains(r.stderr, `deployment "web" uninjected`) {
		t.Errorf("uninject: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "inject --ignore-cluster --diff "+p)
	if r.code != 0 || !strings.Contains(r.stdout, "+      annotations:") || !strings.HasPrefix(r.stdout, "--- input\n+++ output\n") {
		t.Errorf("diff: %d\n%s", r.code, r.stdout)
	}
	r = run(t, "inject --ignore-cluster --explain -o json "+p)
	if r.code != 0 || !strings.Contains(r.stdout, `"action": "injected"`) || r.stderr != "" {
		t.Errorf("explain: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "inject --ignore-cluster -v "+p)
	if r.code != 0 || !strings.Contains(r.stderr, "√ pods do not use host networking") {
		t.Errorf("verbose: %s", r.stderr)
	}
}

func TestInjectUsage(t *testing.T) {
	p := writeInput(t, injectInput)
	for _, c := range []struct{ args, want string }{
		{"inject", "requires at least 1 arg"},
		{"inject --ignore-cluster -o xml " + p, "xml"},
		{"inject --ignore-cluster --diff -o json " + p, "--diff compares YAML"},
		{"inject --ignore-cluster --explain " + p, "add -o json"},
		{"inject --ignore-cluster --diff --explain -o json " + p, "pick one"},
		{"inject --ignore-cluster --opaque-ports 80-70 " + p, "--opaque-ports"},
		{"inject --ignore-cluster --admin-port 0 " + p, "--admin-port"},
		{"uninject", "requires at least 1 arg"},
		{"uninject --diff -o json " + p, "--diff compares YAML"},
	} {
		r := run(t, c.args)
		if r.code != ExitUsage || r.stdout != "" || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: %d %q %q", c.args, r.code, r.stdout, r.stderr)
		}
	}
}
