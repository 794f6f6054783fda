package dashboard

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/meshctl/meshctl/viz"
)

// snapshotKey names a cached snapshot: a namespace ("" for all), with the
// per-route families or with stat's and edges' (Prometheus queries differ).
type snapshotKey struct {
	namespace string
	routes    bool
}

// cached is one namespace's snapshot; ready is closed once it is fetched.
type cached struct {
	ready chan struct{}
	at    time.Time
	snap  *viz.Snapshot
	err   error
}

// snapshot returns a snapshot of every meshed pod of key's namespace,
// fetching it once per CacheTTL however many requests ask.
func (h *Handler) snapshot(ctx context.Context, key snapshotKey) (*viz.Snapshot, error) {
	h.mu.Lock()
	c := h.cache[key]
	if c != nil {
		select {
		case <-c.ready:
			if h.opts.Now().Sub(c.at) >= h.opts.CacheTTL || c.err != nil {
				c = nil
			}
		default: // being fetched: wait for it
		}
	}
	if c == nil {
		c = &cached{ready: make(chan struct{})}
		h.cache[key] = c
		go h.fetch(c, key)
	}
	h.mu.Unlock()
	select {
	case <-c.ready:
		return c.snap, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fetch runs the source for one namespace. It is not tied to the request
// that started it, so that a closed tab does not fail the others waiting.
func (h *Handler) fetch(c *cached, key snapshotKey) {
	q := viz.Query{Namespace: key.namespace, Selections: []viz.Selection{{Kind: viz.KindPod, Namespace: key.namespace}}, Routes: key.routes}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c.snap, c.err = h.opts.Source.Snapshot(ctx, q)
	c.at = h.opts.Now()
	close(c.ready)
}

// notes name the pods of snap that did not answer.
func notes(snap *viz.Snapshot) []string {
	out := []string{}
	for _, sc := range snap.Failed() {
		out = append(out, fmt.Sprintf("pod %s/%s did not answer, its numbers are missing: %v", sc.Pod.Namespace, sc.Pod.Name, sc.Err))
	}
	sort.Strings(out)
	return out
}
