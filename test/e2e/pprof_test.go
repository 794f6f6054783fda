//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/proxy"
)

// pprofPod is a meshed echo pod whose proxy serves Go's profiles.
const pprofPod = `apiVersion: v1
kind: Pod
metadata:
  name: pprof
  namespace: meshctl-demo
  annotations:
    config.meshctl.io/proxy-enable-pprof: "true"
spec:
  containers:
    - name: echo
      image: localhost/meshctl-demoapp:dev
      imagePullPolicy: Never
      args: ["echo", "--addr", ":6379"]
`

// pprofIsOptInAndLoopbackOnly meshes a pod annotated for profiles (inject
// marks it, the webhook renders its proxy) and checks where the proxy
// serves them: to a port-forward (which arrives on
// the pod's loopback) a goroutine profile; to the API server's pod proxy
// (which arrives over the pod network) 403; and a demo pod without the
// annotation answers 404 for the same path.
func pprofIsOptInAndLoopbackOnly(t *testing.T) {
	manifest := filepath.Join(t.TempDir(), "pprof.yaml")
	if err := os.WriteFile(manifest, []byte(pprofPod), 0o600); err != nil {
		t.Fatal(err)
	}
	injected, errOut, code := meshctl(t, "inject", manifest)
	if code != 0 {
		t.Fatalf("inject: %s", errOut)
	}
	if out, err := kubectl(t, injected, "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		// Gone before the next stages count the demo's pods and proxies.
		_, _ = kubectl(t, "", "-n", demoNamespace, "delete", "pod", "pprof", "--ignore-not-found", "--grace-period=1", "--wait=true", "--timeout=60s")
	})
	if out, err := kubectl(t, "", "-n", demoNamespace, "wait", "--for=condition=Ready", "--timeout=2m", "pod/pprof"); err != nil {
		describe, _ := kubectl(t, "", "-n", demoNamespace, "describe", "pod", "pprof")
		t.Fatalf("pod pprof not ready: %v\n%s\n%s", err, out, tail(describe, 60))
	}
	// inject annotates; the webhook renders the proxy (a native sidecar,
	// among the init containers, where the cluster has them), annotation
	// included.
	env := fmt.Sprintf(`[?(@.name==%q)].env[?(@.name==%q)].value}`, meshapi.ProxyContainerName, proxy.EnvPprofEndpoint)
	jsonpath := "{.spec.initContainers" + env + "{.spec.containers" + env
	if out, err := kubectl(t, "", "-n", demoNamespace, "get", "pod", "pprof", "-o", "jsonpath="+jsonpath); err != nil || out != "true" {
		t.Fatalf("the webhook did not switch the proxy's profiles on (%s=%q): %v", proxy.EnvPprofEndpoint, out, err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	addr := forwardPort(t, ctx, demoNamespace, "pod/pprof", meshapi.ProxyAdminPort)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/debug/pprof/goroutine?debug=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("goroutine profile through the port-forward: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile: total") {
		t.Fatalf("goroutine profile through the port-forward: %d, %v:\n%s", resp.StatusCode, err, tail(string(body), 20))
	}

	cs := e2eClient(t)
	_, err = kube.ProxyAdminGet(ctx, cs, demoNamespace, "pprof", "/debug/pprof/")
	if code := statusCode(err); code != http.StatusForbidden {
		t.Errorf("profiles through the API server's pod proxy (not loopback): %v, want 403", err)
	}
	web := demoPodOf(t, "web").name
	_, err = kube.ProxyAdminGet(ctx, cs, demoNamespace, web, "/debug/pprof/")
	if code := statusCode(err); code != http.StatusNotFound {
		t.Errorf("profiles of %s, not annotated: %v, want 404", web, err)
	}
}

// statusCode is the HTTP status of a failed API request (0 for none).
func statusCode(err error) int {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return int(status.Status().Code)
	}
	return 0
}
