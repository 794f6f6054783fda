//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkRejectsUnknownToken: a kubeconfig for the real API server whose
// token it does not know (401, unlike --as's 403) fails the API check
// with the server's answer, quickly.
func checkRejectsUnknownToken(t *testing.T) {
	server, err := kubectl(t, "", "config", "view", "--raw", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}")
	if err != nil {
		t.Fatalf("read the server: %v\n%s", err, server)
	}
	ca, err := kubectl(t, "", "config", "view", "--raw", "--minify", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}")
	if err != nil {
		t.Fatalf("read the CA: %v\n%s", err, ca)
	}
	kubeconfig := filepath.Join(t.TempDir(), "bad-token.kubeconfig")
	content := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: " + strings.TrimSpace(server) +
		"\n    certificate-authority-data: " + strings.TrimSpace(ca) +
		"\nusers:\n- name: u\n  user:\n    token: not-a-token-the-server-knows\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n"
	if err := os.WriteFile(kubeconfig, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, _, code := meshctl(t, "check", "--pre", "-o", "json", "--kubeconfig", kubeconfig)
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("check with an unknown token took %s", took)
	}
	if code != 1 {
		t.Fatalf("check with an unknown token exited %d:\n%s", code, out)
	}
	result, msg := checkResult(t, out, "MESH102")
	if result != "error" || !strings.Contains(strings.ToLower(msg), "unauthorized") && !strings.Contains(msg, "provide credentials") {
		t.Fatalf("MESH102 = %q %q, want an error saying the credentials were refused\n%s", result, msg, out)
	}
}

// checkFixRecreatesRBAC deletes one of the control plane's ClusterRoles:
// check names it (MESH203), `check --fix --yes` re-creates it as the
// install rendered it, and check passes again.
func checkFixRecreatesRBAC(t *testing.T) {
	const role = "meshctl-meshctl-destination" // <namespace>-<component>, as the chart names cluster-scoped objects
	if out, err := kubectl(t, "", "delete", "clusterrole", role); err != nil {
		t.Fatalf("delete clusterrole: %v\n%s", err, out)
	}
	out, _, code := meshctl(t, "check", "-o", "json", "--wait", "20s")
	if code != 1 {
		t.Fatalf("check exited %d with ClusterRole %s deleted:\n%s", code, role, out)
	}
	if result, msg := checkResult(t, out, "MESH203"); result != "error" || !strings.Contains(msg, role) {
		t.Fatalf("MESH203 = %q %q, want an error naming ClusterRole %s", result, msg, role)
	}
	out, errOut, _ := meshctl(t, "check", "--fix", "--yes", "--wait", "20s")
	if !strings.Contains(errOut, "Applied.") {
		t.Fatalf("check --fix --yes did not apply:\n%s\n%s", out, errOut)
	}
	if out, err := kubectl(t, "", "get", "clusterrole", role); err != nil {
		t.Fatalf("ClusterRole %s not re-created: %v\n%s", role, err, out)
	}
	out, errOut, code = meshctl(t, "check", "--wait", "2m")
	if code != 0 {
		t.Fatalf("check after --fix exited %d:\n%s\n%s", code, out, errOut)
	}
}

// checkFixMeshesSkippedPods runs a workload in a namespace that is
// annotated for injection only afterwards, as happens when pods start
// before the control plane: check --proxy warns (MESH406) naming the
// pod, and --fix --yes restarts the workload so that the webhook meshes
// its new pod.
func checkFixMeshesSkippedPods(t *testing.T) {
	const ns = "meshctl-late"
	manifest := `apiVersion: v1
kind: Namespace
metadata:
  name: ` + ns + `
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: late
  namespace: ` + ns + `
spec:
  selector:
    matchLabels: {app: late}
  template:
    metadata:
      labels: {app: late}
    spec:
      containers:
        - name: late
          image: localhost/meshctl-demoapp:dev
          imagePullPolicy: Never
          args: ["backend", "--addr", ":8081"]
`
	if out, err := kubectl(t, manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = kubectl(t, "", "delete", "namespace", ns, "--wait=false") })
	if out, err := kubectl(t, "", "-n", ns, "rollout", "status", "deployment/late", "--timeout=2m"); err != nil {
		t.Fatalf("late not running: %v\n%s", err, out)
	}
	if out, err := kubectl(t, "", "annotate", "namespace", ns, "meshctl.io/inject=enabled"); err != nil {
		t.Fatalf("annotate: %v\n%s", err, out)
	}
	out, _, _ := meshctl(t, "check", "--proxy", "-n", ns, "-o", "json", "--wait", "20s")
	if result, msg := checkResult(t, out, "MESH406"); result != "warning" || !strings.Contains(msg, ns+"/late-") {
		t.Fatalf("MESH406 = %q %q, want a warning naming the unmeshed pod\n%s", result, msg, out)
	}
	out, errOut, _ := meshctl(t, "check", "--proxy", "-n", ns, "--fix", "--yes", "--wait", "20s")
	if !strings.Contains(errOut, "Applied.") || !strings.Contains(out+errOut, "Deployment "+ns+"/late") {
		t.Fatalf("check --proxy --fix --yes did not restart deployment/late:\n%s\n%s", out, errOut)
	}
	if out, err := kubectl(t, "", "-n", ns, "rollout", "status", "deployment/late", "--timeout=2m"); err != nil {
		t.Fatalf("late not rolled out again: %v\n%s", err, out)
	}
	// The new pod carries the proxy; the old one is gone.
	deadline := time.Now().Add(time.Minute)
	for {
		out, _, code := meshctl(t, "check", "--proxy", "-n", ns, "-o", "json", "--wait", "1m")
		result, msg := checkResult(t, out, "MESH406")
		if code == 0 && result == "success" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after --fix: exit %d, MESH406 = %q %q\n%s", code, result, msg, out)
		}
		time.Sleep(3 * time.Second)
	}
}
