package proxyinit

import (
	"testing"

	"github.com/meshctl/meshctl/pkg/meshapi"
)

// testConfig skips inbound 9090, outbound 25 and 8000-8100, and the subnets
// 10.2.0.0/16 and fd00:2::/64, with IPv6 on.
func testConfig(t *testing.T) Config {
	return Config{
		SkipInboundPorts:    mustPorts(t, "9090"),
		SkipOutboundPorts:   mustPorts(t, "25,8000-8100"),
		SkipOutboundSubnets: mustSubnets(t, "10.2.0.0/16,fd00:2::/64"),
		IPv6:                true,
	}
}

// TestRedirectInNetns applies the rules in a pod namespace and proves with
// real connections where each one lands: on the proxy's outbound listener
// (with SO_ORIGINAL_DST naming the address dialled), on its inbound
// listener, or directly on its destination.
func TestRedirectInNetns(t *testing.T) {
	topo := newTopology(t)
	pod, peer := topo.podNS, topo.peerNS
	serve(t, pod, "tcp4", "127.0.0.1:4140", "outbound")
	serve(t, pod, "tcp6", "[::1]:4140", "outbound")
	serve(t, pod, "tcp", ":4143", "inbound") // dual stack: IPv4 arrives mapped
	serve(t, pod, "tcp", ":4190", "control")
	serve(t, pod, "tcp", ":4191", "admin")
	serve(t, pod, "tcp", ":8080", "app:8080")
	serve(t, pod, "tcp", ":9090", "app:9090")
	for _, port := range []string{"80", "25", "8050"} {
		serve(t, peer, "tcp", ":"+port, "peer:"+port)
	}

	res, err := applyIn(pod, testConfig(t))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if len(res.Warnings) > 0 {
		t.Errorf("unexpected warnings in a fresh namespace: %q", res.Warnings)
	}

	const (
		app   = "app (uid 0)"
		proxy = "proxy (uid 2102)"
		// remote is a client in the peer namespace connecting to the pod.
		remote = "remote client"
	)
	tests := []struct {
		name, from, addr string
		want             string // the answering listener and the original destination
	}{
		// (a) outbound TCP from the app goes to the outbound listener.
		{"outbound ipv4", app, "10.1.2.3:80", "outbound 10.1.2.3:80"},
		{"outbound ipv6", app, "[fd00:1::3]:80", "outbound [fd00:1::3]:80"},
		// (d) skipped ports and subnets reach their destination directly.
		{"skip outbound port", app, "10.1.2.3:25", "peer:25 -"},
		{"skip outbound port range", app, "10.1.2.3:8050", "peer:8050 -"},
		{"skip outbound subnet ipv4", app, "10.2.0.1:80", "peer:80 -"},
		{"skip outbound subnet ipv6", app, "[fd00:2::1]:80", "peer:80 -"},
		// Pod-local traffic through lo is not intercepted (Linkerd's rule).
		{"app to its own pod address", app, "10.0.0.1:8080", "app:8080 10.0.0.1:8080"},
		{"app to localhost", app, "127.0.0.1:8080", "app:8080 127.0.0.1:8080"},
		// (b) inbound TCP to a pod port goes to the inbound listener.
		{"inbound ipv4", remote, "10.0.0.1:8080", "inbound 10.0.0.1:8080"},
		{"inbound ipv6", remote, "[fd00::1]:8080", "inbound [fd00::1]:8080"},
		{"inbound to the inbound port", remote, "10.0.0.1:4143", "inbound 10.0.0.1:4143"},
		{"skip inbound port", remote, "10.0.0.1:9090", "app:9090 10.0.0.1:9090"},
		{"proxy control port", remote, "10.0.0.1:4190", "control 10.0.0.1:4190"},
		{"proxy admin port", remote, "10.0.0.1:4191", "admin 10.0.0.1:4191"},
		// (c) the proxy's own connections are not redirected outbound...
		{"proxy outbound", proxy, "10.1.2.3:80", "peer:80 -"},
		{"proxy outbound ipv6", proxy, "[fd00:1::3]:80", "peer:80 -"},
		{"proxy to localhost", proxy, "127.0.0.1:8080", "app:8080 127.0.0.1:8080"},
		// ...but its connections to its own pod address go through inbound.
		{"proxy to its own pod address", proxy, "10.0.0.1:8080", "inbound 10.0.0.1:8080"},
		{"proxy to its own admin port", proxy, "10.0.0.1:4191", "admin 10.0.0.1:4191"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			var err error
			switch tt.from {
			case app:
				got, err = dialFrom(pod, tt.addr)
			case remote:
				got, err = dialFrom(peer, tt.addr)
			case proxy:
				got, err = dialAsUser(pod, meshapi.ProxyUID, tt.addr)
			}
			if err != nil {
				t.Fatalf("%s dialling %s: %v", tt.from, tt.addr, err)
			}
			if got != tt.want {
				t.Fatalf("%s dialling %s reached %q, want %q", tt.from, tt.addr, got, tt.want)
			}
		})
	}
}
