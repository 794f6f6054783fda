package viz

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// Defaults of Direct.
const (
	// DefaultDirectWindow is the time between the two scrapes: long enough
	// for a few requests of a lightly used service, short enough to wait for.
	DefaultDirectWindow = 5 * time.Second
	// DefaultScrapeConcurrency bounds the scrapes in flight, to spare the
	// API server.
	DefaultScrapeConcurrency = 16
	// DefaultPodTimeout bounds each scrape.
	DefaultPodTimeout = 5 * time.Second
)

// Direct is a Source that scrapes each meshed pod's proxy admin /metrics
// through the API server's pod proxy subresource, twice, Window apart. It
// needs no Prometheus, only RBAC to list pods, get pods/proxy, and get
// ReplicaSets and Jobs (to name Deployments and CronJobs).
type Direct struct {
	Kube kube.Clientset
	// Window is the time between the scrapes (default DefaultDirectWindow).
	Window time.Duration
	// Concurrency bounds the scrapes in flight (default DefaultScrapeConcurrency).
	Concurrency int
	// PodTimeout bounds each scrape (default DefaultPodTimeout).
	PodTimeout time.Duration
	// Scrape fetches a pod's /metrics; nil means through the pod proxy
	// subresource (ScrapePodProxy). Tests replace it.
	Scrape func(ctx context.Context, kube kube.Clientset, p Pod) ([]byte, error)
	// Now and Sleep replace the clock in tests; nil means the real one.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// ScrapePodProxy GETs http://<pod>:4191/metrics through the API server.
func ScrapePodProxy(ctx context.Context, kube kube.Clientset, p Pod) ([]byte, error) {
	return kube.CoreV1().Pods(p.Namespace).ProxyGet("http", p.Name, strconv.Itoa(meshapi.ProxyAdminPort), "/metrics", nil).DoRaw(ctx)
}

// Snapshot lists the pods of q.Namespace, scrapes the meshed running ones
// that q selects, waits Window and scrapes them again. A pod that does not
// answer either scrape is returned with its error, never dropped.
func (d *Direct) Snapshot(ctx context.Context, q Query) (*Snapshot, error) {
	list, err := d.Kube.CoreV1().Pods(q.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		where := "namespace " + q.Namespace
		if q.Namespace == "" {
			where = "all namespaces"
		}
		return nil, fmt.Errorf("list pods in %s: %w (check the kubeconfig context and that you may list pods)", where, err)
	}
	own := newOwners(d.Kube)
	snap := &Snapshot{}
	var targets []Pod
	for i := range list.Items {
		kp := &list.Items[i]
		if kp.Status.Phase == corev1.PodSucceeded || kp.Status.Phase == corev1.PodFailed {
			continue // completed pods are hidden, as in Linkerd
		}
		p := own.pod(ctx, kp)
		snap.Pods = append(snap.Pods, p)
		if p.Meshed && kp.Status.Phase == corev1.PodRunning && q.wants(p) {
			targets = append(targets, p)
		}
	}
	if len(targets) == 0 {
		return snap, nil // nothing to scrape: no reason to wait out the window
	}
	start := d.scrapeAll(ctx, targets)
	if err := d.sleep(ctx, d.window()); err != nil {
		return nil, fmt.Errorf("wait for the second scrape: %w", err)
	}
	end := d.scrapeAll(ctx, targets)
	for i, p := range targets {
		sc := Scrape{Pod: p, StartTime: start[i].at, EndTime: end[i].at}
		switch {
		case start[i].err != nil:
			sc.Err = start[i].err
		case end[i].err != nil:
			sc.Err = end[i].err
		default:
			sc.Start, sc.End = start[i].fams, end[i].fams
		}
		snap.Scrapes = append(snap.Scrapes, sc)
	}
	return snap, nil
}

// hasProxy reports whether the pod runs the proxy, as a native sidecar
// (an init container) or as a plain container.
func hasProxy(p *corev1.Pod) bool {
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for _, c := range cs {
			if c.Name == meshapi.ProxyContainerName {
				return true
			}
		}
	}
	return false
}

type scrapeResult struct {
	fams Families
	at   time.Time
	err  error
}

// scrapeAll scrapes every pod concurrently, with a bound; errgroup gives the
// bounded fan-out (SetLimit) without a hand-rolled semaphore.
func (d *Direct) scrapeAll(ctx context.Context, pods []Pod) []scrapeResult {
	out := make([]scrapeResult, len(pods))
	var g errgroup.Group
	g.SetLimit(d.concurrency())
	for i, p := range pods {
		g.Go(func() error {
			out[i] = d.scrapeOne(ctx, p)
			return nil // a pod's failure is its own, not the batch's
		})
	}
	_ = g.Wait()
	return out
}

func (d *Direct) scrapeOne(ctx context.Context, p Pod) scrapeResult {
	ctx, cancel := context.WithTimeout(ctx, d.podTimeout())
	defer cancel()
	scrape := d.Scrape
	if scrape == nil {
		scrape = ScrapePodProxy
	}
	b, err := scrape(ctx, d.Kube, p)
	at := d.now()
	if err != nil {
		return scrapeResult{at: at, err: fmt.Errorf("scrape proxy admin port %d: %w", meshapi.ProxyAdminPort, err)}
	}
	fams, err := ParseMetrics(b)
	if err != nil {
		return scrapeResult{at: at, err: err}
	}
	return scrapeResult{fams: fams, at: at}
}

func (d *Direct) window() time.Duration {
	if d.Window > 0 {
		return d.Window
	}
	return DefaultDirectWindow
}

func (d *Direct) concurrency() int {
	if d.Concurrency > 0 {
		return d.Concurrency
	}
	return DefaultScrapeConcurrency
}

func (d *Direct) podTimeout() time.Duration {
	if d.PodTimeout > 0 {
		return d.PodTimeout
	}
	return DefaultPodTimeout
}

func (d *Direct) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Direct) sleep(ctx context.Context, dur time.Duration) error {
	if d.Sleep != nil {
		return d.Sleep(ctx, dur)
	}
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
