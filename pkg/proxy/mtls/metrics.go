package mtls

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics use linkerd2-proxy's names so that its alerts and dashboards work.
type metrics struct {
	expiry    prometheus.Gauge
	refreshes prometheus.Counter
	failures  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		expiry: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "identity_cert_expiration_timestamp_seconds",
			Help: "Time when this proxy's current certificate expires, in seconds since the Unix epoch; 0 before the first.",
		}),
		refreshes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "identity_cert_refresh_count",
			Help: "Certificate requests this proxy made to the identity service.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "identity_cert_refresh_failures_total",
			Help: "Certificate requests that failed or returned an unusable certificate.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.expiry, m.refreshes, m.failures} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("mtls: register metrics: %w", err)
		}
	}
	return m, nil
}
