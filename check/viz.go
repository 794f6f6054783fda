package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshctl/meshctl/pkg/meshapi"
)

// meshctlViz is the "meshctl-viz" category of `meshctl viz check`: the viz
// extension's Prometheus runs, answers through the API server, and scrapes
// every meshed pod. Its failures explain "viz stat shows no data".
func meshctlViz() Category {
	return Category{ID: "meshctl-viz", Checks: []Check{
		{
			Code:        "MESH501",
			Description: "viz namespace exists",
			Hint:        "install the viz extension: `meshctl viz install | kubectl apply -f -` (viz stat and edges work without it, by scraping the proxies directly)",
			Fatal:       true,
			Run: func(ctx context.Context, env *Env) error {
				if _, err := env.Kube.CoreV1().Namespaces().Get(ctx, meshapi.VizNamespace, metav1.GetOptions{}); err != nil {
					return fmt.Errorf("namespace %s: %w", meshapi.VizNamespace, err)
				}
				return nil
			},
		},
		{
			Code:        "MESH502",
			Description: "viz Prometheus is running and ready",
			Hint:        "the message says which pod is not ready and why; `kubectl -n meshctl-viz describe pod -l meshctl.io/viz-component=prometheus` and `kubectl -n meshctl-viz logs deploy/meshctl-prometheus` tell more",
			Fatal:       true,
			Retry:       true,
			Run:         vizPrometheusReady,
		},
		{
			Code:        "MESH503",
			Description: "viz Prometheus answers through the API server",
			Hint:        "meshctl reaches Prometheus through the API server's service proxy: check that you may get services/proxy in meshctl-viz (`kubectl auth can-i get services/proxy -n meshctl-viz`) and that the API server can reach pod IPs",
			Fatal:       true,
			Retry:       true,
			Run: func(ctx context.Context, env *Env) error {
				_, err := prometheusGet(ctx, env, "/-/ready", nil)
				return err
			},
		},
		{
			Code:        "MESH504",
			Description: "viz Prometheus scrapes every meshed pod",
			Hint:        "a pod without a target is not discovered: its proxy container must be named meshctl-proxy with a port named meshctl-admin (re-inject it); a target that is down names the scrape error; a NetworkPolicy must let meshctl-viz reach port 4191",
			Retry:       true,
			Run:         vizTargets,
		},
	}}
}

// prometheusGet GETs path from the viz Prometheus through the API server's
// service proxy.
func prometheusGet(ctx context.Context, env *Env, path string, params map[string]string) ([]byte, error) {
	b, err := env.Kube.CoreV1().Services(meshapi.VizNamespace).
		ProxyGet("http", meshapi.PrometheusName, strconv.Itoa(meshapi.PrometheusPort), path, params).DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("GET %s from service %s/%s through the API server: %w", path, meshapi.VizNamespace, meshapi.PrometheusName, err)
	}
	return b, nil
}

func vizPrometheusReady(ctx context.Context, env *Env) error {
	dep, err := env.Kube.AppsV1().Deployments(meshapi.VizNamespace).Get(ctx, meshapi.PrometheusName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("deployment %s/%s: %w", meshapi.VizNamespace, meshapi.PrometheusName, err)
	}
	if dep.Status.ReadyReplicas > 0 {
		return nil
	}
	pods, err := env.Kube.CoreV1().Pods(meshapi.VizNamespace).List(ctx, metav1.ListOptions{LabelSelector: meshapi.VizComponentLabel + "=prometheus"})
	if err != nil {
		return fmt.Errorf("list pods in %s: %w", meshapi.VizNamespace, err)
	}
	var problems []string
	for i := range pods.Items {
		p := &pods.Items[i]
		if why := podNotReady(ctx, env, p); why != "" {
			problems = append(problems, fmt.Sprintf("pod %s: %s", p.Name, why))
		}
	}
	if len(problems) == 0 {
		problems = append(problems, fmt.Sprintf("deployment %s has no ready pod", meshapi.PrometheusName))
	}
	sort.Strings(problems)
	return joinProblems(problems)
}

// promTargets is the part of Prometheus' /api/v1/targets answer the check
// reads.
type promTargets struct {
	Status string `json:"status"`
	Data   struct {
		ActiveTargets []struct {
			Labels    map[string]string `json:"labels"`
			Health    string            `json:"health"`
			LastError string            `json:"lastError"`
		} `json:"activeTargets"`
	} `json:"data"`
}

func vizTargets(ctx context.Context, env *Env) error {
	pods, err := meshedPods(ctx, env)
	if err != nil {
		return err
	}
	b, err := prometheusGet(ctx, env, "/api/v1/targets", map[string]string{"state": "active"})
	if err != nil {
		return err
	}
	var t promTargets
	if err := json.Unmarshal(b, &t); err != nil || t.Status != "success" {
		return fmt.Errorf("unreadable /api/v1/targets answer (status %q, error %v): %.200s", t.Status, err, b)
	}
	type target struct{ health, lastError string }
	byPod := map[string]target{}
	for _, at := range t.Data.ActiveTargets {
		byPod[at.Labels["namespace"]+"/"+at.Labels["pod"]] = target{at.Health, at.LastError}
	}
	var problems []string
	for i := range pods {
		p := &pods[i]
		if p.Status.Phase != corev1.PodRunning {
			continue // Prometheus scrapes running pods only
		}
		key := p.Namespace + "/" + p.Name
		tg, ok := byPod[key]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("pod %s has no scrape target", key))
		case tg.health == "up":
		case tg.health == "down":
			problems = append(problems, fmt.Sprintf("pod %s is not scraped: %s", key, tg.lastError))
		default:
			problems = append(problems, fmt.Sprintf("pod %s is not scraped yet (target health %q)", key, tg.health))
		}
	}
	if len(pods) == 0 {
		return errors.New("no meshed pods to scrape: inject a workload (`meshctl inject app.yaml | kubectl apply -f -`)")
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		return fmt.Errorf("%d of %d meshed pods are not scraped:\n%s", len(problems), len(pods), strings.Join(problems, "\n"))
	}
	return nil
}
