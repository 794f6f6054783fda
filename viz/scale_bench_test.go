package viz

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/meshctl/meshctl/pkg/meshapi"
)

// fakeAPIServer answers what the direct source asks, over real HTTP: the
// pod list (n meshed pods of one Deployment), the ReplicaSet, and every
// pod's proxy /metrics (a real proxy's scrape from the fixtures).
func fakeAPIServer(b *testing.B, n int) kubernetes.Interface {
	b.Helper()
	metrics, err := os.ReadFile(filepath.Join("testdata", "shop", "web-1.end.prom"))
	if err != nil {
		b.Fatal(err)
	}
	always := corev1.ContainerRestartPolicyAlways
	yes := true
	list := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}}
	for i := range n {
		list.Items = append(list.Items, corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-abc-%d", i), Namespace: "shop",
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-abc", Controller: &yes}}},
			Spec:   corev1.PodSpec{InitContainers: []corev1.Container{{Name: meshapi.ProxyContainerName, RestartPolicy: &always}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: fmt.Sprintf("10.1.%d.%d", i/250, i%250+1)},
		})
	}
	pods, _ := json.Marshal(list)
	rs, _ := json.Marshal(appsv1.ReplicaSet{TypeMeta: metav1.TypeMeta{Kind: "ReplicaSet", APIVersion: "apps/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Namespace: "shop",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", Controller: &yes}}}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/proxy/metrics"):
			_, _ = w.Write(metrics)
		case strings.HasSuffix(r.URL.Path, "/pods"):
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(pods)
		case strings.Contains(r.URL.Path, "/replicasets/"):
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(rs)
		default:
			http.NotFound(w, r)
		}
	}))
	b.Cleanup(srv.Close)
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL, QPS: -1})
	if err != nil {
		b.Fatal(err)
	}
	return cs
}

// BenchmarkDirectStat is `viz stat deploy` over the direct source for 1,
// 100 and 1,000 meshed pods: the pod list, 2×n scrapes through a (fake,
// instant) API server's pod proxy, parsing and the table's numbers. The
// window between the scrapes is skipped; on a cluster add it (-t, default
// 5 s) and the API server's proxying time per scrape.
//
//	go test -run '^$' -bench DirectStat -benchtime 5x ./viz/
func BenchmarkDirectStat(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("pods=%d", n), func(b *testing.B) {
			cs := fakeAPIServer(b, n)
			d := &Direct{Kube: cs, Sleep: func(context.Context, time.Duration) error { return nil }}
			sel := Selection{Kind: KindDeployment, Namespace: "shop"}
			for b.Loop() {
				snap, err := d.Snapshot(context.Background(), Query{Namespace: "shop", Selections: []Selection{sel}})
				if err != nil {
					b.Fatal(err)
				}
				rows, err := Stat(snap, StatOptions{Selection: sel})
				if err != nil || len(rows) != 1 || rows[0].MeshedPods != n {
					b.Fatalf("rows %+v, %v", rows, err)
				}
			}
		})
	}
}
