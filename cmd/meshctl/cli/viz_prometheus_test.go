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
	"sync/atomic"
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
	time.Sleep(2500 * time.Millisecond)
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
	// increase() stretches the rise between the window's first and last
	// samples to the window's edges, by at most 1.1 scrape intervals at each
	// end, so with samples every second it scales the 50 requests by up to
	// window/(window-2.2s); a loaded machine's late scrapes get near that.
	maxRequests := 50 * window.Seconds() / (window.Seconds() - 2.2)
	if viaProm.Requests == nil || *viaProm.Requests < 45 || *viaProm.Requests > maxRequests {
		t.Errorf("prometheus requests = %v over %s, want 45 to %.1f (50 extrapolated to the window's edges)", deref(viaProm.Requests), window, maxRequests)
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
	waitPromSumOf(t, url, "response_total", want)
}

// waitPromSumOf waits until the sum of metric's series is want.
func waitPromSumOf(t *testing.T, url, metric string, want float64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url + "/api/v1/query?query=sum(" + metric + ")")
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
			t.Fatalf("prometheus did not see sum(%s) = %v within 20s", metric, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestVizRoutesPrometheus: Prometheus scrapes a target that serves the
// routes fixture's client scrape (viz/testdata/routes/web-1), first its
// start and then its end, and `viz routes --to --prometheus-url` must
// give the rows of the saved scrapes: the same routes, success rates
// (effective and actual) and latency quantiles; the unmatched route's
// rt_route="" comes back without the label, as Prometheus drops empty
// labels. Counts are extrapolated, every series by the same factor, so
// the actual/effective ratio stays 60/50 for GET /books/{id}.
func TestVizRoutesPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("runs prometheus for about 10s")
	}
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not installed (apt-get install prometheus)")
	}
	fixture := filepath.Join("..", "..", "..", "viz", "testdata", "routes")
	start, end := filepath.Join(fixture, "web-1.start.prom"), filepath.Join(fixture, "web-1.end.prom")
	var serving atomic.Pointer[[]byte]
	serve := func(path string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		serving.Store(&b)
	}
	serve(start)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(*serving.Load())
	}))
	defer target.Close()
	promURL := startPrometheus(t, bin, strings.TrimPrefix(target.URL, "http://"))

	waitPromSumOf(t, promURL, "route_response_total", 760)
	windowStart := time.Now().Add(500 * time.Millisecond)
	time.Sleep(2 * time.Second)
	serve(end)
	waitPromSumOf(t, promURL, "route_response_total", 844)
	time.Sleep(1500 * time.Millisecond)
	window := time.Since(windowStart).Truncate(time.Second)

	viaProm := routesJSON(t, fmt.Sprintf("viz routes deploy/web --to svc/backend --to-namespace demo --prometheus-url %s -t %s -o json", promURL, window))
	direct := routesJSON(t, "viz routes deploy/web -n demo --to svc/backend -o json --metrics-file "+start+" --metrics-file "+end)
	if len(viaProm) != len(direct) {
		t.Fatalf("through prometheus %d rows %+v, from the scrapes %d", len(viaProm), viaProm, len(direct))
	}
	near := func(a, b *float64, tol float64) bool { return a != nil && b != nil && math.Abs(*a-*b) <= tol }
	for i, want := range direct {
		got := viaProm[i]
		if got.Route != want.Route || got.Service != want.Service || got.Namespace != want.Namespace || got.Authority != want.Authority {
			t.Errorf("row %d: %s %s.%s (%s), want %s %s.%s (%s)", i, got.Route, got.Service, got.Namespace, got.Authority, want.Route, want.Service, want.Namespace, want.Authority)
		}
		for _, c := range []struct {
			what      string
			got, want *float64
			tol       float64
		}{
			{"success", got.Success, want.Success, 1e-9}, {"actual_success", got.ActualSuccess, want.ActualSuccess, 1e-9},
			{"p50", got.LatencyP50, want.LatencyP50, 0.01}, {"p95", got.LatencyP95, want.LatencyP95, 0.01}, {"p99", got.LatencyP99, want.LatencyP99, 0.01},
		} {
			if !near(c.got, c.want, c.tol) {
				t.Errorf("%s %s: prometheus %v, scrapes %v", want.Route, c.what, deref(c.got), deref(c.want))
			}
		}
	}
	if get := viaProm[0]; get.Requests == nil || get.ActualRequests == nil || math.Abs(*get.ActualRequests / *get.Requests - 1.2) > 1e-9 {
		t.Errorf("%s: actual/effective requests %v/%v, want 60/50 scaled alike", get.Route, deref(get.ActualRequests), deref(get.Requests))
	}
}

func routesJSON(t *testing.T, args string) []viz.RouteJSON {
	t.Helper()
	r := run(t, args)
	var rows []viz.RouteJSON
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rows) != nil || len(rows) == 0 {
		t.Fatalf("meshctl %s: code %d, stdout %s, stderr %s; want routes", args, r.code, r.stdout, r.stderr)
	}
	return rows
}
