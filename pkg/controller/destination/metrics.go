package destination

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the destination controller's own series.
type metrics struct {
	streams  prometheus.Gauge
	updates  prometheus.Counter
	lookups  *prometheus.CounterVec
	refused  *prometheus.CounterVec
	timeouts prometheus.Counter
}

// Kinds as metric label values.
const (
	kindPod     = "pod"
	kindService = "service"
	kindUnknown = "unknown"
)

// Reasons a Get stream is refused, as metric label values.
const (
	refusedBadTarget = "bad-target"
	refusedNotSynced = "not-synced"
	refusedTooMany   = "too-many-streams"
)

// newMetrics registers the controller's metrics on reg.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meshctl_destination_streams_open",
			Help: "Get streams currently open.",
		}),
		updates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshctl_destination_updates_sent_total",
			Help: "Endpoint snapshots sent on Get streams.",
		}),
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshctl_destination_lookups_total",
			Help: "Get streams opened, by what the target first resolved to (pod, service, unknown).",
		}, []string{"kind"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshctl_destination_streams_refused_total",
			Help: "Get streams refused, by reason.",
		}, []string{"reason"}),
		timeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshctl_destination_send_timeouts_total",
			Help: "Get streams ended because a client did not take a snapshot within the send timeout.",
		}),
	}
	// Every label value is exported at zero from the start, so alerts can
	// use rate() before the first event.
	for _, k := range []string{kindPod, kindService, kindUnknown} {
		m.lookups.WithLabelValues(k)
	}
	for _, r := range []string{refusedBadTarget, refusedNotSynced, refusedTooMany} {
		m.refused.WithLabelValues(r)
	}
	for _, c := range []prometheus.Collector{m.streams, m.updates, m.lookups, m.refused, m.timeouts} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register destination metrics: %w", err)
		}
	}
	return m, nil
}
