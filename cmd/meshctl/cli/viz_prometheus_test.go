package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshctl/meshctl/viz"
)

// TestVizStatPrometheus runs Debian's prometheus against a real proxy on
// loopback and checks that `viz stat --prometheus-url` agrees with the
// offline computation over direct scrapes of the same proxy: the same
// success rate and the same latency quantiles (Prometheus extrapolates
// increase() to the window's edges, which scales every count by the same
// factor and leaves ratios and quantiles alone), and a request count near 50.
func TestVizStatPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("runs prometheus for about 10s")
	}
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not installed (apt-get install prometheus)")
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusInternalServerError)
		}
		_, _ = io.WriteString(w, "ok\n")
	}))
	defer upstream.Close()
	inbound, admin := startTestProxy(t, strings.TrimPrefix(upstream.URL, "http://"))
	promURL := startPrometheus(t, bin, admin)

	send := func(ok, fail int) {
		client := &http.Client{Timeout: 5 * time.Second}
		for i := range ok + fail {
			path := "/ok"
			if i >= ok {
				path = "/fail"
			}
			resp, err := client.Get("http://" + inbound + path)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	// Phase 1 creates every series, so that Prometheus has a sample of each
	// before the window starts (increase() cannot see a series' first
	// value). It is large so that increase() never extrapolates a series
	// towards zero, which it does for counters that start near zero and
	// would skew one series against another.
	send(40, 40)
	waitPromSum(t, promURL, 80)
	windowStart := time.Now().Add(1500 * time.Millisecond)
	time.Sleep(3 * time.Second)

	dir := t.TempDir()
	start, end := filepath.Join(dir, "web-1.start.prom"), filepath.Join(dir, "web-1.end.prom")
	writeFile(t, start, "# pod: default/web-1 deployment/web\n"+string(scrapeAdmin(t, admin)))
	send(40, 10)
	waitPromSum(t, promURL, 130)
	time.Sleep(1500 * time.Millisecond)
	writeFile(t, end, "# pod: default/web-1 deployment/web\n"+string(scrapeAdmin(t, admin)))
	window := time.Since(windowStart).Truncate(time.Second)

	viaProm := statJSON(t, fmt.Sprintf("viz stat deploy --prometheus-url %s -t %s -o json", promURL, window))
	direct := statJSON(t, "viz stat deploy -t 10s -o json --metrics-file "+start+" --metrics-file "+end)
	if *direct.Requests != 50 || *direct.Success != 0.8 {
		t.Fatalf("direct scrapes: requests %v success %v, want 50 and 0.8", *direct.Requests, *direct.Success)
	}
	if viaProm.Success == nil || math.Abs(*viaProm.Success-0.8) > 1e-9 {
		t.Errorf("prometheus success = %v, want 0.8", deref(viaProm.Success))
	}
	if viaProm.Requests == nil || *viaProm.Requests < 45 || *viaProm.Requests > 75 {
		t.Errorf("prometheus requests = %v, want about 50 (extrapolated)", deref(viaProm.Requests))
	}
	for _, q := range []struct {
		name       string
		prom, want *float64
	}{{"p50", viaProm.LatencyP50, direct.LatencyP50}, {"p95", viaProm.LatencyP95, direct.LatencyP95}, {"p99", viaProm.LatencyP99, direct.LatencyP99}} {
		if q.prom == nil || math.Abs(*q.prom-*q.want) > 0.01 {
			t.Errorf("latency %s: prometheus %v, direct %v", q.name, deref(q.prom), *q.want)
		}
	}
}

func statJSON(t *testing.T, args string) viz.StatJSON {
	t.Helper()
	r := run(t, args)
	var rows []viz.StatJSON
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rows) != nil || len(rows) != 1 {
		t.Fatalf("meshctl %s: code %d, stdout %s, stderr %s; want one row", args, r.code, r.stdout, r.stderr)
	}
	return rows[0]
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startPrometheus runs prometheus scraping the proxy admin address every
// second, with the labels a Kubernetes scrape config would add, and returns
// its URL once it is ready.
func startPrometheus(t *testing.T, bin, admin string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
- job_name: meshctl-proxy
  static_configs:
  - targets: [%q]
    labels: {namespace: default, pod: web-1, deployment: web}
`, admin)
	writeFile(t, filepath.Join(dir, "prometheus.yml"), cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var logs strings.Builder
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus logs:\n%s", logs.String())
		}
	})
	url := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus at %s not ready: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitPromSum waits until Prometheus has scraped want responses in all.
func waitPromSum(t *testing.T, url string, want float64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url + "/api/v1/query?query=sum(response_total)")
		if err == nil {
			var body struct {
				Data struct {
					Result []struct {
						Value [2]any `json:"value"`
					} `json:"result"`
				} `json:"data"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if len(body.Data.Result) == 1 {
				if s, ok := body.Data.Result[0].Value[1].(string); ok && s == fmt.Sprint(want) {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus did not see %v responses within 20s", want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
