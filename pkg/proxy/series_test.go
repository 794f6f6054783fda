package proxy

import (
	"slices"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

func TestSeriesCacheCountsInTheRightSeries(t *testing.T) {
	m := newMetrics(prometheus.NewRegistry(), 10)
	a := append((&connInfo{direction: Outbound}).labelValues(), "a.example:80")
	b := append((&connInfo{direction: Outbound}).labelValues(), "b.example:80")
	for _, c := range []*seriesCache{{}, nil} {
		m.requests.Reset()
		// The labels of a request are built in a buffer that is reused
		// for other values: what the cache compares against must not
		// change with it.
		buf := slices.Clone(a)
		c.request(m, buf).Inc()
		c.request(m, a).Inc()
		copy(buf, b)
		c.request(m, b).Inc()
		c.request(m, a).Inc()
		c.request(m, a).Inc()
		if got := testutil.ToFloat64(m.requests.WithLabelValues(a...)); got != 4 {
			t.Errorf("cache %v: series a counted %v, want 4", c != nil, got)
		}
		if got := testutil.ToFloat64(m.requests.WithLabelValues(b...)); got != 1 {
			t.Errorf("cache %v: series b counted %v, want 1", c != nil, got)
		}
	}
}

// TestSeriesCacheConcurrent: HTTP/2 streams of one connection share the
// cache; no count is lost or misplaced while they replace its entries.
func TestSeriesCacheConcurrent(t *testing.T) {
	m := newMetrics(prometheus.NewRegistry(), 10)
	c := &seriesCache{}
	sets := [][]string{
		append((&connInfo{direction: Inbound}).labelValues(), "a:80", "200"),
		append((&connInfo{direction: Inbound}).labelValues(), "a:80", "503"),
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				c.latencyOf(m, sets[(g+i)%2]).Observe(1)
			}
		})
	}
	wg.Wait()
	for _, s := range sets {
		if got := testutil.CollectAndCount(m.latency); got != 2 {
			t.Fatalf("%d latency series, want 2", got)
		}
		var pb dto.Metric
		if err := m.latency.WithLabelValues(s...).(prometheus.Histogram).Write(&pb); err != nil {
			t.Fatal(err)
		}
		if n := pb.GetHistogram().GetSampleCount(); n != 2000 {
			t.Errorf("series %v: %d observations, want 2000", s[len(s)-1], n)
		}
	}
}
