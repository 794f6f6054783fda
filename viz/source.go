package viz

import (
	"context"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// Pod is what viz knows about one pod.
type Pod struct {
	Namespace string
	Name      string
	// Owners is the pod's owner chain, nearest first: a Deployment's pod has
	// [replicaset/web-7d9f, deployment/web]. Empty for a bare pod.
	Owners []Workload
	Labels map[string]string
	// IP is the pod's IP, used to name the destination of outbound traffic.
	IP string
	// Meshed reports whether the pod runs the meshctl proxy.
	Meshed bool
}

// Workload returns the pod's top-level owner, or the pod itself.
func (p Pod) Workload() Workload {
	if len(p.Owners) == 0 {
		return Workload{Kind: KindPod, Name: p.Name}
	}
	return p.Owners[len(p.Owners)-1]
}

// Families are the parsed metric families of one scrape, by name.
type Families map[string]*dto.MetricFamily

// Scrape is a pod's proxy metrics at the start and at the end of the window.
type Scrape struct {
	Pod Pod
	// Start and End are the two scrapes; nil when Err is set.
	Start, End Families
	// StartTime and EndTime are when the scrapes were taken; their
	// difference is the window rates are computed over.
	StartTime, EndTime time.Time
	// Err is why the pod's proxy could not be scraped.
	Err error
}

// Window is the time between the two scrapes.
func (s Scrape) Window() time.Duration { return s.EndTime.Sub(s.StartTime) }

// Snapshot is what a Source returns.
type Snapshot struct {
	// Pods are the pods the source knows of, meshed or not: they give the
	// MESHED column its totals and name destination addresses.
	Pods []Pod
	// Scrapes holds one entry per scraped (or failed) meshed pod.
	Scrapes []Scrape
}

// Failed returns the scrapes that failed, in order.
func (s *Snapshot) Failed() []Scrape {
	var out []Scrape
	for _, sc := range s.Scrapes {
		if sc.Err != nil {
			out = append(out, sc)
		}
	}
	return out
}

// Query says which pods a Source must scrape: the meshed, running pods
// that any of the selections picks.
type Query struct {
	// Namespace bounds the pods listed; empty means all namespaces.
	Namespace string
	// Selections pick the pods to scrape (the stat resource and the
	// --from/--to peers).
	Selections []Selection
	// AllMeshed scrapes every meshed pod in Namespace, whatever the
	// selections: the clients of a Service may be anywhere.
	AllMeshed bool
	// Routes asks for the per-route families (route_*, for Routes)
	// instead of those Stat and Edges read. A scrape holds every family
	// anyway; it spares the Prometheus source the queries not needed.
	Routes bool
}

// wants reports whether any selection of q picks p.
func (q Query) wants(p Pod) bool {
	if q.AllMeshed {
		return true
	}
	for _, s := range q.Selections {
		if _, ok := s.ResourceOf(p); ok {
			return true
		}
	}
	return false
}

// Source returns proxy scrapes a window apart.
type Source interface {
	Snapshot(ctx context.Context, q Query) (*Snapshot, error)
}
