//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// statRow is the part of `meshctl viz stat -o json` the journey checks.
type statRow struct {
	Name       string   `json:"name"`
	Meshed     string   `json:"meshed"`
	MeshedPods int      `json:"meshed_pods"`
	TotalPods  int      `json:"total_pods"`
	Requests   *float64 `json:"requests"`
	Success    *float64 `json:"success"`
	RPS        *float64 `json:"rps"`
	P99        *float64 `json:"latency_ms_p99"`
}

// vizShowsDemoTraffic reads the demo's numbers the way a user does, with
// no Prometheus installed (the direct source): the load generator sends
// 50 requests per second to web, 10 % of them to a path that fails.
// Its three reads are independent and each waits out its window, so they
// run in parallel.
func vizShowsDemoTraffic(t *testing.T) {
	t.Run("stat deploy", func(t *testing.T) { t.Parallel(); vizStatDeploy(t) })
	t.Run("stat svc", func(t *testing.T) { t.Parallel(); vizStatServices(t) })
	t.Run("edges", func(t *testing.T) { t.Parallel(); vizEdges(t) })
}

func vizStatDeploy(t *testing.T) {
	out, errOut, code := meshctl(t, "viz", "stat", "deploy", "-n", demoNamespace, "-t", "20s", "-o", "json")
	if code != 0 {
		t.Fatalf("viz stat: exit %d\n%s", code, errOut)
	}
	var rows []statRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("viz stat -o json: %v\n%s", err, out)
	}
	var web *statRow
	for i := range rows {
		if rows[i].Name == "web" {
			web = &rows[i]
		}
	}
	if web == nil {
		t.Fatalf("no row for deploy/web:\n%s", out)
	}
	if web.MeshedPods == 0 || web.MeshedPods != web.TotalPods {
		t.Errorf("web MESHED %s, want all pods meshed", web.Meshed)
	}
	if web.Success == nil || *web.Success < 0.85 || *web.Success > 0.95 {
		t.Errorf("web SUCCESS %v, want about 0.90 (10 %% injected failures):\n%s", deref(web.Success), out)
	}
	if web.RPS == nil || *web.RPS < 35 || *web.RPS > 65 {
		t.Errorf("web RPS %v, want about 50:\n%s", deref(web.RPS), out)
	}
	if web.P99 == nil {
		t.Errorf("web has no latency percentiles:\n%s", out)
	}
	t.Logf("viz stat deploy/web: meshed %s, success %.4f, rps %.1f, p99 %.1f ms", web.Meshed, deref(web.Success), deref(web.RPS), deref(web.P99))
}

// vizStatServices reads the Services, as their clients see them: load
// sends web's Service its 50 requests per second (10 % failing); web
// calls backend twice for each request that does not fail (over HTTP/2
// and HTTP/1.1).
func vizStatServices(t *testing.T) {
	out, errOut, code := meshctl(t, "viz", "stat", "svc", "-n", demoNamespace, "-t", "10s", "-o", "json")
	if code != 0 {
		t.Fatalf("viz stat svc: exit %d\n%s", code, errOut)
	}
	var svcRows []statRow
	if err := json.Unmarshal([]byte(out), &svcRows); err != nil {
		t.Fatalf("viz stat svc -o json: %v\n%s", err, out)
	}
	svcs := map[string]statRow{}
	for _, r := range svcRows {
		svcs[r.Name] = r
	}
	if w, ok := svcs["web"]; !ok || w.Meshed != "-" || w.Success == nil || *w.Success < 0.85 || *w.Success > 0.95 || w.RPS == nil || *w.RPS < 35 || *w.RPS > 65 {
		t.Errorf("viz stat svc: web should have MESHED -, SUCCESS about 0.90 and about 50 rps:\n%s", out)
	}
	if b, ok := svcs["backend"]; !ok || b.Success == nil || *b.Success < 0.99 || b.RPS == nil || *b.RPS < 30 {
		t.Errorf("viz stat svc: backend should succeed at about 90 rps:\n%s", out)
	}
	if _, ok := svcs["quote"]; !ok {
		t.Errorf("viz stat svc: no row for quote:\n%s", out)
	}
	t.Logf("viz stat svc: web %.1f rps, backend %.1f rps", deref(svcs["web"].RPS), deref(svcs["backend"].RPS))
}

