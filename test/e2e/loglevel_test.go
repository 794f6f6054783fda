//go:build e2e

package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// proxyAdminIsLoopbackWhereItMatters changes a running proxy's log level
// through a port-forward (which arrives on the pod's loopback), sees the
// proxy log the change, and checks that neither the log level nor the
// effective configuration is served over the pod network (the API
// server's pod proxy), while the certificate still is.
func proxyAdminIsLoopbackWhereItMatters(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	web := demoPodOf(t, "web").name
	addr := forwardPort(t, ctx, demoNamespace, "pod/"+web, meshapi.ProxyAdminPort)
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s through the port-forward: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return resp.StatusCode, string(b)
	}

	if code, body := call(http.MethodPut, "/proxy-log-level", "debug"); code != http.StatusNoContent {
		t.Fatalf("PUT /proxy-log-level debug: %d %s", code, body)
	}
	defer func() {
		// Back to the injected level, so later stages' logs stay as they
		// were (before cancel: the port-forward lives on ctx).
		if code, body := call(http.MethodPut, "/proxy-log-level", "info"); code != http.StatusNoContent {
			t.Errorf("PUT /proxy-log-level info: %d %s", code, body)
		}
	}()
	if code, body := call(http.MethodGet, "/proxy-log-level", ""); code != http.StatusOK || body != "debug\n" {
		t.Errorf("GET /proxy-log-level after PUT debug: %d %q", code, body)
	}
	if code, body := call(http.MethodGet, "/config", ""); code != http.StatusOK || !strings.Contains(body, `"adminAddr"`) {
		t.Errorf("GET /config through the port-forward: %d %.200s", code, body)
	}
	logs, err := kubectl(t, "", "-n", demoNamespace, "logs", web, "-c", meshapi.ProxyContainerName, "--since=5m")
	if err != nil || !strings.Contains(logs, "log level changed") {
		t.Errorf("the proxy did not log the change (%v):\n%s", err, tail(logs, 20))
	}

	cs := e2eClient(t)
	for _, path := range []string{"/proxy-log-level", "/config"} {
		if _, err := kube.ProxyAdminGet(ctx, cs, demoNamespace, web, path); statusCode(err) != http.StatusForbidden {
			t.Errorf("%s through the API server's pod proxy (not loopback): %v, want 403", path, err)
		}
	}
	if _, err := kube.ProxyAdminGet(ctx, cs, demoNamespace, web, "/identity"); err != nil {
		t.Errorf("/identity through the API server's pod proxy: %v", err)
	}
}
