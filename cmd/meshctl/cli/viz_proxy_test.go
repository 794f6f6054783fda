package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshctl/meshctl/pkg/proxy"
	"github.com/meshctl/meshctl/pkg/testutil/proxytest"
	"github.com/meshctl/meshctl/viz"
)

// TestVizStatRealProxy scrapes a real meshctl proxy in explicit-target
// mode: 40 requests the upstream answers 200 and 10 it answers 500 pass
// through the proxy's inbound side between two scrapes of its admin
// /metrics, and `viz stat --metrics-file` must count exactly 50 requests at
// 80.00% success.
func TestVizStatRealProxy(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusInternalServerError)
		}
		_, _ = io.WriteString(w, "ok\n")
	}))
	defer upstream.Close()
	inbound, admin := startTestProxy(t, strings.TrimPrefix(upstream.URL, "http://"))

	dir := t.TempDir()
	start := filepath.Join(dir, "web-1.start.prom")
	end := filepath.Join(dir, "web-1.end.prom")
	if err := os.WriteFile(start, scrapeAdmin(t, admin), 0o600); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for i := range 50 {
		path := "/ok"
		if i%5 == 4 {
			path = "/fail"
		}
		resp, err := client.Get("http://" + inbound + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// The proxy counts a response when its exchange ends, which may trail
	// the client by a moment: scrape until all 50 are counted.
	var last []byte
	deadline := time.Now().Add(5 * time.Second)
	for {
		last = scrapeAdmin(t, admin)
		if countResponses(t, last) >= 50 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := os.WriteFile(end, last, 0o600); err != nil {
		t.Fatal(err)
	}

	files := " --metrics-file " + start + " --metrics-file " + end
	r := run(t, "viz stat po -t 10s -o json"+files)
	if r.code != 0 {
		t.Fatalf("code %d: %s", r.code, r.stderr)
	}
	var rows []viz.StatJSON
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("%v in %s", err, r.stdout)
	}
	if len(rows) != 1 || rows[0].Name != "web-1" || rows[0].Namespace != "default" {
		t.Fatalf("rows = %s, want the pod named after the files, default/web-1", r.stdout)
	}
	row := rows[0]
	if row.Requests == nil || *row.Requests != 50 {
		t.Errorf("requests = %v, want exactly 50", deref(row.Requests))
	}
	if row.Success == nil || *row.Success != 0.8 {
		t.Errorf("success = %v, want 0.8", deref(row.Success))
	}
	if row.RPS == nil || *row.RPS != 5 {
		t.Errorf("rps = %v, want 50 requests / 10s = 5", deref(row.RPS))
	}
	if row.LatencyP50 == nil || row.LatencyP99 == nil || *row.LatencyP50 > *row.LatencyP99 {
		t.Errorf("latency p50 %v, p99 %v: want both, p50 ≤ p99", deref(row.LatencyP50), deref(row.LatencyP99))
	}

	table := run(t, "viz stat po -t 10s"+files)
	if !strings.Contains(table.stdout, "80.00%") || !strings.Contains(table.stdout, "5.0rps") {
		t.Errorf("table does not show 80.00%% and 5.0rps:\n%s", table.stdout)
	}
}

// startTestProxy runs a proxy on loopback ports sending inbound traffic to
// target, and returns its inbound and admin addresses once it is ready.
func startTestProxy(t *testing.T, target string) (inbound, admin string) {
	t.Helper()
	ls := startTestProxyWith(t, proxy.Config{InboundTarget: target}, proxy.Deps{})
	return ls.Inbound.Addr().String(), ls.Admin.Addr().String()
}

// startTestProxyWith runs a proxy of cfg and deps on loopback ports and
// returns its listeners once it is ready.
func startTestProxyWith(t *testing.T, cfg proxy.Config, deps proxy.Deps) proxy.Listeners {
	t.Helper()
	return proxytest.Start(t, cfg, deps)
}

func scrapeAdmin(t *testing.T, admin string) []byte {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %d %v", admin, resp.StatusCode, err)
	}
	return b
}

// countResponses sums response_total in a scrape.
func countResponses(t *testing.T, b []byte) float64 {
	t.Helper()
	fams, err := viz.ParseMetrics(b)
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, m := range fams["response_total"].GetMetric() {
		n += m.GetCounter().GetValue()
	}
	return n
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
