package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
)

// TestMetricsPromtoolClean lints the proxy's exposition with Prometheus's
// own promtool (Debian package prometheus) after some HTTP traffic.
func TestMetricsPromtoolClean(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus); .ci/run installs it")
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer backend.Close()
	p := newPair(t, strings.TrimPrefix(backend.URL, "http://"), nil)
	for _, path := range []string{"/", "/fail"} {
		resp, err := http.Get("http://" + p.outbound + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get("http://" + p.serverAdmin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(body, []byte("response_latency_ms_bucket")) {
		t.Fatalf("no latency histogram in /metrics:\n%s", body)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, _ := cmd.CombinedOutput()
	// Linkerd's latency metrics are in milliseconds with an "_ms" suffix,
	// which promtool calls an abbreviated unit. Those names are the contract
	// (dashboards and PromQL written for Linkerd must work), so that one
	// lint is accepted; anything else fails.
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" || strings.HasSuffix(line, "metric names should not contain abbreviated units") {
			continue
		}
		t.Errorf("promtool check metrics: %s", line)
	}
}
