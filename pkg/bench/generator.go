package bench

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Load describes one phase of load against a target.
type Load struct {
	Target   string
	Scenario Scenario
	// Conns is the number of connections, each driven by its own worker.
	Conns int
	// Streams is the number of requests in flight per connection for h2
	// and gRPC (each stream has its own worker and schedule slot); other
	// protocols use 1. Zero means 1.
	Streams int
	// Rate is requests per second over all connections; zero means closed
	// loop (every connection sends its next request when the last answered).
	Rate     int
	Duration time.Duration
	// Spin is the last part of each open-loop wait spent polling the
	// clock instead of asleep. A sleeping thread wakes when its CPU gets
	// to it: on a virtual machine whose idle vCPUs are halted that is
	// 50-120 µs late at p99 here, as much as the effects measured. Polling
	// takes that tail out of the generator's lateness, at the price of
	// Spin × Rate of a CPU; the polling threads run at real-time priority
	// where the process may set it (see clock.raise). Zero sleeps all the
	// way.
	Spin time.Duration
	// BodySize is the TCP ping-pong message size.
	BodySize int
}

// LoadResult is what a phase measured.
type LoadResult struct {
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	FirstErr string  `json:"firstError,omitempty"`
	Seconds  float64 `json:"seconds"`
	// RPS is completed requests per second.
	RPS float64 `json:"rps"`
	// Latency is from the intended send time in open loop (corrected for
	// coordinated omission) and from the actual send in closed loop.
	Latency Summary `json:"latency"`
	// Service is from the actual send to the end of the response.
	Service Summary `json:"service"`
	// Lateness is how late the generator woke for a send it was idle for.
	Lateness Summary `json:"lateness"`
	// PacingPriority says why pacing threads that spin stayed at normal
	// priority; empty when they were raised or did not spin.
	PacingPriority string `json:"pacingPriority,omitempty"`
}

type workerResult struct {
	latency, service, lateness Recorder
	requests, errors           int
	firstErr                   error
	raiseErr                   error // why the pacing thread stayed at normal priority
}

// Run drives the load until its duration has passed or ctx ends.
func (l Load) Run(ctx context.Context) (LoadResult, error) {
	if err := CheckLoopback(l.Target); err != nil {
		return LoadResult{}, err
	}
	if l.Conns <= 0 || l.Duration <= 0 {
		return LoadResult{}, fmt.Errorf("load: need connections (%d) and a duration (%s)", l.Conns, l.Duration)
	}
	clk := newClock()
	deadline := time.Now().Add(l.Duration + 5*time.Second)
	d := dialer{target: l.Target, scenario: l.Scenario, body: l.BodySize, deadline: deadline}
	clients := make([]client, l.Conns)
	for i := range clients {
		c, err := d.dial()
		if err != nil {
			for _, c := range clients[:i] {
				c.close()
			}
			return LoadResult{}, fmt.Errorf("load: connection %d: %w", i, err)
		}
		clients[i] = c
	}
	streams := l.streams()
	results := make([]workerResult, l.Conns*streams)
	start := clk.now() + 2*time.Millisecond
	end := start + l.Duration
	sched := schedule{rate: float64(l.Rate), conns: len(results)}
	var wg sync.WaitGroup
	for w := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wk := worker{clk: clk, d: d, c: clients[w/streams], shared: streams > 1, res: &results[w], start: start, end: end, spin: l.Spin, ctx: ctx}
			if l.Rate > 0 {
				wk.openLoop(sched, w)
			} else {
				wk.closedLoop()
			}
		}()
	}
	wg.Wait()
	if streams > 1 {
		for _, c := range clients {
			c.close()
		}
	}
	elapsed := clk.now() - start
	var all workerResult
	for i := range results {
		r := &results[i]
		all.latency.Merge(&r.latency)
		all.service.Merge(&r.service)
		all.lateness.Merge(&r.lateness)
		all.requests += r.requests
		all.errors += r.errors
		if all.firstErr == nil {
			all.firstErr = r.firstErr
		}
		if all.raiseErr == nil {
			all.raiseErr = r.raiseErr
		}
	}
	out := LoadResult{
		Requests: all.requests,
		Errors:   all.errors,
		Seconds:  elapsed.Seconds(),
		RPS:      float64(all.requests) / elapsed.Seconds(),
		Latency:  all.latency.Summarize(),
		Service:  all.service.Summarize(),
		Lateness: all.lateness.Summarize(),
	}
	if all.firstErr != nil {
		out.FirstErr = all.firstErr.Error()
	}
	if all.raiseErr != nil {
		out.PacingPriority = all.raiseErr.Error()
	}
	return out, ctx.Err()
}

