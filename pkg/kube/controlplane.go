package kube

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshctl/meshctl/pkg/meshapi"
)

// ControlPlaneVersion returns the meshctl version that rendered the control
// plane installed in namespace, read from its config ConfigMap.
func ControlPlaneVersion(ctx context.Context, cs Clientset, namespace string) (string, error) {
	cm, err := cs.CoreV1().ConfigMaps(namespace).Get(ctx, meshapi.ConfigMapName, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("read configmap %s/%s: %w", namespace, meshapi.ConfigMapName, err)
	}
	v := cm.Data[meshapi.ConfigMapVersionKey]
	if v == "" {
		return "", fmt.Errorf("configmap %s/%s has no %q key", namespace, meshapi.ConfigMapName, meshapi.ConfigMapVersionKey)
	}
	return v, nil
}
