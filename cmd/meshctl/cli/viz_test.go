package cli

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/meshctl/meshctl/pkg/kube/kubefake"
	"github.com/meshctl/meshctl/pkg/testutil/golden"
	"github.com/meshctl/meshctl/viz"
)

// shopScrapes are the --metrics-file flags of viz's "shop" fixture
// (viz/testdata/shop/README.md): every start, then every end.
func shopScrapes() string {
	return fixtureScrapes("shop", "web-1", "web-2", "db-0", "idle-1", "api-1")
}

// servicesScrapes are those of the "services" fixture
// (viz/testdata/services/README.md).
func servicesScrapes() string { return fixtureScrapes("services", "web-1", "load-1") }

func fixtureScrapes(fixture string, pods ...string) string {
	var b strings.Builder
	for _, which := range []string{"start", "end"} {
		for _, pod := range pods {
			path := filepath.Join("..", "..", "..", "viz", "testdata", fixture, pod+"."+which+".prom")
			if _, err := os.Stat(path); err == nil {
				b.WriteString(" --metrics-file " + path)
			}
		}
	}
	return b.String()
}

func TestVizOffline(t *testing.T) {
	files := shopScrapes()
	apiNote := "note: pod shop/api-1 did not answer, its numbers are missing: only one scrape file"
	tests := []struct {
		name   string
		args   string
		code   int
		stderr string // a substring; "" means stderr must be empty
	}{
		{"stat_deploy", "viz stat deploy -n shop" + files, 0, apiNote},
		{"stat_deploy_json", "viz stat deploy/web -n shop -o json" + files, 0, ""},
		{"stat_pods_wide_all", "viz stat po -A -o wide" + files, 0, apiNote},
		{"stat_to_db", "viz stat deploy web -n shop --to sts/db" + files, 0, ""}, // api-1 is not selected, so not read
		{"edges_deploy", "viz edges deploy -n shop" + files, 0, apiNote},
		{"edges_po_json", "viz edges po -n shop -o json" + files, 0, apiNote},
		{"stat_other_namespace", "viz stat deploy -n other" + files, 0, "No traffic found."},
		{"edges_none", "viz edges sts -n shop" + files, 0, "No edges found."},
		{"stat_svc", "viz stat svc -n shop" + servicesScrapes(), 0, ""},
		{"stat_svc_from_web_json", "viz stat svc/api -n shop --from deploy/web -o json" + servicesScrapes(), 0, ""},
		{"stat_deploy_to_svc", "viz stat deploy -A --to svc/api -n shop" + servicesScrapes(), 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.args)
			if r.code != tt.code {
				t.Fatalf("code %d, want %d; stderr:\n%s", r.code, tt.code, r.stderr)
			}
			if tt.stderr == "" && r.stderr != "" || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tt.stderr)
			}
			golden.Assert(t, filepath.Join("testdata", "viz", tt.name+".golden"), []byte(r.stdout))
		})
	}
}

func TestVizUsageErrors(t *testing.T) {
	files := shopScrapes()
	tests := []struct{ args, stderr string }{
		{"viz stat", "requires at least 1 arg"},
		{"viz stat svc -l app=web" + files, "services are named"},
		{"viz stat deploy --from svc/web" + files, "sends nothing itself"},
		{"viz stat svc --to svc/web" + files, "already the traffic sent to it"},
		{"viz stat authority" + files, "use svc"},
		{"viz edges svc" + files, "does not take services"},
		{"viz stat pizza" + files, "unknown resource type"},
		{"viz stat deploy -o yaml" + files, "unknown output format"},
		{"viz stat deploy --metrics-file a.prom", "two or more scrapes"},
		{"viz stat deploy --from deploy/a --to deploy/b" + files, "exclude each other"},
		{"viz stat deploy --to ns/shop" + files, "not a namespace"},
		{"viz stat deploy -t 10ms", "too short"},
		{"viz stat deploy web sts/db" + files, "every name must be of type deployment"},
		{"viz stat all/x" + files, "takes no names"},
		{"viz stat deploy -l app=(" + files, "label selector"},
		{"viz edges", "accepts 1 arg"},
	}
	for _, tt := range tests {
		t.Run(strings.Fields(tt.args + " " + tt.stderr)[2], func(t *testing.T) {
			r := run(t, tt.args)
			if r.code != ExitUsage || r.stdout != "" || !strings.Contains(r.stderr, tt.stderr) {
				t.Fatalf("meshctl %s: code %d, stdout %q, stderr %q; want usage error mentioning %q", tt.args, r.code, r.stdout, r.stderr, tt.stderr)
			}
		})
	}
}

