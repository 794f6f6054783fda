package bench

import (
	"context"
	"testing"
	"time"
)

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
			want := 0
			for w := range l.Conns {
				want += schedule{rate: 200, conns: 4}.count(w, l.Duration)
			}
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
	want := 0
	for w := range 8 {
		want += schedule{rate: 400, conns: 8}.count(w, l.Duration)
	}
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
