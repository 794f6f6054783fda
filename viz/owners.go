package viz

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshctl/meshctl/pkg/kube"
)

// owners resolves a pod's owner chain, caching each ReplicaSet and Job it
// reads: pods of one workload share them.
type owners struct {
	kube kube.Clientset

	mu    sync.Mutex
	cache map[string][]metav1.OwnerReference
}

func newOwners(kube kube.Clientset) *owners {
	return &owners{kube: kube, cache: map[string][]metav1.OwnerReference{}}
}

// pod describes a listed pod: where it is, whether it is meshed and the
// workloads owning it.
func (o *owners) pod(ctx context.Context, kp *corev1.Pod) Pod {
	return Pod{
		Namespace: kp.Namespace, Name: kp.Name, Labels: kp.Labels, IP: kp.Status.PodIP,
		Meshed: hasProxy(kp), Owners: o.chain(ctx, kp),
	}
}

// chain returns the pod's owners, nearest first: a ReplicaSet's Deployment
// and a Job's CronJob are followed. When the intermediate owner cannot be
// read (deleted, or no RBAC to read it), the chain stops there rather than
// failing: the pod is still reported, under its nearest owner.
func (o *owners) chain(ctx context.Context, p *corev1.Pod) []Workload {
	ref := metav1.GetControllerOf(p)
	if ref == nil {
		return nil
	}
	kind, ok := workloadKind(ref.Kind)
	if !ok {
		return nil
	}
	out := []Workload{{Kind: kind, Name: ref.Name}}
	if kind != KindReplicaSet && kind != KindJob {
		return out
	}
	parent := o.controllerOf(ctx, p.Namespace, kind, ref.Name)
	if parent == nil {
		return out
	}
	if pk, ok := workloadKind(parent.Kind); ok && (pk == KindDeployment || pk == KindCronJob) {
		out = append(out, Workload{Kind: pk, Name: parent.Name})
	}
	return out
}

func (o *owners) controllerOf(ctx context.Context, ns string, kind Kind, name string) *metav1.OwnerReference {
	key := string(kind) + "/" + ns + "/" + name
	o.mu.Lock()
	refs, ok := o.cache[key]
	o.mu.Unlock()
	if !ok {
		var meta metav1.Object
		switch kind {
		case KindReplicaSet:
			if rs, err := o.kube.AppsV1().ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
				meta = rs
			}
		case KindJob:
			if j, err := o.kube.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
				meta = j
			}
		}
		if meta != nil {
			refs = meta.GetOwnerReferences()
		}
		o.mu.Lock()
		o.cache[key] = refs
		o.mu.Unlock()
	}
	for i := range refs {
		if refs[i].Controller != nil && *refs[i].Controller {
			return &refs[i]
		}
	}
	return nil
}

// workloadKind maps an ownerReference kind to a Kind.
func workloadKind(k string) (Kind, bool) {
	switch k {
	case "Deployment":
		return KindDeployment, true
	case "StatefulSet":
		return KindStatefulSet, true
	case "DaemonSet":
		return KindDaemonSet, true
	case "Job":
		return KindJob, true
	case "CronJob":
		return KindCronJob, true
	case "ReplicaSet":
		return KindReplicaSet, true
	case "ReplicationController":
		return KindReplicationController, true
	}
	return "", false
}
