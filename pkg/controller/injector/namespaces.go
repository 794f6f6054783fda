package injector

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/meshctl/meshctl/pkg/controller"
	"github.com/meshctl/meshctl/pkg/kube"
)

// namespaceWatch answers the webhook's namespace look-ups from a watch of
// every Namespace. The watch sees an annotation within moments of its
// write, so `kubectl annotate ns shop meshctl.io/inject=enabled` followed
// at once by `kubectl rollout restart` meshes the new pods; the time-based
// cache it replaces answered from a read up to 5 s old and let them start
// unmeshed.
type namespaceWatch struct {
	informers controller.Informers
	lister    corelisters.NamespaceLister
	client    kube.Clientset
	cancel    context.CancelFunc
}

// startNamespaceWatch starts the watch and waits up to syncTimeout for its
// first list.
func startNamespaceWatch(ctx context.Context, cs kube.Clientset, syncTimeout time.Duration) (*namespaceWatch, error) {
	w := &namespaceWatch{client: cs}
	informer, err := w.informers.Add(controller.NewInformer(cs, &corev1.Namespace{}, cs.CoreV1().Namespaces().List, cs.CoreV1().Namespaces().Watch))
	if err != nil {
		return nil, fmt.Errorf("namespaces: %w", err)
	}
	w.lister = corelisters.NewNamespaceLister(informer.GetIndexer())
	wctx, stop := context.WithCancel(ctx)
	w.cancel = stop
	w.informers.Start(wctx.Done())
	sctx, cancel := context.WithTimeout(wctx, syncTimeout)
	defer cancel()
	if !cache.WaitForCacheSync(sctx.Done(), informer.HasSynced) {
		w.Stop()
		return nil, fmt.Errorf("namespaces: the watch did not list them within %s (can the injector's ServiceAccount list and watch namespaces?)", syncTimeout)
	}
	return w, nil
}

// Annotations is a NamespaceAnnotations. A namespace the watch has not
// delivered yet (created a moment ago, with its pods) is read from the
// API server.
func (w *namespaceWatch) Annotations(ctx context.Context, name string) (map[string]string, error) {
	ns, err := w.lister.Get(name)
	if err == nil {
		return ns.Annotations, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	fresh, err := w.client.CoreV1().Namespaces().Get(cctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return fresh.Annotations, nil
}

// Stop ends the watch and waits for its goroutines.
func (w *namespaceWatch) Stop() {
	w.cancel()
	w.informers.Shutdown()
}
