package injector

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/sidecar"
	"github.com/meshctl/meshctl/templates"
)

// valueSource holds the mesh values: the chart defaults under data.values
// of ConfigMap meshctl-config, re-read periodically.
type valueSource struct {
	client    kube.Clientset
	namespace string
	values    atomic.Pointer[map[string]any]
}

func (v *valueSource) load(ctx context.Context) error {
	defaults, err := sidecar.DefaultValues(templates.FS)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cm, err := v.client.CoreV1().ConfigMaps(v.namespace).Get(cctx, meshapi.ConfigMapName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("read ConfigMap %s/%s (the injector needs get on it): %w", v.namespace, meshapi.ConfigMapName, err)
	}
	stored, err := sidecar.ParseValues([]byte(cm.Data[meshapi.ConfigMapValuesKey]))
	if err != nil {
		return fmt.Errorf("ConfigMap %s/%s: %w", v.namespace, meshapi.ConfigMapName, err)
	}
	m := sidecar.MergeValues(defaults, stored)
	v.values.Store(&m)
	return nil
}

// current returns the latest values. Callers must not modify them.
func (v *valueSource) current() map[string]any {
	return *v.values.Load()
}

// refresh re-reads the values every interval until ctx is done, keeping
// the last good values on error.
func (v *valueSource) refresh(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := v.load(ctx); err != nil {
				log.Warn("keeping the previous mesh values", "error", err)
			}
		}
	}
}