// vizEdges expects every pair the demo wires up, each over mTLS: load →
// web → backend, quote, echo (web reaches them through their Services, the
// destination controller names the pods behind them).
func vizEdges(t *testing.T) {
	out, errOut, code := meshctl(t, "viz", "edges", "deploy", "-n", demoNamespace, "-t", "10s", "-o", "json")
	if code != 0 {
		t.Fatalf("viz edges: exit %d\n%s", code, errOut)
	}
	var edges []struct {
		Src         string `json:"src"`
		Dst         string `json:"dst"`
		ServerID    string `json:"server_id"`
		NoTLSReason string `json:"no_tls_reason"`
		Secured     bool   `json:"secured"`
	}
	if err := json.Unmarshal([]byte(out), &edges); err != nil {
		t.Fatalf("viz edges -o json: %v\n%s", err, out)
	}
	want := map[string]bool{"load>web": false, "web>backend": false, "web>quote": false, "web>echo": false}
	for _, e := range edges {
		key := e.Src + ">" + e.Dst
		if _, ok := want[key]; ok {
			want[key] = true
			if !e.Secured || e.ServerID != demoIdentity {
				t.Errorf("edge %s: secured %v (%s), server %q; want mTLS to %s", key, e.Secured, e.NoTLSReason, e.ServerID, demoIdentity)
			}
		}
	}
	for key, seen := range want {
		if !seen {
			t.Errorf("viz edges lacks %s:\n%s", key, out)
		}
	}
	table, _, _ := meshctl(t, "viz", "edges", "deploy", "-n", demoNamespace, "-t", "5s", "-o", "wide")
	t.Logf("viz edges deploy -o wide:\n%s", table)
}

func deref(f *float64) float64 {
	if f == nil {
		return -1
	}
	return *f
}

// offlineStatFromSavedScrapes saves two scrapes of web's proxy with
// `meshctl diagnostics proxy-metrics` and computes stat from them with no
// cluster access, as a user sending scrapes to support would.
func offlineStatFromSavedScrapes(t *testing.T) {
	t.Helper()
	web := demoPodOf(t, "web").name
	dir := t.TempDir()
	var files []string
	for i := range 2 {
		if i > 0 {
			time.Sleep(10 * time.Second)
		}
		out, errOut, code := meshctl(t, "diagnostics", "proxy-metrics", web, "-n", demoNamespace)
		if code != 0 {
			t.Fatalf("diagnostics proxy-metrics: exit %d\n%s", code, errOut)
		}
		f := filepath.Join(dir, fmt.Sprintf("web-%d.prom", i))
		if err := os.WriteFile(f, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	out, errOut, code := meshctl(t, "viz", "stat", "deploy", "--metrics-file", files[0], "--metrics-file", files[1], "-n", demoNamespace, "-o", "json",
		"--kubeconfig", filepath.Join(dir, "no-such-kubeconfig"))
	if code != 0 {
		t.Fatalf("viz stat --metrics-file: exit %d\n%s", code, errOut)
	}
	var rows []statRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 || rows[0].Name != "web" {
		t.Fatalf("offline stat: %v\n%s", err, out)
	}
	if s := rows[0].Success; s == nil || *s < 0.8 || *s > 0.98 {
		t.Errorf("offline stat success %v, want about 0.90:\n%s", deref(s), out)
	}
	if r := rows[0].RPS; r == nil || *r < 30 || *r > 70 {
		t.Errorf("offline stat rps %v, want about 50:\n%s", deref(r), out)
	}
}
