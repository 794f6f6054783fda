package viz

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/kube/kubefake"
	"github.com/meshctl/meshctl/pkg/testutil/golden"
)

// shopCluster is the "shop" fixture as a cluster: the meshed pods of the
// saved scrapes, plus an unmeshed Deployment, a CronJob's pod, and a
// completed pod that must be hidden.
func shopCluster() []string {
	meshedPod := func(name, ip, ownerKind, owner string) string {
		return `
apiVersion: v1
kind: Pod
metadata:
  name: ` + name + `
  namespace: shop
  labels: {app: shop}
  ownerReferences: [{apiVersion: apps/v1, kind: ` + ownerKind + `, name: ` + owner + `, uid: u-` + owner + `, controller: true}]
spec:
  initContainers: [{name: meshctl-proxy, image: meshctl, restartPolicy: Always}]
  containers: [{name: app, image: app}]
status: {phase: Running, podIP: ` + ip + `}`
	}
	rs := func(name, deploy string) string {
		return `
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: ` + name + `
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: ` + deploy + `, uid: u-` + deploy + `, controller: true}]`
	}
	return []string{
		meshedPod("web-1", "10.0.0.1", "ReplicaSet", "web-5d8f"),
		meshedPod("web-2", "10.0.0.2", "ReplicaSet", "web-5d8f"),
		meshedPod("db-0", "10.0.0.3", "StatefulSet", "db"),
		meshedPod("idle-1", "10.0.0.4", "ReplicaSet", "idle-77c"),
		meshedPod("api-1", "10.0.0.5", "ReplicaSet", "api-6b1"),
		meshedPod("report-29000000-x1", "10.0.0.6", "Job", "report-29000000"),
		rs("web-5d8f", "web"), rs("idle-77c", "idle"), rs("api-6b1", "api"), rs("legacy-9a", "legacy"),
		`
apiVersion: batch/v1
kind: Job
metadata:
  name: report-29000000
  namespace: shop
  ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: report, uid: u-report, controller: true}]`,
		`
apiVersion: v1
kind: Pod
metadata:
  name: legacy-1
  namespace: shop
  labels: {app: shop}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: legacy-9a, uid: u-legacy-9a, controller: true}]
spec:
  containers: [{name: app, image: app}]
status: {phase: Running, podIP: 10.0.0.7}`,
		`
apiVersion: v1
kind: Pod
metadata:
  name: done-1
  namespace: shop
spec:
  initContainers: [{name: meshctl-proxy, image: meshctl, restartPolicy: Always}]
  containers: [{name: app, image: app}]
status: {phase: Succeeded}`,
	}
}

// fixtureScraper serves the saved scrapes: a pod's .start file on its first
// scrape and its .end file on the second; api-1 answers only once, as if it
// died in the window.
type fixtureScraper struct {
	t     *testing.T
	mu    sync.Mutex
	calls map[string]int
}

func (f *fixtureScraper) scrape(_ context.Context, _ kube.Clientset, p Pod) ([]byte, error) {
	f.mu.Lock()
	f.calls[p.Name]++
	n := f.calls[p.Name]
	f.mu.Unlock()
	if p.Name == "report-29000000-x1" {
		return nil, errors.New("the server is currently unable to handle the request")
	}
	which := "start"
	if n > 1 {
		if p.Name == "api-1" {
			return nil, context.DeadlineExceeded
		}
		which = "end"
	}
	return shopFiles(f.t, p.Name+"."+which)[0].Data, nil
}

func TestDirectSnapshot(t *testing.T) {
	ff, err := kubefake.NewFakeFactory(shopCluster()...)
	if err != nil {
		t.Fatal(err)
	}
	scraper := &fixtureScraper{t: t, calls: map[string]int{}}
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var slept time.Duration
	src := &Direct{
		Kube: ff.Clientset, Window: 10 * time.Second, Scrape: scraper.scrape,
		Now:   func() time.Time { return clock },
		Sleep: func(_ context.Context, d time.Duration) error { slept = d; clock = clock.Add(d); return nil },
	}
	sel := Selection{Kind: KindDeployment, Namespace: "shop"}
	snap, err := src.Snapshot(context.Background(), Query{Namespace: "shop", Selections: []Selection{sel, {Kind: KindCronJob}}})
	if err != nil {
		t.Fatal(err)
	}
	if slept != 10*time.Second {
		t.Errorf("slept %s between scrapes, want the 10s window", slept)
	}
	if scraper.calls["legacy-1"] != 0 || scraper.calls["done-1"] != 0 {
		t.Errorf("scraped an unmeshed or completed pod: %v", scraper.calls)
	}
	if scraper.calls["db-0"] != 0 {
		t.Errorf("scraped db-0, which no selection picks: %v", scraper.calls)
	}
	var failed []string
	for _, sc := range snap.Failed() {
		failed = append(failed, sc.Pod.Name+": "+sc.Err.Error())
	}
	wantFailed := []string{
		"api-1: scrape proxy admin port 4191: context deadline exceeded",
		"report-29000000-x1: scrape proxy admin port 4191: the server is currently unable to handle the request",
	}
	if len(failed) != 2 || failed[0] != wantFailed[0] || failed[1] != wantFailed[1] {
		t.Errorf("failed scrapes = %q, want %q", failed, wantFailed)
	}
	owners := map[string]string{}
	for _, p := range snap.Pods {
		var chain string
		for _, o := range p.Owners {
			chain += o.String() + " "
		}
		owners[p.Name] = chain
	}
	for pod, want := range map[string]string{
		"web-1":              "replicaset/web-5d8f deployment/web ",
		"db-0":               "statefulset/db ",
		"report-29000000-x1": "job/report-29000000 cronjob/report ",
		"legacy-1":           "replicaset/legacy-9a deployment/legacy ",
	} {
		if owners[pod] != want {
			t.Errorf("owners of %s = %q, want %q", pod, owners[pod], want)
		}
	}
	if _, ok := owners["done-1"]; ok {
		t.Error("the completed pod done-1 is listed")
	}

	rows, err := Stat(snap, StatOptions{Selection: sel, Unmeshed: true})
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := WriteStatTable(&table, rows, TableOptions{Kind: KindDeployment}); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, filepath.Join("testdata", "golden", "direct_stat_deploy_unmeshed.txt"), table.Bytes())
}

// TestScrapePodProxy checks the request ScrapePodProxy sends through a real
// clientset: the API server's pod proxy path for the admin port.
func TestScrapePodProxy(t *testing.T) {
	var gotPath string
	apiserver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.URL.Path
		_, _ = w.Write([]byte("# TYPE request_total counter\nrequest_total{direction=\"inbound\"} 3\n"))
	}))
	defer apiserver.Close()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: apiserver.URL})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ScrapePodProxy(context.Background(), cs, Pod{Namespace: "shop", Name: "web-1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "/api/v1/namespaces/shop/pods/http:web-1:4191/proxy/metrics"; gotPath != want {
		t.Errorf("path = %q, want %q", gotPath, want)
	}
	fams, err := ParseMetrics(b)
	if err != nil || fams["request_total"] == nil {
		t.Fatalf("parse = %v, %v", fams, err)
	}
}
