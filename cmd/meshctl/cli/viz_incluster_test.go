package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/meshctl/meshctl/pkg/kube/kubefake"
	"github.com/meshctl/meshctl/viz"
)

// fakePrometheusAnswer answers every instant query: response_total with 30
// successful inbound responses of shop/web-1, every other query nothing.
func fakePrometheusAnswer(query string) string {
	result := "[]"
	if strings.HasPrefix(query, "increase(response_total") {
		result = `[{"metric":{"namespace":"shop","pod":"web-1","job":"meshctl-proxy","deployment":"web","direction":"inbound","classification":"success"},"value":[1700000000,"30"]}]`
	}
	return `{"status":"success","data":{"resultType":"vector","result":` + result + `}}`
}

// TestVizSourceChoice checks which source stat uses on its own: the viz
// Prometheus through the service proxy when its Deployment is ready, the
// direct scrape otherwise; -v says which, and only -v.
func TestVizSourceChoice(t *testing.T) {
	prom := func(ready int) string {
		return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: meshctl-prometheus, namespace: meshctl-viz}\nspec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: prometheus, image: p}]}}}\nstatus: {readyReplicas: " + string(rune('0'+ready)) + "}"
	}
	tests := []struct {
		name      string
		objects   []string
		args      string
		wantProm  bool
		wantNote  string
		wantEmpty bool // stderr must be empty
	}{
		{"installed", []string{prom(1)}, "viz stat deploy -n shop -o json -v", true, "metrics from the viz Prometheus through the API server (/api/v1/namespaces/meshctl-viz/services/http:meshctl-prometheus:9090/proxy/)", false},
		{"installed quiet", []string{prom(1)}, "viz stat deploy -n shop -o json", true, "", true},
		{"not ready", []string{prom(0)}, "viz stat deploy -n shop -t 1s -v", false, "not ready", false},
		{"not installed", nil, "viz stat deploy -n shop -t 1s -v", false, "the viz Prometheus is not installed", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := kubefake.NewFakeFactory(tc.objects...)
			if err != nil {
				t.Fatal(err)
			}
			var proxied []string
			f.Clientset.PrependProxyReactor("services", func(a k8stesting.Action) (bool, rest.ResponseWrapper, error) {
				pa := a.(k8stesting.ProxyGetAction)
				if pa.GetNamespace() != "meshctl-viz" || pa.GetName() != "meshctl-prometheus" || pa.GetPort() != "9090" || pa.GetScheme() != "http" {
					t.Errorf("proxied to %s %s/%s:%s", pa.GetScheme(), pa.GetNamespace(), pa.GetName(), pa.GetPort())
				}
				proxied = append(proxied, pa.GetPath())
				return true, fakeProxyResponse{body: []byte(fakePrometheusAnswer(pa.GetParams()["query"]))}, nil
			})
			r := run(t, tc.args, WithKubeFactory(f))
			if r.code != 0 {
				t.Fatalf("code %d: %s", r.code, r.stderr)
			}
			if tc.wantEmpty && r.stderr != "" || !strings.Contains(r.stderr, tc.wantNote) {
				t.Errorf("stderr = %q, want %q", r.stderr, tc.wantNote)
			}
			if got := len(proxied) > 0; got != tc.wantProm {
				t.Fatalf("Prometheus queried: %v (%v), want %v", got, proxied, tc.wantProm)
			}
			if !tc.wantProm {
				return
			}
			for _, p := range proxied {
				if p != "/api/v1/query" {
					t.Errorf("path %s, want /api/v1/query", p)
				}
			}
			var rows []viz.StatJSON
			if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
				t.Fatalf("%v in %s", err, r.stdout)
			}
			if len(rows) != 1 || rows[0].Name != "web" || *rows[0].Requests != 30 || *rows[0].Success != 1 {
				t.Errorf("rows = %s", r.stdout)
			}
		})
	}
}
