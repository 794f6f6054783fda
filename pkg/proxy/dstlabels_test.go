package proxy

import (
	"context"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// getThroughOutbound runs a proxy whose outbound side asks dst for the
// endpoints of 10.96.0.10:80 and sends one GET through it, body read.
func getThroughOutbound(t *testing.T, dst Destination) (*Proxy, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p, ls, done := startProxyWith(t, ctx, Config{InboundTarget: "127.0.0.1:1", OutboundTarget: "10.96.0.10:80", ShutdownGracePeriod: time.Second}, Deps{Destination: dst}, Listeners{})
	t.Cleanup(func() { cancel(); <-done })
	resp, err := http.Get("http://" + ls.Outbound.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return p, resp
}

// labelledDestination answers every target with one endpoint carrying the
// destination controller's metric labels.
type labelledDestination struct {
	addr   netip.AddrPort
	labels map[string]string
}

func (d labelledDestination) Resolve(context.Context, Target) ([]Endpoint, error) {
	return []Endpoint{{Addr: d.addr, Labels: d.labels}}, nil
}

// TestOutboundSeriesCarryDestinationLabels: outbound series carry the
// dst_* labels of the endpoint the request went to (Linkerd's names), so
// dashboards can group by dst_deployment or dst_service.
func TestOutboundSeriesCarryDestinationLabels(t *testing.T) {
	backend := newCountingBackend(t)
	dst := labelledDestination{
		addr:   netip.MustParseAddrPort(backend.Listener.Addr().String()),
		labels: map[string]string{"dst_namespace": "shop", "dst_service": "web", "dst_pod": "web-1", "dst_deployment": "web", "dst_serviceaccount": "web"},
	}
	p, _ := getThroughOutbound(t, dst)
	want := map[string]string{"direction": "outbound", "dst_namespace": "shop", "dst_service": "web", "dst_pod": "web-1", "dst_deployment": "web", "dst_serviceaccount": "web", "dst_statefulset": ""}
	for _, name := range []string{"request_total", "response_total", "response_latency_ms"} {
		if !hasSeries(p, name, want) {
			t.Errorf("%s lacks the destination's labels %v:\n%s", name, want, grepLines(scrape(t, p), name))
		}
	}
	// The pooled upstream connection carries them too, like opaque TCP's.
	if !hasSeries(p, "tcp_open_total", map[string]string{"direction": "outbound", "peer": "dst", "dst_pod": "web-1", "dst_service": "web"}) {
		t.Errorf("the upstream connection's series lack the destination's labels:\n%s", grepLines(scrape(t, p), "tcp_open_total"))
	}
	if hasSeries(p, "request_total", map[string]string{"direction": "inbound", "dst_service": "web"}) {
		t.Error("inbound series carry destination labels")
	}
}

// noEndpoints resolves every target to nothing (a Service whose pods are
// not ready yet).
type noEndpoints struct{}

func (noEndpoints) Resolve(context.Context, Target) ([]Endpoint, error) { return nil, nil }

// TestNoEndpointRequestsAreNotPlaintext: a request with no endpoint is
// answered 503 and counted with no_tls_reason="no_endpoints" — it went
// nowhere, so it must not look like a plaintext request to the service.
func TestNoEndpointRequestsAreNotPlaintext(t *testing.T) {
	p, resp := getThroughOutbound(t, noEndpoints{})
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("meshctl-proxy-error") != "no_endpoints" {
		t.Fatalf("%d %q, want 503 no_endpoints", resp.StatusCode, resp.Header.Get("meshctl-proxy-error"))
	}
	if !hasSeries(p, "request_total", map[string]string{"direction": "outbound", "tls": "no_identity", "no_tls_reason": "no_endpoints"}) {
		t.Fatalf("request_total:\n%s", grepLines(scrape(t, p), "request_total"))
	}
}

func TestDstLabelCount(t *testing.T) {
	if n := len(dstLabelNames()); n != dstLabelCount {
		t.Fatalf("dstLabelCount is %d, dstLabelNames has %d", dstLabelCount, n)
	}
	info := &connInfo{dst: []string{"ns", "svc"}}
	v := info.labelValues()
	if len(v) != len(connLabelNames()) || v[6] != "ns" || v[7] != "svc" || v[8] != "" {
		t.Fatalf("labelValues = %q", v)
	}
	var buf [24]string
	w := info.appendLabelValues(append(buf[:0], "before"))
	if !slices.Equal(w[1:], v) || w[0] != "before" || &w[0] != &buf[0] {
		t.Fatalf("appendLabelValues = %q, want %q after the existing value, in the given array", w, v)
	}
}

// identifiedDestination answers every target with one meshed endpoint.
type identifiedDestination struct{ addr netip.AddrPort }

func (d identifiedDestination) Resolve(context.Context, Target) ([]Endpoint, error) {
	return []Endpoint{{Addr: d.addr, Identity: serverID}}, nil
}

// TestIdentityDisabledIsLabelled: with identity disabled, a request to an
// endpoint the destination says is meshed goes in plaintext and is counted
// with no_tls_reason="disabled", not as mTLS.
func TestIdentityDisabledIsLabelled(t *testing.T) {
	backend := newCountingBackend(t)
	dst := identifiedDestination{addr: netip.MustParseAddrPort(backend.Listener.Addr().String())}
	p, resp := getThroughOutbound(t, dst)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !hasSeries(p, "request_total", map[string]string{"direction": "outbound", "tls": "no_identity", "no_tls_reason": "disabled"}) {
		t.Fatalf("request_total:\n%s", grepLines(scrape(t, p), "request_total"))
	}
}
