//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

const demoNamespace = "meshctl-demo"

// meshDemo injects the demo application, applies it and waits for every
// pod to run with its proxy.
func meshDemo(t *testing.T) {
	t.Helper()
	raw, err := os.ReadFile("testdata/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	injected, errOut, code := meshctl(t, "inject", "testdata/demo.yaml")
	if code != 0 {
		t.Fatalf("inject: %s", errOut)
	}
	if len(injected) <= len(raw) {
		t.Fatalf("inject did not add anything:\n%s", errOut)
	}
	if out, err := kubectl(t, injected, "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	out, err := kubectl(t, "", "-n", demoNamespace, "wait", "--for=condition=Available", "--timeout=4m", "deployment", "--all")
	if err != nil {
		pods, _ := kubectl(t, "", "-n", demoNamespace, "get", "pods", "-o", "wide")
		describe, _ := kubectl(t, "", "-n", demoNamespace, "describe", "pods")
		t.Fatalf("demo not available: %v\n%s\n%s\n%s", err, out, pods, tail(describe, 150))
	}
	for _, pod := range demoPods(t) {
		if !pod.hasProxy {
			t.Errorf("pod %s runs without the meshctl-proxy sidecar", pod.name)
		}
	}
}

type demoPod struct {
	name, app, ip string
	hasProxy      bool
}

func demoPods(t *testing.T) []demoPod {
	t.Helper()
	out, err := kubectl(t, "", "-n", demoNamespace, "get", "pods", "-o", "json")
	if err != nil {
		t.Fatalf("list demo pods: %v\n%s", err, out)
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name   string            `json:"name"`
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Spec struct {
				InitContainers []struct {
					Name string `json:"name"`
				} `json:"initContainers"`
			} `json:"spec"`
			Status struct {
				PodIP string `json:"podIP"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("decode pods: %v", err)
	}
	var pods []demoPod
	for _, it := range list.Items {
		p := demoPod{name: it.Metadata.Name, app: it.Metadata.Labels["app"], ip: it.Status.PodIP}
		for _, c := range it.Spec.InitContainers {
			if c.Name == "meshctl-proxy" {
				p.hasProxy = true
			}
		}
		pods = append(pods, p)
	}
	return pods
}

// demoPodOf returns the demo pod of app (the last one listed, should a
// rollout leave two), and fails the test when there is none.
func demoPodOf(t *testing.T, app string) demoPod {
	t.Helper()
	var found demoPod
	for _, p := range demoPods(t) {
		if p.app == app {
			found = p
		}
	}
	if found.name == "" {
		t.Fatalf("no %s pod in %s", app, demoNamespace)
	}
	return found
}

// demoTraffic calls the web front from the host: web reaches its backend
// over HTTP/2 and over HTTP/1.1 (which the proxies carry over HTTP/2 and
// the backend must see as HTTP/1.1, unmarked), quote over gRPC and echo
// over opaque TCP, all through its outbound proxy, whose metrics must
// count them.
func demoTraffic(t *testing.T) {
	t.Helper()
	web := demoPodOf(t, "web")
	if web.ip == "" {
		t.Fatal("no web pod with an IP")
	}
	client := &http.Client{Timeout: 10 * time.Second}
	want := "backend=hello-over-HTTP2.0 backend-h1=hello-over-HTTP1.1 quote=SERVING echo=ping"
	var body string
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := client.Get(fmt.Sprintf("http://%s:8080/", web.ip))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = strings.TrimSpace(string(b))
			if resp.StatusCode == http.StatusOK && body == want {
				break
			}
		} else {
			body = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("web never answered %q through the mesh; last answer: %s", want, body)
		}
		time.Sleep(2 * time.Second)
	}
	metrics := scrape(t, web.ip)
	for _, want := range []string{
		`request_total{`,
		`direction="outbound"`,
		`direction="inbound"`,
		`:8081"`, // the backend, over HTTP/2
		`:8082"`, // quote, over gRPC
		`tcp_open_total{`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("web's proxy metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Logf("web proxy metrics:\n%s", tail(metrics, 80))
	}
}

func scrape(t *testing.T, ip string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s:4191/metrics", ip), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape %s: %v", ip, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
