package controller

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// StripManagedFields is an informer transform that drops managedFields
// before objects enter a cache: they are large and no controller reads
// them.
func StripManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// Informers runs a fixed set of informers, as a shared informer factory
// does for the ones it hands out. The factory of client-go's informers
// package is not used: its ForResource names every informer of every API
// group, which links all of them (and their listers) into the binary that
// every sidecar runs.
type Informers struct {
	list []cache.SharedIndexInformer
	wg   sync.WaitGroup
}

// Add registers inf, with managedFields stripped from what it caches, and
// returns it. Call it before Start.
func (g *Informers) Add(inf cache.SharedIndexInformer) (cache.SharedIndexInformer, error) {
	if err := inf.SetTransform(StripManagedFields); err != nil {
		return nil, fmt.Errorf("informer transform: %w", err)
	}
	g.list = append(g.list, inf)
	return inf, nil
}

// Informer returns the i-th informer added.
func (g *Informers) Informer(i int) cache.SharedIndexInformer { return g.list[i] }

// Start runs every informer until stop is closed.
func (g *Informers) Start(stop <-chan struct{}) {
	for _, inf := range g.list {
		g.wg.Go(func() { inf.Run(stop) })
	}
}

// Shutdown waits for the informers to return after Start's stop closed.
func (g *Informers) Shutdown() { g.wg.Wait() }

// NewInformer returns an informer of every object of one kind, in every
// namespace, listed and watched with a typed client's List and Watch: what
// client-go's generated New<Kind>Informer builds from a full clientset.
// client is the clientset the two belong to; client-go asks it whether it
// supports watch-list semantics (the fake clientset does not).
func NewInformer[L runtime.Object](client any, obj runtime.Object,
	list func(context.Context, metav1.ListOptions) (L, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error),
) cache.SharedIndexInformer {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return list(ctx, o)
		},
		WatchFuncWithContext: watchFn,
	}
	return cache.NewSharedIndexInformerWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, client), obj, cache.SharedIndexInformerOptions{Indexers: cache.Indexers{}})
}