// streams is the number of workers per connection.
func (l Load) streams() int {
	if l.Streams > 1 && (l.Scenario == ScenarioH2 || l.Scenario == ScenarioGRPC) {
		return l.Streams
	}
	return 1
}

// worker drives one connection, or one stream of a shared HTTP/2 connection.
type worker struct {
	clk clock
	d   dialer
	c   client
	// shared clients are HTTP/2 connections several workers use; the
	// transport redials them by itself and Run closes them.
	shared     bool
	res        *workerResult
	start, end time.Duration
	spin       time.Duration
	ctx        context.Context
}

// openLoop sends at the schedule's instants. The goroutine holds its OS
// thread so that clock_nanosleep's wake-up runs the send directly.
func (w *worker) openLoop(s schedule, idx int) {
	defer w.clk.pin()()
	if w.spin > 0 {
		release, err := w.clk.raise()
		if err != nil {
			w.res.raiseErr = err
		} else {
			defer release()
		}
	}
	defer w.closeClient()
	for k := 0; ; k++ {
		due := w.start + s.at(idx, k)
		if due >= w.end || w.ctx.Err() != nil {
			return
		}
		now := w.clk.now()
		if now < due {
			w.wait(due)
			now = w.clk.now()
			w.res.lateness.Add(now - due)
		}
		// When the previous response came after due, the wait is the
		// system's fault, not the generator's: it counts in latency only.
		err := w.send()
		done := w.clk.now()
		if err != nil {
			continue
		}
		w.res.latency.Add(done - due)
		w.res.service.Add(done - now)
	}
}

// wait returns at due: asleep until the worker's spin before it, then
// polling the clock.
func (w *worker) wait(due time.Duration) {
	if w.spin > 0 {
		if wake := due - w.spin; wake > w.clk.now() {
			w.clk.sleepUntil(wake)
		}
		for w.clk.now() < due {
		}
		return
	}
	w.clk.sleepUntil(due)
}

// closedLoop sends back to back until the end.
func (w *worker) closedLoop() {
	defer w.closeClient()
	for w.ctx.Err() == nil {
		now := w.clk.now()
		if now >= w.end {
			return
		}
		if err := w.send(); err != nil {
			continue
		}
		done := w.clk.now()
		w.res.latency.Add(done - now)
		w.res.service.Add(done - now)
	}
}

// send does one request, counting it; after an error it reconnects once.
func (w *worker) send() error {
	if w.c == nil {
		c, err := w.d.dial()
		if err != nil {
			w.fail(err)
			w.pause()
			return err
		}
		w.c = c
	}
	if err := w.c.do(); err != nil {
		w.fail(err)
		if !w.shared {
			w.c.close()
			w.c = nil
		}
		return err
	}
	w.res.requests++
	return nil
}

func (w *worker) fail(err error) {
	w.res.errors++
	if w.res.firstErr == nil {
		w.res.firstErr = err
	}
}

// pause keeps a worker whose target refuses connections from spinning.
func (w *worker) pause() {
	w.clk.sleepUntil(w.clk.now() + 10*time.Millisecond)
}

func (w *worker) closeClient() {
	if w.c != nil && !w.shared {
		w.c.close()
	}
}
