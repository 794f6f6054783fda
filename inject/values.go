package inject

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/sidecar"
	"github.com/meshctl/meshctl/templates"
)

// Cluster is what inject reads from the cluster: the values the control
// plane was installed with (data.values of ConfigMap meshctl-config).
// install.KubeCluster implements it.
type Cluster interface {
	StoredValues(ctx context.Context, namespace string) (values []byte, found bool, err error)
}

// InstalledValues returns the mesh values of the control plane in
// namespace, read through c over the chart defaults from fsys (nil means
// templates.FS). A nil c returns the defaults (--ignore-cluster).
func InstalledValues(ctx context.Context, c Cluster, namespace string, fsys fs.FS) (map[string]any, error) {
	if fsys == nil {
		fsys = templates.FS
	}
	defaults, err := sidecar.DefaultValues(fsys)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return defaults, nil
	}
	b, found, err := c.StoredValues(ctx, namespace)
	if err != nil {
		return nil, fmt.Errorf("cannot read the mesh configuration from the cluster: %w (to inject with the defaults, pass --ignore-cluster)", err)
	}
	if !found {
		return nil, fmt.Errorf("meshctl is not installed in namespace %s (no ConfigMap %s): install it first, pass --mesh-namespace, or pass --ignore-cluster to inject with the defaults", namespace, meshapi.ConfigMapName)
	}
	stored, err := sidecar.ParseValues(b)
	if err != nil {
		return nil, fmt.Errorf("ConfigMap %s in namespace %s: %w", meshapi.ConfigMapName, namespace, err)
	}
	return sidecar.MergeValues(defaults, stored), nil
}
