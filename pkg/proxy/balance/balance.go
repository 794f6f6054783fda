// Package balance chooses among a target's endpoints by the power of two
// choices over peak-EWMA latency, the load balancer of Finagle and
// linkerd2-proxy: pick two endpoints at random and send to the one whose
// latency estimate times outstanding work is lower. It reacts to a slow
// endpoint within requests, unlike round robin, without the herding of
// "always the fastest".
//
// An endpoint whose connects fail is set aside for a backoff that doubles
// with each consecutive failure (250 ms up to 30 s), so that a retry and the
// requests after it go elsewhere; a success ends it.
package balance

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// Options tune a Balancer; zero values take the defaults.
type Options struct {
	// Decay is how fast an estimate forgets (default 10 s, as Linkerd).
	Decay time.Duration
	// Default is the latency assumed for an endpoint never measured
	// (default 30 ms, as Linkerd).
	Default time.Duration
	// MinBackoff and MaxBackoff bound how long an endpoint is set aside
	// after consecutive connect failures (defaults 250 ms and 30 s).
	MinBackoff, MaxBackoff time.Duration
	// MaxEntries bounds the endpoints remembered (default 8192).
	MaxEntries int
	// Now and Rand are the clock and the random source (tests pin them).
	Now  func() time.Time
	Rand func(n int) int
}

// Balancer remembers a latency estimate and the outstanding work of every
// endpoint it has picked. It is safe for concurrent use.
type Balancer struct {
	opts  Options
	mu    sync.Mutex
	stats map[netip.AddrPort]*stat
}

// stat is one endpoint's state.
type stat struct {
	ewma      float64 // nanoseconds
	stamp     time.Time
	pending   int
	used      time.Time
	fails     int       // consecutive connect failures
	failUntil time.Time // set aside until then
}

// New returns a balancer with opts' zero fields defaulted.
func New(opts Options) *Balancer {
	if opts.Decay <= 0 {
		opts.Decay = 10 * time.Second
	}
	if opts.Default <= 0 {
		opts.Default = 30 * time.Millisecond
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 250 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(30*time.Second, opts.MinBackoff)
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 8192
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.IntN
	}
	return &Balancer{opts: opts, stats: map[netip.AddrPort]*stat{}}
}

// Candidate is what the balancer needs to know of an endpoint.
type Candidate struct {
	Addr netip.AddrPort
	// Weight is the endpoint's relative share; zero counts as 1.
	Weight uint32
}

// Pick returns the index of the endpoint to use among n candidates, or -1
// when every one is excluded. cand describes candidate i; excluded lists
// endpoints already tried for this request.
func (b *Balancer) Pick(n int, cand func(i int) Candidate, excluded []netip.AddrPort) int {
	eligible := n
	if len(excluded) > 0 {
		eligible = 0
		for i := range n {
			if !contains(excluded, cand(i).Addr) {
				eligible++
			}
		}
	}
	switch eligible {
	case 0:
		return -1
	case 1:
		return nth(n, cand, excluded, 0)
	}
	r1 := b.opts.Rand(eligible)
	r2 := b.opts.Rand(eligible - 1)
	if r2 >= r1 {
		r2++
	}
	i, j := nth(n, cand, excluded, r1), nth(n, cand, excluded, r2)
	ci, cj := cand(i), cand(j)
	now := b.opts.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	li, lj := b.load(ci, now), b.load(cj, now)
	if lj < li {
		i, li = j, lj
	}
	if math.IsInf(li, 1) {
		// Both choices are set aside after failures: any endpoint that
		// is not beats them (a scan, only while endpoints are failing).
		for k := range n {
			c := cand(k)
			if contains(excluded, c.Addr) {
				continue
			}
			if l := b.load(c, now); l < li {
				i, li = k, l
			}
		}
	}
	return i
}

// nth returns the index of the k-th (0-based) candidate not excluded.
func nth(n int, cand func(int) Candidate, excluded []netip.AddrPort, k int) int {
	if len(excluded) == 0 {
		return k
	}
	for i := range n {
		if contains(excluded, cand(i).Addr) {
			continue
		}
		if k == 0 {
			return i
		}
		k--
	}
	return -1
}

