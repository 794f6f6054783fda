package viz

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// Kind is a resource type that stat and edges group pods by.
type Kind string

// The kinds viz understands. Workload kinds name a pod's owners; KindAll
// groups each pod under its top-level workload.
const (
	KindDeployment            Kind = "deployment"
	KindStatefulSet           Kind = "statefulset"
	KindDaemonSet             Kind = "daemonset"
	KindJob                   Kind = "job"
	KindCronJob               Kind = "cronjob"
	KindReplicaSet            Kind = "replicaset"
	KindReplicationController Kind = "replicationcontroller"
	KindPod                   Kind = "pod"
	KindNamespace             Kind = "namespace"
	KindAll                   Kind = "all"
	// KindService rows are Services, as their clients see them: the
	// clients' outbound traffic whose destination (the dst_service and
	// dst_namespace labels the destination controller gives) is the
	// Service. No pod is a service's, so ResourceOf never picks one.
	KindService Kind = "service"
)

// kindAliases maps what users type (kubectl's short names, singular and
// plural) to a Kind.
func kindAliases() map[string]Kind {
	return map[string]Kind{
		"deploy": KindDeployment, "deployment": KindDeployment, "deployments": KindDeployment,
		"sts": KindStatefulSet, "statefulset": KindStatefulSet, "statefulsets": KindStatefulSet,
		"ds": KindDaemonSet, "daemonset": KindDaemonSet, "daemonsets": KindDaemonSet,
		"job": KindJob, "jobs": KindJob,
		"cj": KindCronJob, "cronjob": KindCronJob, "cronjobs": KindCronJob,
		"rs": KindReplicaSet, "replicaset": KindReplicaSet, "replicasets": KindReplicaSet,
		"rc": KindReplicationController, "replicationcontroller": KindReplicationController, "replicationcontrollers": KindReplicationController,
		"po": KindPod, "pod": KindPod, "pods": KindPod,
		"ns": KindNamespace, "namespace": KindNamespace, "namespaces": KindNamespace,
		"svc": KindService, "service": KindService, "services": KindService,
		"all": KindAll,
	}
}

// ParseKind resolves a resource type as users type it ("deploy", "sts",
// "pods", ...).
func ParseKind(s string) (Kind, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if k, ok := kindAliases()[s]; ok {
		return k, nil
	}
	switch s {
	case "authority", "authorities":
		return "", fmt.Errorf("resource type %q is not supported: use svc, whose rows are what clients sent to each Service", s)
	}
	return "", fmt.Errorf("unknown resource type %q: use deploy, sts, ds, job, cronjob, rs, rc, po, ns, svc or all", s)
}

// ShortName is the kubectl short name of k, used in "kind/name" cells.
func (k Kind) ShortName() string {
	switch k {
	case KindDeployment:
		return "deploy"
	case KindStatefulSet:
		return "sts"
	case KindDaemonSet:
		return "ds"
	case KindCronJob:
		return "cronjob"
	case KindReplicaSet:
		return "rs"
	case KindReplicationController:
		return "rc"
	case KindPod:
		return "po"
	case KindNamespace:
		return "ns"
	case KindService:
		return "svc"
	}
	return string(k)
}

// Workload names one owner of a pod (or the pod itself).
type Workload struct {
	Kind Kind   `json:"kind"`
	Name string `json:"name"`
}

// String renders w as "kind/name".
func (w Workload) String() string { return string(w.Kind) + "/" + w.Name }

// Resource identifies one row of stat: a workload, a pod or a namespace.
// Namespace is empty for namespace rows (the name is the namespace).
type Resource struct {
	Kind      Kind
	Namespace string
	Name      string
}

// Selection picks the resources a command reports on.
type Selection struct {
	// Kind groups pods into rows.
	Kind Kind
	// Names restricts the rows to these resources; empty means all.
	Names []string
	// Namespace restricts pods to one namespace; empty means all namespaces.
	// For KindNamespace, Names select the namespaces instead.
	Namespace string
	// LabelSelector filters pods by their labels (kubectl syntax).
	LabelSelector string
}

// Validate checks the label selector.
func (s Selection) Validate() error {
	if s.Kind == "" {
		return fmt.Errorf("no resource type given")
	}
	if _, err := labels.Parse(s.LabelSelector); err != nil {
		return fmt.Errorf("label selector %q: %w", s.LabelSelector, err)
	}
	return nil
}

// ResourceOf returns the row pod p belongs to under s, and false when the
// selection excludes p.
func (s Selection) ResourceOf(p Pod) (Resource, bool) {
	r, ok := resourceOfKind(s.Kind, p)
	if !ok {
		return Resource{}, false
	}
	if s.Kind != KindNamespace && s.Namespace != "" && p.Namespace != s.Namespace {
		return Resource{}, false
	}
	if len(s.Names) > 0 && !slices.Contains(s.Names, r.Name) {
		return Resource{}, false
	}
	if s.LabelSelector != "" {
		sel, err := labels.Parse(s.LabelSelector)
		if err != nil || !sel.Matches(labels.Set(p.Labels)) {
			return Resource{}, false
		}
	}
	return r, true
}

// resourceOfKind returns the resource of kind k that owns p, ignoring any
// name, namespace or label filter.
func resourceOfKind(k Kind, p Pod) (Resource, bool) {
	switch k {
	case KindService:
		return Resource{}, false
	case KindNamespace:
		return Resource{Kind: KindNamespace, Name: p.Namespace}, true
	case KindPod:
		return Resource{Kind: KindPod, Namespace: p.Namespace, Name: p.Name}, true
	case KindAll:
		w := p.Workload()
		return Resource{Kind: w.Kind, Namespace: p.Namespace, Name: w.Name}, true
	}
	for _, o := range p.Owners {
		if o.Kind == k {
			return Resource{Kind: k, Namespace: p.Namespace, Name: o.Name}, true
		}
	}
	return Resource{}, false
}

// ErrServiceNotSupported is returned by the commands whose rows must be
// pods' (edges, tap, top, the dashboard) when given a Service.
func ErrServiceNotSupported(command string) error {
	return fmt.Errorf("%s does not take services: name the workload behind the service (for example deploy/NAME); viz stat svc shows what clients send to services", command)
}

// DisplayName is how a row of a selection of kind sel names r: "name", or
// "kind/name" (kubectl short kind) when rows mix kinds (KindAll).
func DisplayName(sel Kind, r Resource) string {
	if sel == KindAll {
		return r.Kind.ShortName() + "/" + r.Name
	}
	return r.Name
}
