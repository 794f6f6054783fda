package install

import (
	"context"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// KubeCluster is the ClusterInfo of a real (or fake) cluster, reached
// through a kube.Factory. Every request is bounded by the factory's timeout.
type KubeCluster struct {
	Factory kube.Factory
}

var _ ClusterInfo = KubeCluster{}

func crdGVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
}

// Ping asks the API server for its version: a 404 from something that is
// not a Kubernetes API server must not read as "CRD not found".
func (k KubeCluster) Ping(context.Context) error {
	cs, err := k.Factory.Kubernetes()
	if err != nil {
		return err
	}
	if _, err := cs.Discovery().ServerVersion(); err != nil {
		return fmt.Errorf("ask the API server for its version: %w", err)
	}
	return nil
}

// MissingCRDs gets each CRD by name.
func (k KubeCluster) MissingCRDs(ctx context.Context, names []string) ([]string, error) {
	dc, err := k.Factory.Dynamic()
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, n := range names {
		_, err := dc.Resource(crdGVR()).Get(ctx, n, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			missing = append(missing, n)
		case err != nil:
			return nil, fmt.Errorf("get customresourcedefinition %s: %w", n, err)
		}
	}
	return missing, nil
}

// StoredValues reads meshctl-config.
func (k KubeCluster) StoredValues(ctx context.Context, namespace string) ([]byte, bool, error) {
	cs, err := k.Factory.Kubernetes()
	if err != nil {
		return nil, false, err
	}
	cm, err := cs.CoreV1().ConfigMaps(namespace).Get(ctx, meshapi.ConfigMapName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("get configmap %s/%s: %w", namespace, meshapi.ConfigMapName, err)
	}
	return []byte(cm.Data[meshapi.ConfigMapValuesKey]), true, nil
}

// IssuerSecret reads meshctl-identity-issuer.
func (k KubeCluster) IssuerSecret(ctx context.Context, namespace string) ([]byte, []byte, error) {
	cs, err := k.Factory.Kubernetes()
	if err != nil {
		return nil, nil, err
	}
	s, err := cs.CoreV1().Secrets(namespace).Get(ctx, meshapi.IssuerSecretName, metav1.GetOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("get secret %s/%s: %w", namespace, meshapi.IssuerSecretName, err)
	}
	return s.Data[meshapi.TLSCertKey], s.Data[meshapi.TLSKeyKey], nil
}

// TapToken reads Secret meshctl-tap-token.
func (k KubeCluster) TapToken(ctx context.Context, namespace string) (string, bool, error) {
	cs, err := k.Factory.Kubernetes()
	if err != nil {
		return "", false, err
	}
	s, err := cs.CoreV1().Secrets(namespace).Get(ctx, meshapi.TapTokenSecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("get secret %s/%s: %w", namespace, meshapi.TapTokenSecretName, err)
	}
	return string(s.Data[meshapi.TapTokenSecretKey]), true, nil
}

// MeshedPods lists pods carrying the control-plane-ns label.
func (k KubeCluster) MeshedPods(ctx context.Context, namespace string) ([]string, error) {
	cs, err := k.Factory.Kubernetes()
	if err != nil {
		return nil, err
	}
	pods, err := cs.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: meshapi.LabelControlPlaneNS + "=" + namespace})
	if err != nil {
		return nil, fmt.Errorf("list meshed pods: %w", err)
	}
	var out []string
	for _, p := range pods.Items {
		if p.Namespace != namespace {
			out = append(out, p.Namespace+"/"+p.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// ownedResources are the kinds install renders, where prune and uninstall look.
func ownedResources() []struct {
	gvr        schema.GroupVersionResource
	kind       string
	namespaced bool
} {
	type r = struct {
		gvr        schema.GroupVersionResource
		kind       string
		namespaced bool
	}
	gvr := func(g, v, res string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: g, Version: v, Resource: res}
	}
	return []r{
		{gvr("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations"), "MutatingWebhookConfiguration", false},
		{gvr("apps", "v1", "deployments"), "Deployment", true},
		{gvr("", "v1", "services"), "Service", true},
		{gvr("rbac.authorization.k8s.io", "v1", "rolebindings"), "RoleBinding", true},
		{gvr("rbac.authorization.k8s.io", "v1", "roles"), "Role", true},
		{gvr("rbac.authorization.k8s.io", "v1", "clusterrolebindings"), "ClusterRoleBinding", false},
		{gvr("rbac.authorization.k8s.io", "v1", "clusterroles"), "ClusterRole", false},
		{gvr("", "v1", "configmaps"), "ConfigMap", true},
		{gvr("", "v1", "secrets"), "Secret", true},
		{gvr("", "v1", "serviceaccounts"), "ServiceAccount", true},
		{gvr("policy", "v1", "poddisruptionbudgets"), "PodDisruptionBudget", true},
		{crdGVR(), "CustomResourceDefinition", false},
		{gvr("", "v1", "namespaces"), "Namespace", false},
	}
}

// LabelledObjects lists every owned kind by the control-plane-ns label.
func (k KubeCluster) LabelledObjects(ctx context.Context, namespace string) ([]ObjectRef, error) {
	dc, err := k.Factory.Dynamic()
	if err != nil {
		return nil, err
	}
	sel := metav1.ListOptions{LabelSelector: meshapi.LabelControlPlaneNS + "=" + namespace}
	var out []ObjectRef
	for _, r := range ownedResources() {
		list, err := dc.Resource(r.gvr).List(ctx, sel)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", r.gvr.Resource, err)
		}
		for _, item := range list.Items {
			out = append(out, ObjectRef{
				APIVersion: r.gvr.GroupVersion().String(),
				Kind:       r.kind,
				Namespace:  item.GetNamespace(),
				Name:       item.GetName(),
			})
		}
	}
	return out, nil
}