func contains(list []netip.AddrPort, a netip.AddrPort) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// load is c's cost: its decayed latency estimate times its outstanding
// work plus one, divided by its weight. b.mu is held.
func (b *Balancer) load(c Candidate, now time.Time) float64 {
	s, ok := b.stats[c.Addr]
	if !ok {
		if len(b.stats) >= b.opts.MaxEntries && !b.evict(now) {
			return float64(b.opts.Default) / float64(max(c.Weight, 1))
		}
		// First seen now: the default estimate starts decaying from
		// here, as a measured one would, so a new endpoint that lost its
		// first comparisons is not starved.
		s = &stat{ewma: float64(b.opts.Default), stamp: now, used: now}
		b.stats[c.Addr] = s
	}
	if now.Before(s.failUntil) {
		return math.Inf(1)
	}
	return b.decayed(s, now) * float64(s.pending+1) / float64(max(c.Weight, 1))
}

// decayed is s's estimate aged to now: it drifts towards zero while the
// endpoint is not measured, so a penalty wears off.
func (b *Balancer) decayed(s *stat, now time.Time) float64 {
	dt := now.Sub(s.stamp)
	if dt <= 0 {
		return s.ewma
	}
	return s.ewma * math.Exp(-float64(dt)/float64(b.opts.Decay))
}

// Start notes work sent to addr; the tracker reports how it went.
func (b *Balancer) Start(addr netip.AddrPort) *Tracker {
	now := b.opts.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.stats[addr]
	if !ok {
		if len(b.stats) >= b.opts.MaxEntries && !b.evict(now) {
			return nil // full of busy endpoints: this one goes unmeasured
		}
		s = &stat{ewma: float64(b.opts.Default), stamp: now}
		b.stats[addr] = s
	}
	s.pending++
	s.used = now
	return &Tracker{b: b, addr: addr, s: s}
}

// evict forgets idle endpoints not used for a minute (endpoints come and
// go with pods); it reports whether there is room. b.mu is held.
func (b *Balancer) evict(now time.Time) bool {
	for a, s := range b.stats {
		if s.pending == 0 && now.Sub(s.used) > time.Minute {
			delete(b.stats, a)
		}
	}
	return len(b.stats) < b.opts.MaxEntries
}

// Tracker follows one unit of work (a request or a connection) sent to an
// endpoint. A nil *Tracker does nothing. Release must be called exactly
// once; Observe and Fail before it.
type Tracker struct {
	b        *Balancer
	addr     netip.AddrPort
	s        *stat
	released bool
}

// Observe feeds a measured latency into the endpoint's estimate: a peak
// raises it at once, lower values pull it down smoothly.
func (t *Tracker) Observe(rtt time.Duration) {
	if t == nil {
		return
	}
	now := t.b.opts.Now()
	t.b.mu.Lock()
	defer t.b.mu.Unlock()
	t.b.observe(t.s, float64(rtt), now)
}

func (b *Balancer) observe(s *stat, rtt float64, now time.Time) {
	if rtt > s.ewma {
		s.ewma = rtt
	} else {
		w := math.Exp(-float64(now.Sub(s.stamp)) / float64(b.opts.Decay))
		s.ewma = s.ewma*w + rtt*(1-w)
	}
	s.stamp = now
	s.fails, s.failUntil = 0, time.Time{}
}

// Fail records a failed connect: the endpoint is set aside for a backoff
// that doubles with each consecutive failure.
func (t *Tracker) Fail() {
	if t == nil {
		return
	}
	now := t.b.opts.Now()
	t.b.mu.Lock()
	defer t.b.mu.Unlock()
	backoff := t.b.opts.MinBackoff << min(t.s.fails, 16)
	t.s.fails++
	t.s.failUntil = now.Add(min(backoff, t.b.opts.MaxBackoff))
}

// Release ends the work: it no longer counts as outstanding.
func (t *Tracker) Release() {
	if t == nil {
		return
	}
	t.b.mu.Lock()
	defer t.b.mu.Unlock()
	if !t.released {
		t.released = true
		t.s.pending--
	}
}
