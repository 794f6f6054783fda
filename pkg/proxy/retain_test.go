package proxy

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// requestValues are request_total label values for one authority.
func requestValues(authority string) []string {
	v := make([]string, len(httpLabelNames()))
	v[0], v[len(v)-1] = "outbound", authority
	return v
}

// exportedWith counts the series of the registry's metric name whose
// authority (or, for tcp, target_addr) label is value.
func exportedWith(t *testing.T, reg *prometheus.Registry, name, label, value string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					n++
				}
			}
		}
	}
	return n
}

// TestIdleSeriesAreForgotten: a series that did not move for the
// retention is deleted, one that moved is kept, and a connection that
// remembered a deleted series counts into a registered one again.
func TestIdleSeriesAreForgotten(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg, 256)
	const retain = 10 * time.Minute
	idle := newIdleSeries(m, retain)
	var conn seriesCache // a keep-alive connection to "gone"
	conn.request(m, requestValues("gone")).Inc()
	m.requests.WithLabelValues(requestValues("busy")...).Inc()

	t0 := time.Unix(1_000_000, 0)
	if n := idle.sweep(t0); n != 0 {
		t.Fatalf("first sweep deleted %d series", n)
	}
	m.requests.WithLabelValues(requestValues("busy")...).Inc()
	if n := idle.sweep(t0.Add(retain / 2)); n != 0 {
		t.Fatalf("a sweep within the retention deleted %d series", n)
	}
	if n := idle.sweep(t0.Add(retain)); n != 1 {
		t.Fatalf("after the retention: %d series deleted, want 1 (gone's)", n)
	}
	if got := testutil.ToFloat64(m.seriesExpired); got != 1 {
		t.Errorf("meshctl_proxy_metrics_series_expired_total %v, want 1", got)
	}
	if got := exportedWith(t, reg, "request_total", "authority", "gone"); got != 0 {
		t.Errorf("gone's request_total still exported (%d series)", got)
	}
	if got := exportedWith(t, reg, "request_total", "authority", "busy"); got != 1 {
		t.Errorf("busy's request_total, which moved, is gone")
	}

	// The connection comes back: its request counts, in a series that is
	// exported, starting again from zero as Prometheus reads a reset.
	conn.request(m, requestValues("gone")).Inc()
	if got := testutil.ToFloat64(m.requests.WithLabelValues(requestValues("gone")...)); got != 1 {
		t.Errorf("the returning connection's request: request_total %v, want 1 (counted into a deleted series?)", got)
	}
}

// TestOpenConnectionsKeepTheirSeries: a TCP connection holds its series
// and counts into them until it closes, so they stay however long it is
// quiet; once it closed they go like any other.
func TestOpenConnectionsKeepTheirSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg, 256)
	const retain = time.Minute
	idle := newIdleSeries(m, retain)
	labels := make([]string, len(tcpLabelNames()))
	labels[0], labels[1] = "outbound", "10.0.0.7:5432"
	m.tcpOpen.WithLabelValues(labels...).Inc()
	m.tcpOpenConn.WithLabelValues(labels...).Inc()
	read := m.tcpRead.WithLabelValues(labels...)
	read.Add(100)

	t0 := time.Unix(1_000_000, 0)
	for i := range 5 {
		idle.sweep(t0.Add(time.Duration(i) * retain))
	}
	for _, name := range []string{"tcp_open_total", "tcp_open_connections", "tcp_read_bytes_total"} {
		if exportedWith(t, reg, name, "target_addr", "10.0.0.7:5432") != 1 {
			t.Errorf("%s of a quiet open connection was deleted", name)
		}
	}
	read.Add(1) // still counted where it is exported
	if got := testutil.ToFloat64(m.tcpRead.WithLabelValues(labels...)); got != 101 {
		t.Errorf("tcp_read_bytes_total %v, want 101", got)
	}

	m.tcpOpenConn.WithLabelValues(labels...).Dec() // closed
	idle.sweep(t0.Add(5 * retain))
	idle.sweep(t0.Add(6 * retain))
	for _, name := range []string{"tcp_open_total", "tcp_open_connections", "tcp_read_bytes_total"} {
		if n := exportedWith(t, reg, name, "target_addr", "10.0.0.7:5432"); n != 0 {
			t.Errorf("%s of a connection closed a retention ago is still exported", name)
		}
	}
}

// TestExpiredAuthoritiesMakeRoom: once an authority's series are gone,
// the bounded authority label takes a new value instead of "overflow".
func TestExpiredAuthoritiesMakeRoom(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg, 2)
	idle := newIdleSeries(m, time.Minute)
	for _, a := range []string{"a:80", "b:80"} {
		m.requests.WithLabelValues(requestValues(m.authorities.value(a))...).Inc()
	}
	if got := m.authorities.value("c:80"); got != "overflow" {
		t.Fatalf("a third authority under a bound of 2: %q, want overflow", got)
	}
	t0 := time.Unix(1_000_000, 0)
	idle.sweep(t0)
	m.requests.WithLabelValues(requestValues("b:80")...).Inc()
	idle.sweep(t0.Add(time.Minute)) // a:80 expires, b:80 moved
	if got := m.authorities.value("c:80"); got != "c:80" {
		t.Errorf("after a:80 expired: %q, want c:80", got)
	}
	if got := m.authorities.value("d:80"); got != "overflow" {
		t.Errorf("the bound still holds: %q, want overflow", got)
	}
}

// TestRunningProxyForgetsIdleSeries: a running proxy's sweeps take a
// quiet destination's series off /metrics once the retention passed.
func TestRunningProxyForgetsIdleSeries(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer backend.Close()
	p := newPair(t, strings.TrimPrefix(backend.URL, "http://"), func(c *Config) { c.MetricsRetainIdle = time.Second })
	defer p.cancel()
	resp, err := http.Get("http://" + p.outbound + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.Contains(scrape(t, p.client), "request_total{") {
		t.Fatal("no request_total after a request")
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(scrape(t, p.client), "request_total{") {
		if time.Now().After(deadline) {
			t.Fatal("request_total still exported 10 s after its last request, with a retention of 1 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
