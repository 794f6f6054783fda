package discovery

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	destinationv1 "github.com/meshctl/meshctl/pkg/api/destination/v1"
	"github.com/meshctl/meshctl/pkg/proxy"
	"github.com/meshctl/meshctl/pkg/proxy/profile"
)

// watch is one target's stream state: the latest snapshot, whether one
// arrived, the last stream error and when the target was last resolved.
type watch struct {
	target netip.AddrPort
	cancel context.CancelFunc
	// ready is closed when the first snapshot arrives.
	ready    chan struct{}
	lastUsed atomic.Int64

	created time.Time

	mu      sync.Mutex
	eps     []proxy.Endpoint
	profile *profile.Profile
	have    bool
	err     error
}

func newWatch(target netip.AddrPort, cancel context.CancelFunc) *watch {
	return &watch{target: target, cancel: cancel, ready: make(chan struct{}), created: time.Now()}
}

func (w *watch) touch(now time.Time) { w.lastUsed.Store(now.UnixNano()) }

func (w *watch) used() int64 { return w.lastUsed.Load() }

// endpoints returns the latest snapshot, if one arrived. The slice is
// shared: callers must not modify it.
func (w *watch) endpoints() ([]proxy.Endpoint, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.eps, w.have
}

// routes returns the latest snapshot's profile, nil when none applies.
func (w *watch) routes() (*profile.Profile, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.profile, w.have
}

func (w *watch) set(eps []proxy.Endpoint, prof *profile.Profile) {
	w.mu.Lock()
	first := !w.have
	w.eps, w.profile, w.have, w.err = eps, prof, true, nil
	w.mu.Unlock()
	if first {
		close(w.ready)
	}
}

func (w *watch) setErr(err error) {
	w.mu.Lock()
	w.err = err
	w.mu.Unlock()
}

func (w *watch) lastErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// stream keeps a Get stream open for w until ctx ends, reopening it with
// jittered, doubling backoff; the last snapshot stays served meanwhile.
func (c *Client) stream(ctx context.Context, w *watch) {
	req := &destinationv1.GetRequest{Target: w.target.String(), Context: &destinationv1.ProxyContext{Namespace: c.opts.Namespace}}
	wait := c.opts.MinBackoff
	for {
		err := c.recv(ctx, req, w, func() { wait = c.opts.MinBackoff })
		if ctx.Err() != nil {
			return
		}
		w.setErr(err)
		c.opts.Logger.Warn("destination stream broken", "target", w.target.String(), "error", err, "retry_in", wait.String())
		// Full jitter in [wait/2, wait): proxies that lost the controller
		// together do not come back together.
		sleep := wait/2 + rand.N(wait/2+1)
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(wait*2, c.opts.MaxBackoff)
	}
}

// recv runs one stream until it breaks, storing every snapshot; received
// is called on each, to reset the backoff.
func (c *Client) recv(ctx context.Context, req *destinationv1.GetRequest, w *watch, received func()) error {
	// WaitForReady: while the controller is unreachable the call waits for
	// the connection instead of failing at once, so a restart of the
	// controller is picked up as soon as it listens again.
	s, err := c.api.Get(ctx, req, grpc.WaitForReady(true), grpc.MaxCallRecvMsgSize(MaxSnapshotBytes))
	if err != nil {
		return err
	}
	for {
		upd, err := s.Recv()
		if err != nil {
			return err
		}
		w.set(convert(upd, w.target, c.opts.Logger), convertProfile(upd.GetProfile(), w.target, c.opts.Logger))
		received()
	}
}
