package injector

import (
	"context"
	"sync"
	"time"
)

// nsCache remembers namespace annotations for ttl, so that a burst of pod
// creations reads each namespace once.
type nsCache struct {
	get NamespaceAnnotations
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]nsEntry
}

type nsEntry struct {
	annotations map[string]string
	expires     time.Time
}

// maxNamespaces bounds the cache; it is cleared when full.
const maxNamespaces = 4096

func newNSCache(get NamespaceAnnotations, ttl time.Duration) *nsCache {
	return &nsCache{get: get, ttl: ttl, now: time.Now, entries: map[string]nsEntry{}}
}

// Get is a NamespaceAnnotations that answers from the cache when it can.
func (c *nsCache) Get(ctx context.Context, ns string) (map[string]string, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[ns]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.annotations, nil
	}
	ann, err := c.get(ctx, ns)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.entries) >= maxNamespaces {
		clear(c.entries)
	}
	c.entries[ns] = nsEntry{annotations: ann, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return ann, nil
}
