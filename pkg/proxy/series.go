package proxy

import (
	"slices"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// seriesCache remembers, per connection, the last series each request
// metric was counted in. Requests on one keep-alive connection nearly
// always carry the same labels, and a vector's WithLabelValues validates,
// hashes and looks up every value each time (about 4 % of the proxy's CPU
// in a closed-loop profile); a hit here compares the values instead.
// Entries are replaced whole, so HTTP/2 streams may share it without a
// lock. A remembered series is used only while the metrics' generation is
// the one it was looked up in: deleting idle series (retain.go) changes
// it.
type seriesCache struct {
	requests  atomic.Pointer[cachedSeries[prometheus.Counter]]
	responses atomic.Pointer[cachedSeries[prometheus.Counter]]
	latency   atomic.Pointer[cachedSeries[prometheus.Observer]]
}

// cachedSeries is one remembered series and the label values it has.
type cachedSeries[T any] struct {
	values []string
	metric T
	gen    uint64
}

// labelledVec is a metric vector: WithLabelValues of a CounterVec or a
// HistogramVec.
type labelledVec[T any] interface {
	WithLabelValues(lvs ...string) T
}

// seriesIn returns vec's series for values, from slot when it holds them
// and no series was deleted since (gen).
func seriesIn[T any, V labelledVec[T]](slot *atomic.Pointer[cachedSeries[T]], gen *atomic.Uint64, vec V, values []string) T {
	g := gen.Load()
	if c := slot.Load(); c != nil && c.gen == g && slices.Equal(c.values, values) {
		return c.metric
	}
	m := vec.WithLabelValues(values...)
	slot.Store(&cachedSeries[T]{values: slices.Clone(values), metric: m, gen: g})
	return m
}

// request returns the request_total series for values (httpLabelNames).
func (c *seriesCache) request(m *metrics, values []string) prometheus.Counter {
	if c == nil {
		return m.requests.WithLabelValues(values...)
	}
	return seriesIn(&c.requests, &m.generation, m.requests, values)
}

// response returns the response_total series for values
// (responseLabelNames).
func (c *seriesCache) response(m *metrics, values []string) prometheus.Counter {
	if c == nil {
		return m.responses.WithLabelValues(values...)
	}
	return seriesIn(&c.responses, &m.generation, m.responses, values)
}

// latencyOf returns the response_latency_ms series for values
// (latencyLabelNames).
func (c *seriesCache) latencyOf(m *metrics, values []string) prometheus.Observer {
	if c == nil {
		return m.latency.WithLabelValues(values...)
	}
	return seriesIn(&c.latency, &m.generation, m.latency, values)
}
