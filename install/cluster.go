package install

import (
	"context"
	"errors"
	"fmt"
)

// ClusterInfo is what install, upgrade, uninstall and prune learn from the
// cluster. KubeCluster implements it with client-go; --ignore-cluster means
// none at all (a nil ClusterInfo).
type ClusterInfo interface {
	// Ping checks that a Kubernetes API server answers.
	Ping(ctx context.Context) error
	// MissingCRDs returns those of names (CustomResourceDefinition names)
	// that the cluster does not have.
	MissingCRDs(ctx context.Context, names []string) ([]string, error)
	// StoredValues returns data.values of ConfigMap meshctl-config in
	// namespace; found is false when the ConfigMap does not exist.
	StoredValues(ctx context.Context, namespace string) (values []byte, found bool, err error)
	// IssuerSecret returns tls.crt and tls.key of the issuer Secret.
	IssuerSecret(ctx context.Context, namespace string) (crt, key []byte, err error)
	// TapToken returns the token of Secret meshctl-tap-token; found is
	// false when the Secret does not exist.
	TapToken(ctx context.Context, namespace string) (token string, found bool, err error)
	// MeshedPods returns namespace/name of the pods meshed by the control
	// plane in namespace, outside that namespace.
	MeshedPods(ctx context.Context, namespace string) ([]string, error)
	// LabelledObjects returns the objects labelled as belonging to the
	// control plane in namespace.
	LabelledObjects(ctx context.Context, namespace string) ([]ObjectRef, error)
}

// ObjectRef names one Kubernetes object.
type ObjectRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// String returns kind/name or kind/namespace/name.
func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// ErrNotInstalled is returned by upgrade and prune when the cluster has no
// meshctl-config in the control-plane namespace.
var ErrNotInstalled = errors.New("meshctl is not installed")

// unreachable wraps an error of talking to the cluster with what to do next.
func unreachable(err error) error {
	return fmt.Errorf("cannot check the cluster: %w (to render without talking to the cluster, pass --ignore-cluster)", err)
}
