package diagnostics

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// ProxyMetrics fetches one meshed pod's proxy /metrics through the API
// server and prefixes it with the comment lines `meshctl viz stat
// --metrics-file` reads (the pod, its workload when the injector labelled
// it, its IP, and the scrape time), so two saved scrapes can be analysed
// offline.
func ProxyMetrics(ctx context.Context, cs kube.Clientset, namespace, pod string, now func() time.Time, timeout time.Duration) ([]byte, error) {
	p, err := cs.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("pod %s/%s: %w", namespace, pod, err)
	}
	if !IsMeshed(p) {
		return nil, fmt.Errorf("pod %s/%s has no %s container: inject it first (meshctl inject)", namespace, pod, meshapi.ProxyContainerName)
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	at := now()
	raw, err := kube.ProxyAdminGet(ctx, cs, namespace, pod, "/metrics")
	if err != nil {
		return nil, fmt.Errorf("pod %s/%s: %w", namespace, pod, err)
	}
	header := fmt.Sprintf("# pod: %s/%s", namespace, pod)
	if kind, name := workloadOf(p.Labels); kind != "" {
		header += " " + kind + "/" + name
	}
	if p.Status.PodIP != "" {
		header += " " + p.Status.PodIP
	}
	header += "\n# scraped-at: " + at.UTC().Format(time.RFC3339Nano) + "\n"
	return append([]byte(header), raw...), nil
}

// workloadOf reads the workload the injector recorded in the pod's
// meshctl.io/proxy-<kind> label.
func workloadOf(labels map[string]string) (kind, name string) {
	for _, k := range []string{"deployment", "statefulset", "daemonset", "job", "cronjob", "replicaset", "replicationcontroller"} {
		if v := labels[meshapi.ProxyKindLabel(k)]; v != "" {
			return k, v
		}
	}
	return "", ""
}
