package balance

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// clock is a manual clock for the balancer.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func addrs(n int) []Candidate {
	out := make([]Candidate, n)
	for i := range out {
		out[i] = Candidate{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), 8080), Weight: 1}
	}
	return out
}

// seq returns a Rand that yields the given values in turn.
func seq(vals ...int) func(int) int {
	i := 0
	return func(n int) int {
		v := vals[i%len(vals)] % n
		i++
		return v
	}
}

func TestPickPrefersTheLowerLoad(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(b *Balancer, c *clock, eps []Candidate)
		want  int
	}{
		{"unmeasured endpoints tie: the first choice wins", func(*Balancer, *clock, []Candidate) {}, 0},
		{"a slow endpoint loses", func(b *Balancer, c *clock, eps []Candidate) {
			tr := b.Start(eps[0].Addr)
			tr.Observe(300 * time.Millisecond)
			tr.Release()
		}, 1},
		{"outstanding work counts", func(b *Balancer, c *clock, eps []Candidate) {
			b.Start(eps[0].Addr) // never released: one request in flight
		}, 1},
		{"a failed connect loses", func(b *Balancer, c *clock, eps []Candidate) {
			tr := b.Start(eps[0].Addr)
			tr.Fail()
			tr.Release()
		}, 1},
		{"a failure wears off after its backoff", func(b *Balancer, c *clock, eps []Candidate) {
			tr := b.Start(eps[0].Addr)
			tr.Fail()
			tr.Release()
			c.advance(300 * time.Millisecond)
		}, 0},
		{"consecutive failures back off longer", func(b *Balancer, c *clock, eps []Candidate) {
			for range 3 { // 250 ms, 500 ms, 1 s
				tr := b.Start(eps[0].Addr)
				tr.Fail()
				tr.Release()
			}
			c.advance(900 * time.Millisecond)
		}, 1},
		{"a success ends the backoff", func(b *Balancer, c *clock, eps []Candidate) {
			tr := b.Start(eps[0].Addr)
			tr.Fail()
			tr.Observe(time.Millisecond)
			tr.Release()
		}, 0},
		{"a peak is taken at once, a lower value smoothly", func(b *Balancer, c *clock, eps []Candidate) {
			tr := b.Start(eps[1].Addr)
			tr.Observe(20 * time.Millisecond) // below the 30 ms default: ewma barely moves
			tr.Release()
			tr = b.Start(eps[0].Addr)
			tr.Observe(31 * time.Millisecond) // a peak: 31 ms at once
			tr.Release()
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: time.Unix(1e9, 0)}
			b := New(Options{Now: c.now, Rand: seq(0, 0)})
			eps := addrs(2)
			tc.setup(b, c, eps)
			if got := b.Pick(len(eps), func(i int) Candidate { return eps[i] }, nil); got != tc.want {
				t.Fatalf("Pick = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestPickAvoidsFailingEndpoints: when both random choices are backing off,
// a healthy third endpoint is used rather than either of them.
func TestPickAvoidsFailingEndpoints(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	b := New(Options{Now: c.now, Rand: seq(0, 0)}) // always chooses 0 and 1
	eps := addrs(3)
	for _, e := range eps[:2] {
		tr := b.Start(e.Addr)
		tr.Fail()
		tr.Release()
	}
	if got := b.Pick(3, func(i int) Candidate { return eps[i] }, nil); got != 2 {
		t.Fatalf("Pick = %d, want the only healthy endpoint, 2", got)
	}
}

func TestPickWeights(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	b := New(Options{Now: c.now, Rand: seq(0, 0)})
	eps := addrs(2)
	eps[1].Weight = 3
	// Both unmeasured: endpoint 1's cost is a third of endpoint 0's.
	if got := b.Pick(2, func(i int) Candidate { return eps[i] }, nil); got != 1 {
		t.Fatalf("Pick = %d, want the heavier endpoint 1", got)
	}
}

func TestPickExcludes(t *testing.T) {
	b := New(Options{})
	eps := addrs(3)
	cand := func(i int) Candidate { return eps[i] }
	for range 100 {
		got := b.Pick(3, cand, []netip.AddrPort{eps[0].Addr, eps[2].Addr})
		if got != 1 {
			t.Fatalf("Pick = %d, want the only endpoint left, 1", got)
		}
		if got := b.Pick(3, cand, []netip.AddrPort{eps[1].Addr}); got == 1 {
			t.Fatal("Pick chose an excluded endpoint")
		}
	}
	if got := b.Pick(3, cand, []netip.AddrPort{eps[0].Addr, eps[1].Addr, eps[2].Addr}); got != -1 {
		t.Fatalf("Pick with every endpoint excluded = %d, want -1", got)
	}
	if got := b.Pick(0, cand, nil); got != -1 {
		t.Fatalf("Pick of nothing = %d, want -1", got)
	}
}

// TestSlowEndpointStarves: with real randomness, an endpoint ten times
// slower than its peers gets almost nothing once measured, and every fast
// endpoint, including one first measured late, gets its share.
func TestSlowEndpointStarves(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	b := New(Options{Now: c.now})
	eps := addrs(4)
	cand := func(i int) Candidate { return eps[i] }
	lat := []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, 10 * time.Millisecond}
	counts := make([]int, len(eps))
	for range 10000 { // 10 s at 1,000 requests per second
		c.advance(time.Millisecond)
		i := b.Pick(len(eps), cand, nil)
		counts[i]++
		tr := b.Start(eps[i].Addr)
		tr.Observe(lat[i])
		tr.Release()
	}
	if counts[3] > 100 {
		t.Fatalf("the slow endpoint got %d of 10000 requests (%v), want at most 1%%", counts[3], counts)
	}
	for i := range 3 {
		if counts[i] < 1000 { // P2C spreads by load, not evenly
			t.Fatalf("fast endpoint %d got %d of 10000 (%v): the load is not spread", i, counts[i], counts)
		}
	}
}

func TestEntriesBounded(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	b := New(Options{Now: c.now, MaxEntries: 2})
	eps := addrs(3)
	b.Start(eps[0].Addr).Release()
	busy := b.Start(eps[1].Addr)
	if tr := b.Start(eps[2].Addr); tr != nil {
		t.Fatal("a third endpoint was tracked past MaxEntries while the others were recent")
	}
	c.advance(2 * time.Minute)
	if tr := b.Start(eps[2].Addr); tr == nil {
		t.Fatal("an idle endpoint was not evicted to make room")
	}
	busy.Release()
	busy.Release() // twice is harmless
	var nilTracker *Tracker
	nilTracker.Observe(time.Second)
	nilTracker.Fail()
	nilTracker.Release()
	if len(b.stats) != 2 {
		t.Fatalf("%d entries, want 2", len(b.stats))
	}
}

func TestConcurrentUse(t *testing.T) {
	b := New(Options{})
	eps := addrs(8)
	cand := func(i int) Candidate { return eps[i] }
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 2000 {
				i := b.Pick(len(eps), cand, nil)
				tr := b.Start(eps[i].Addr)
				if k%7 == g {
					tr.Fail()
				} else {
					tr.Observe(time.Duration(k%5) * time.Millisecond)
				}
				tr.Release()
			}
		}()
	}
	wg.Wait()
	for a, s := range b.stats {
		if s.pending != 0 {
			t.Fatalf("%s: %d outstanding after every tracker was released", a, s.pending)
		}
	}
}

// BenchmarkPick is the balancer's hot path: one pick and one tracked
// request, for endpoint sets of several sizes.
func BenchmarkPick(b *testing.B) {
	for _, n := range []int{2, 10, 100, 1000} {
		b.Run(fmt.Sprintf("endpoints=%d", n), func(b *testing.B) {
			bal := New(Options{})
			eps := addrs(n % 250)
			if n >= 250 {
				eps = make([]Candidate, n)
				for i := range eps {
					eps[i] = Candidate{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 80)}
				}
			}
			cand := func(i int) Candidate { return eps[i] }
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := bal.Pick(len(eps), cand, nil)
					tr := bal.Start(eps[i].Addr)
					tr.Observe(time.Millisecond)
					tr.Release()
				}
			})
		})
	}
}