// fakeProxyResponse is what the fake clientset's pods/proxy returns.
type fakeProxyResponse struct {
	body []byte
	err  error
}

func (f fakeProxyResponse) DoRaw(context.Context) ([]byte, error) { return f.body, f.err }

func (f fakeProxyResponse) Stream(context.Context) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(string(f.body))), f.err
}

// TestVizStatDirect runs stat against a fake cluster whose pods/proxy
// subresource serves the saved scrapes: the first GET of a pod its start
// file, the second its end file.
func TestVizStatDirect(t *testing.T) {
	f, err := kubefake.NewFakeFactory(
		vizPod("web-1", "10.0.0.1", true), vizPod("web-2", "10.0.0.2", true), vizPod("legacy-1", "10.0.0.9", false),
		"apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: web-5d8f, namespace: shop, ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u1, controller: true}]}",
		"apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: legacy-9a, namespace: shop, ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: legacy, uid: u3, controller: true}]}",
	)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	calls := map[string]int{}
	f.Clientset.PrependProxyReactor("pods", func(a k8stesting.Action) (bool, rest.ResponseWrapper, error) {
		pa := a.(k8stesting.ProxyGetAction)
		if pa.GetPort() != "4191" || pa.GetPath() != "/metrics" {
			t.Errorf("proxied to port %s path %s, want the admin /metrics", pa.GetPort(), pa.GetPath())
		}
		mu.Lock()
		calls[pa.GetName()]++
		which := "start"
		if calls[pa.GetName()] > 1 {
			which = "end"
		}
		mu.Unlock()
		b, err := os.ReadFile(filepath.Join("..", "..", "..", "viz", "testdata", "shop", pa.GetName()+"."+which+".prom"))
		return true, fakeProxyResponse{body: b, err: err}, nil
	})
	r := run(t, "viz stat deploy -n shop -t 1s --unmeshed -o json", WithKubeFactory(f))
	if r.code != 0 {
		t.Fatalf("code %d: %s", r.code, r.stderr)
	}
	var rows []viz.StatJSON
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("%v in %s", err, r.stdout)
	}
	if len(rows) != 2 || rows[0].Name != "legacy" || rows[0].Meshed != "0/1" || rows[1].Name != "web" || rows[1].Meshed != "2/2" {
		t.Fatalf("rows = %s", r.stdout)
	}
	web := rows[1]
	if *web.Requests != 120 || *web.Success != 110.0/120 || *web.TCPOpenConnections != 4 {
		t.Errorf("web: requests %v success %v tcp %v, want 120, 110/120, 4", *web.Requests, *web.Success, *web.TCPOpenConnections)
	}
	if calls["legacy-1"] != 0 || calls["web-1"] != 2 || calls["web-2"] != 2 {
		t.Errorf("scrapes per pod = %v, want two per meshed pod", calls)
	}
}

func vizPod(name, ip string, meshed bool) string {
	containers := "containers: [{name: app, image: app}]"
	if meshed {
		containers = "initContainers: [{name: meshctl-proxy, image: meshctl, restartPolicy: Always}]\n  " + containers
	}
	return `apiVersion: v1
kind: Pod
metadata:
  name: ` + name + `
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: ` + map[bool]string{true: "web-5d8f", false: "legacy-9a"}[meshed] + `, uid: u2, controller: true}]
spec:
  ` + containers + `
status: {phase: Running, podIP: ` + ip + `}`
}

// TestVizBadMetricsFile: a --metrics-file that is no scrape is the user's
// input: an error naming the file and the line, whatever the command
// selects, and nothing on stdout.
func TestVizBadMetricsFile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.prom")
	if err := os.WriteFile(bad, []byte("request_total{direction=\"inbound\" 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range []string{
		"viz stat deploy -n shop" + shopScrapes() + " --metrics-file " + bad,
		"viz stat po -A" + shopScrapes() + " --metrics-file " + bad,
		"viz edges deploy -n shop --metrics-file " + bad + shopScrapes(),
	} {
		r := run(t, args)
		if r.code != ExitFailure || r.stdout != "" || !strings.Contains(r.stderr, bad+": parse metrics: text format parsing error in line 1") {
			t.Errorf("meshctl %s: code %d, stdout %q, stderr %q; want an error naming %s and its line", args, r.code, r.stdout, r.stderr, bad)
		}
	}
}
