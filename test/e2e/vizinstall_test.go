//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// envPrometheusImage names the Prometheus image hack/e2e.sh built and
// loaded into the cluster (hack/prometheus-image.sh); unset, the viz
// install stage is skipped.
const envPrometheusImage = "MESHCTL_E2E_PROMETHEUS_IMAGE"

// vizInstallServesStats installs the viz extension's Prometheus, waits for
// `viz check`, then expects viz stat and routes to read it (not the
// proxies) and to show the demo's traffic as the direct scrape did; after
// `viz uninstall`, stat goes back to scraping the proxies.
func vizInstallServesStats(t *testing.T) {
	image := os.Getenv(envPrometheusImage)
	if image == "" {
		t.Skipf("%s is not set: hack/e2e.sh builds the Prometheus image (hack/prometheus-image.sh)", envPrometheusImage)
	}
	manifest, errOut, code := meshctl(t, "viz", "install", "--set", "prometheus.image="+image, "--set", "prometheus.imagePullPolicy=Never", "--set", "prometheus.scrapeInterval=5s")
	if code != 0 {
		t.Fatalf("viz install: exit %d\n%s", code, errOut)
	}
	if out, err := kubectl(t, manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply the viz extension: %v\n%s", err, out)
	}
	defer func() {
		if t.Failed() {
			logs, _ := kubectl(t, "", "-n", "meshctl-viz", "logs", "deploy/meshctl-prometheus", "--tail=40")
			t.Logf("prometheus logs:\n%s", logs)
		}
	}()
	out, errOut, code := meshctl(t, "viz", "check", "--wait", "3m")
	if code != 0 {
		t.Fatalf("viz check: exit %d\n%s\n%s", code, out, errOut)
	}

	// Prometheus needs two scrapes of every proxy inside the window
	// before increase() answers: ask until the numbers are there.
	var web *statRow
	var last, lastErr string
	deadline := time.Now().Add(2 * time.Minute)
	for web == nil && time.Now().Before(deadline) {
		out, errOut, code = meshctl(t, "viz", "stat", "deploy", "-n", demoNamespace, "-t", "30s", "-o", "json", "-v")
		last, lastErr = out, errOut
		if code != 0 {
			t.Fatalf("viz stat through Prometheus: exit %d\n%s", code, errOut)
		}
		if !strings.Contains(errOut, "the viz Prometheus") {
			t.Fatalf("viz stat did not read the installed Prometheus:\n%s", errOut)
		}
		var rows []statRow
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("viz stat -o json: %v\n%s", err, out)
		}
		for i := range rows {
			if rows[i].Name == "web" && rows[i].RPS != nil && *rows[i].RPS > 0 {
				web = &rows[i]
			}
		}
		if web == nil {
			time.Sleep(5 * time.Second)
		}
	}
	if web == nil {
		t.Fatalf("no traffic for deploy/web through Prometheus within 2 minutes:\n%s\n%s", last, lastErr)
	}
	if web.Success == nil || *web.Success < 0.85 || *web.Success > 0.95 {
		t.Errorf("web SUCCESS through Prometheus %v, want about 0.90", deref(web.Success))
	}
	if *web.RPS < 30 || *web.RPS > 70 {
		t.Errorf("web RPS through Prometheus %v, want about 50", deref(web.RPS))
	}
	t.Logf("viz stat deploy/web through Prometheus: success %.3f, rps %.1f, p99 %.1f ms", deref(web.Success), deref(web.RPS), deref(web.P99))

	routes := vizRoutes(t, "deploy/web", "-n", demoNamespace, "-t", "30s", "-o", "json")
	if r := routes["web GET /"]; r.Success == nil || *r.Success < 0.99 {
		t.Errorf("viz routes through Prometheus: web GET / success %v, want about 1", deref(r.Success))
	}

	manifest, errOut, code = meshctl(t, "viz", "uninstall")
	if code != 0 {
		t.Fatalf("viz uninstall: exit %d\n%s", code, errOut)
	}
	if out, err := kubectl(t, manifest, "delete", "--wait=true", "--timeout=2m", "-f", "-"); err != nil {
		t.Fatalf("kubectl delete the viz extension: %v\n%s", err, out)
	}
	_, errOut, code = meshctl(t, "viz", "stat", "deploy", "-n", demoNamespace, "-t", "2s", "-v")
	if code != 0 || !strings.Contains(errOut, "direct scrapes") {
		t.Errorf("after viz uninstall, viz stat should scrape the proxies directly (exit %d):\n%s", code, errOut)
	}
}
