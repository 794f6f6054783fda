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
// loaded into the cluster (hack/cluster/cluster.sh prometheus-image); unset, the viz
// install stage is skipped.
const envPrometheusImage = "MESHCTL_E2E_PROMETHEUS_IMAGE"

// vizInstallServesStats installs the viz extension's Prometheus, waits for
// `viz check`, then expects viz stat and routes to read it (not the
// proxies) and to show the demo's traffic as the direct scrape did; after
// `viz uninstall`, stat goes back to scraping the proxies.
func vizInstallServesStats(t *testing.T) {
	image := os.Getenv(envPrometheusImage)
	if image == "" {
		t.Skipf("%s is not set: hack/e2e.sh builds the Prometheus image (hack/cluster/cluster.sh prometheus-image)", envPrometheusImage)
	}
	manifest, errOut, code := meshctl(t, "viz", "install", "--set", "prometheus.image="+image, "--set", "prometheus.imagePullPolicy=Never", "--set", "prometheus.scrapeInterval=5s")
	if code != 0 {
		t.Fatalf("viz install: exit %d\n%s", code, errOut)
	}
	if out, err := kubectl(t, manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply the viz extension: %v\n%s", err, out)
	}
	prometheusLogs := func() string {
		logs, _ := kubectl(t, "", "-n", "meshctl-viz", "logs", "deploy/meshctl-prometheus", "--tail=40")
		return logs
	}
	out, errOut, code := meshctl(t, "viz", "check", "--wait", "3m")
	if code != 0 {
		t.Fatalf("viz check: exit %d\n%s\n%s\nprometheus logs:\n%s", code, out, errOut, prometheusLogs())
	}

	// Prometheus answers increase() over the window only once it has
	// scraped every proxy across the whole window: until then the rates
	// come out low. Ask until they match the load, for at most 3 minutes.
	var web *statRow
	var last, lastErr string
	deadline := time.Now().Add(3 * time.Minute)
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
			r := &rows[i]
			if r.Name == "web" && r.RPS != nil && *r.RPS >= 35 && *r.RPS <= 65 && r.Success != nil && *r.Success >= 0.85 && *r.Success <= 0.95 {
				web = r
			}
		}
		if web == nil {
			time.Sleep(5 * time.Second)
		}
	}
	if web == nil {
		t.Fatalf("viz stat through Prometheus never showed deploy/web at about 50 rps and 90 %% success within 3 minutes; last answer:\n%s\n%s\nprometheus logs:\n%s", last, lastErr, prometheusLogs())
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
