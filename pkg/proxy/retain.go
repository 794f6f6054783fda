package proxy

import (
	"context"
	"hash/fnv"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// idleSeries forgets the series that have not moved for a while, as
// Linkerd's proxy does after LINKERD2_PROXY_METRICS_RETAIN_IDLE. The
// labels name endpoints (target_addr, dst_pod) and authorities, and pods
// come and go: without this a long-lived proxy would keep a series for
// every pod it ever talked to, its memory and every scrape growing with
// the cluster's history, and the authority label would stay "overflow"
// once its bound was reached.
//
// A series moved when its value (a counter's or gauge's value, a
// histogram's count) differs from the last sweep's. The series of an open
// TCP connection stay whatever their values: the connection holds them
// and counts into them until it closes. Sweeps run on one goroutine.
type idleSeries struct {
	m      *metrics
	retain time.Duration
	// seen is the value and the time it was first seen of every series
	// at the last sweep, by a hash of its vector and labels (64 bits
	// rather than the labels themselves: a proxy may hold thousands).
	seen map[uint64]seriesMark
}

type seriesMark struct {
	value float64
	since time.Time
}

// deletableVec is a metric vector: CounterVec, GaugeVec or HistogramVec.
type deletableVec interface {
	prometheus.Collector
	Delete(prometheus.Labels) bool
}

// expirable are the vectors whose series the sweeps may delete: those
// labelled by endpoint, authority or route. The ones labelled by
// direction alone stay; their series are few and fixed.
func (m *metrics) expirable() []deletableVec {
	return []deletableVec{
		m.requests, m.responses, m.latency,
		m.tcpOpen, m.tcpClose, m.tcpOpenConn, m.tcpRead, m.tcpWrite, m.tcpDuration,
		m.routeRequests, m.routeResponses, m.routeLatency, m.routeActualRequests, m.routeActualResponses, m.routeRetriesSkipped,
	}
}

func newIdleSeries(m *metrics, retain time.Duration) *idleSeries {
	return &idleSeries{m: m, retain: retain, seen: map[uint64]seriesMark{}}
}

// run sweeps every tenth of the retention (between 1 s and 1 min) until
// ctx ends.
func (s *idleSeries) run(ctx context.Context) {
	every := min(max(s.retain/10, time.Second), time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.sweep(now)
		}
	}
}

// sweep deletes the series unchanged for the retention and returns how
// many it deleted.
func (s *idleSeries) sweep(now time.Time) int {
	m := s.m
	open := map[string]bool{} // tcp label sets with a connection open
	collect(m.tcpOpenConn, func(labels []*dto.LabelPair, v float64) {
		if v > 0 {
			open[labelKey(labels)] = true
		}
	})
	// Series held by open connections: the tcp vectors whose labels are
	// exactly the connection's (tcp_close_total and the duration carry
	// errno too, and are only touched when a connection closes).
	held := map[deletableVec]bool{m.tcpOpen: true, m.tcpOpenConn: true, m.tcpRead: true, m.tcpWrite: true}
	seen := make(map[uint64]seriesMark, len(s.seen))
	deleted := 0
	authorities := map[string]struct{}{}
	for i, vec := range m.expirable() {
		collect(vec, func(labels []*dto.LabelPair, v float64) {
			lk := labelKey(labels)
			key := seriesHash(i, lk)
			mark, ok := s.seen[key]
			switch {
			case !ok || mark.value != v:
				mark = seriesMark{value: v, since: now}
			case now.Sub(mark.since) >= s.retain && !(held[vec] && open[lk]):
				// Generation first: a connection that remembered this
				// series looks it up again rather than count into a
				// deleted one (seriesIn).
				m.generation.Add(1)
				vec.Delete(labelMap(labels))
				deleted++
				return
			}
			seen[key] = mark
			if vec == deletableVec(m.requests) {
				for _, l := range labels {
					if l.GetName() == "authority" {
						authorities[l.GetValue()] = struct{}{}
					}
				}
			}
		})
	}
	s.seen = seen
	m.seriesExpired.Add(float64(deleted))
	if deleted > 0 {
		// Authorities no request series names any more make room under
		// the label's bound again.
		m.authorities.retain(authorities)
	}
	return deleted
}

// collect calls f with the labels and value of every series of vec.
func collect(vec prometheus.Collector, f func([]*dto.LabelPair, float64)) {
	ch := make(chan prometheus.Metric, 64)
	go func() {
		vec.Collect(ch)
		close(ch)
	}()
	for metric := range ch {
		var d dto.Metric
		if err := metric.Write(&d); err != nil {
			continue
		}
		var v float64
		switch {
		case d.Counter != nil:
			v = d.Counter.GetValue()
		case d.Gauge != nil:
			v = d.Gauge.GetValue()
		case d.Histogram != nil:
			v = float64(d.Histogram.GetSampleCount())
		}
		f(d.GetLabel(), v)
	}
}

// seriesHash identifies a series by its vector's place in expirable and
// its labelKey.
func seriesHash(vec int, labels string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte{byte(vec)})
	_, _ = h.Write([]byte(labels))
	return h.Sum64()
}

// labelKey is a series' labels as one string, in name order.
func labelKey(labels []*dto.LabelPair) string {
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = l.GetName() + "=" + strings.ReplaceAll(l.GetValue(), ",", `\,`)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func labelMap(labels []*dto.LabelPair) prometheus.Labels {
	out := make(prometheus.Labels, len(labels))
	for _, l := range labels {
		out[l.GetName()] = l.GetValue()
	}
	return out
}
