package bench

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// scheduledRequests is how many requests an open-loop l sends: every
// worker's share of its schedule.
func scheduledRequests(l Load) int {
	workers := l.Conns * l.streams()
	s := schedule{rate: float64(l.Rate), conns: workers}
	n := 0
	for w := range workers {
		n += s.count(w, l.Duration)
	}
	return n
}

// TestLoadAgainstUpstream drives the built-in upstream directly with every
// protocol: each scheduled request must complete without error. It asserts
// counts, never timings.
func TestLoadAgainstUpstream(t *testing.T) {
	up, err := StartUpstream("127.0.0.1", 1024)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	for _, sc := range Scenarios() {
		t.Run(string(sc), func(t *testing.T) {
			target := up.HTTPAddr
			if sc == ScenarioTCP {
				target = up.TCPAddr
			}
			l := Load{Target: target, Scenario: sc, Conns: 4, Rate: 200, Duration: 250 * time.Millisecond, BodySize: 1024}
			res, err := l.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := scheduledRequests(l)
			if res.Errors != 0 || res.Requests != want {
				t.Fatalf("%d requests, %d errors (first: %s); want %d and none", res.Requests, res.Errors, res.FirstErr, want)
			}
			if res.Latency.Count != want || res.Lateness.Count == 0 {
				t.Errorf("latency samples %d, lateness samples %d", res.Latency.Count, res.Lateness.Count)
			}
			closed := Load{Target: target, Scenario: sc, Conns: 2, Duration: 100 * time.Millisecond, BodySize: 1024}
			res, err = closed.Run(context.Background())
			if err != nil || res.Errors != 0 || res.Requests == 0 {
				t.Fatalf("closed loop: %v, %d requests, %d errors (%s)", err, res.Requests, res.Errors, res.FirstErr)
			}
		})
	}
}

// TestLoadWithSpin paces with a spin before every send: every scheduled
// request completes and the lateness is recorded.
func TestLoadWithSpin(t *testing.T) {
	up, err := StartUpstream("127.0.0.1", 1024)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	l := Load{Target: up.HTTPAddr, Scenario: ScenarioS1, Conns: 2, Rate: 100, Spin: 300 * time.Microsecond, Duration: 200 * time.Millisecond, BodySize: 1024}
	res, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := scheduledRequests(l)
	if res.Errors != 0 || res.Requests != want || res.Lateness.Count == 0 {
		t.Fatalf("%d requests, %d errors (%s), %d lateness samples; want %d requests, no errors, some samples", res.Requests, res.Errors, res.FirstErr, res.Lateness.Count, want)
	}
	if res.PacingPriority != "" && !strings.Contains(res.PacingPriority, "CAP_SYS_NICE") {
		t.Errorf("pacing priority: %q, want empty (raised) or the privilege it lacked", res.PacingPriority)
	}
}

// TestLoadStreams shares each HTTP/2 connection among several workers.
func TestLoadStreams(t *testing.T) {
	up, err := StartUpstream("127.0.0.1", 1024)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	l := Load{Target: up.HTTPAddr, Scenario: ScenarioGRPC, Conns: 2, Streams: 4, Rate: 400, Duration: 200 * time.Millisecond}
	res, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := scheduledRequests(l)
	if res.Errors != 0 || res.Requests != want {
		t.Fatalf("%d requests, %d errors (%s); want %d", res.Requests, res.Errors, res.FirstErr, want)
	}
}

func TestLoadRefusesRemoteTargets(t *testing.T) {
	l := Load{Target: "192.0.2.1:80", Scenario: ScenarioS1, Conns: 1, Rate: 1, Duration: time.Second}
	if _, err := l.Run(context.Background()); err == nil {
		t.Fatal("load aimed off loopback")
	}
}

// stepClock is a clock whose time moves only when it is read (by step) or
// slept on; it records the sleeps.
type stepClock struct {
	t      time.Duration
	step   time.Duration
	sleeps []time.Duration
}

func (c *stepClock) now() time.Duration { c.t += c.step; return c.t }
func (c *stepClock) sleepUntil(t time.Duration) {
	c.sleeps = append(c.sleeps, t)
	c.t = max(c.t, t)
}
func (c *stepClock) pin() func()            { return func() {} }
func (c *stepClock) raise() (func(), error) { return func() {}, nil }

// TestWorkerWaitSpinsTheLastStretch checks the pacing, not its timing: a
// worker with a spin sleeps until the spin before the send and polls the
// clock from there, never returning early; without one it sleeps to the
// instant; and with less time left than the spin it does not sleep.
func TestWorkerWaitSpinsTheLastStretch(t *testing.T) {
	const due = 10 * time.Millisecond
	tests := []struct {
		name       string
		start      time.Duration
		spin       time.Duration
		wantSleeps []time.Duration
	}{
		{"spin", 0, 200 * time.Microsecond, []time.Duration{due - 200*time.Microsecond}},
		{"no spin", 0, 0, []time.Duration{due}},
		{"less time left than the spin", due - 100*time.Microsecond, 200 * time.Microsecond, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &stepClock{t: tt.start, step: time.Microsecond}
			w := worker{clk: clk, spin: tt.spin}
			w.wait(due)
			if clk.t < due {
				t.Errorf("wait returned at %v, before %v", clk.t, due)
			}
			if !slices.Equal(clk.sleeps, tt.wantSleeps) {
				t.Errorf("slept until %v, want %v", clk.sleeps, tt.wantSleeps)
			}
		})
	}
}
