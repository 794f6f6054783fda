package discovery

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"google.golang.org/grpc"

	destinationv1 "github.com/meshctl/meshctl/pkg/api/destination/v1"
	"github.com/meshctl/meshctl/pkg/proxy"
	"github.com/meshctl/meshctl/pkg/proxy/profile"
)

// ErrClosed is returned by Resolve after Close.
var ErrClosed = errors.New("discovery: client closed")

// Client implements proxy.Destination with the destination controller's
// Get streams. It is safe for concurrent use.
type Client struct {
	api  destinationv1.DestinationClient
	opts Options

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	targets map[netip.AddrPort]*watch
}

// New returns a Client asking the controller behind conn. The caller
// keeps ownership of conn (credentials, dial options, closing it after
// Close); see the package documentation for the wiring.
func New(conn grpc.ClientConnInterface, opts Options) *Client {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		api:     destinationv1.NewDestinationClient(conn),
		opts:    opts.withDefaults(),
		ctx:     ctx,
		cancel:  cancel,
		targets: map[netip.AddrPort]*watch{},
	}
	c.wg.Go(c.evictIdle)
	return c
}

// Resolve implements proxy.Destination. A target outside the cluster
// networks resolves to itself without identity. Any other target is
// answered from its latest snapshot; the first time, Resolve waits for
// that snapshot up to Options.InitialTimeout and fails if none comes.
func (c *Client) Resolve(ctx context.Context, t proxy.Target) ([]proxy.Endpoint, error) {
	addr := netip.AddrPortFrom(t.Addr.Addr().Unmap(), t.Addr.Port())
	if !c.inCluster(addr.Addr()) {
		return []proxy.Endpoint{{Addr: addr}}, nil
	}
	w, err := c.watch(addr)
	if err != nil {
		return nil, err
	}
	if eps, ok := w.endpoints(); ok {
		return eps, nil
	}
	timer := time.NewTimer(c.opts.InitialTimeout)
	defer timer.Stop()
	select {
	case <-w.ready:
		eps, _ := w.endpoints()
		return eps, nil
	case <-timer.C:
		if err := w.lastErr(); err != nil {
			return nil, fmt.Errorf("discovery: no answer for %s within %s: %w", addr, c.opts.InitialTimeout, err)
		}
		return nil, fmt.Errorf("discovery: no answer for %s within %s", addr, c.opts.InitialTimeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("discovery: resolve %s: %w", addr, ctx.Err())
	case <-c.ctx.Done():
		return nil, ErrClosed
	}
}

// Profile implements proxy.Profiles: the route configuration of t from
// its latest snapshot. The first time a target is asked for, Profile (like
// Resolve) waits for its snapshot, but only until Options.InitialTimeout
// after the target was first asked for, so that a missing controller
// delays no more than the first requests; then it answers nil (no routes).
func (c *Client) Profile(ctx context.Context, t proxy.Target) *profile.Profile {
	addr := netip.AddrPortFrom(t.Addr.Addr().Unmap(), t.Addr.Port())
	if !c.inCluster(addr.Addr()) {
		return nil
	}
	w, err := c.watch(addr)
	if err != nil {
		return nil
	}
	if p, ok := w.routes(); ok {
		return p
	}
	wait := time.Until(w.created.Add(c.opts.InitialTimeout))
	if wait <= 0 {
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-w.ready:
		p, _ := w.routes()
		return p
	case <-timer.C:
	case <-ctx.Done():
	case <-c.ctx.Done():
	}
	return nil
}

// Close stops every stream and waits for them to end.
func (c *Client) Close() error {
	c.cancel()
	c.wg.Wait()
	return nil
}

// Targets returns the number of targets watched; for diagnostics.
func (c *Client) Targets() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.targets)
}

func (c *Client) inCluster(a netip.Addr) bool {
	for _, p := range c.opts.ClusterNetworks {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// watch returns the watch of addr, starting one (and its stream) on first
// use, and marks it used.
func (c *Client) watch(addr netip.AddrPort) (*watch, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx.Err() != nil {
		return nil, ErrClosed
	}
	now := time.Now()
	if w, ok := c.targets[addr]; ok {
		w.touch(now)
		return w, nil
	}
	if len(c.targets) >= c.opts.MaxTargets {
		c.evictOldestLocked()
	}
	ctx, cancel := context.WithCancel(c.ctx)
	w := newWatch(addr, cancel)
	w.touch(now)
	c.targets[addr] = w
	c.wg.Go(func() { c.stream(ctx, w) })
	return w, nil
}

// evictOldestLocked forgets the least recently used target. The scan is
// linear, but it runs only when the cache is full.
func (c *Client) evictOldestLocked() {
	var oldest *watch
	for _, w := range c.targets {
		if oldest == nil || w.used() < oldest.used() {
			oldest = w
		}
	}
	if oldest != nil {
		oldest.cancel()
		delete(c.targets, oldest.target)
	}
}

// evictIdle forgets targets unused for IdleTimeout, checking every half
// of it.
func (c *Client) evictIdle() {
	tick := time.NewTicker(max(c.opts.IdleTimeout/2, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case now := <-tick.C:
			c.mu.Lock()
			for addr, w := range c.targets {
				if now.UnixNano()-w.used() >= int64(c.opts.IdleTimeout) {
					w.cancel()
					delete(c.targets, addr)
				}
			}
			c.mu.Unlock()
		}
	}
}
