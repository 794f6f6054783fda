package injector

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Admission results, the result label of meshctl_injector_admissions_total.
const (
	resultInjected = "injected"
	resultSkipped  = "skipped"
	resultError    = "error"
)

type metrics struct {
	admissions *prometheus.CounterVec
	latency    prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		admissions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshctl_injector_admissions_total",
			Help: "Pod admissions the injector answered, by result (injected, skipped, error) and reason.",
		}, []string{"result", "reason"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "meshctl_injector_admission_duration_seconds",
			Help:    "Time the injector took to answer an admission review.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
	}
	for _, c := range []prometheus.Collector{m.admissions, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register injector metrics: %w", err)
		}
	}
	return m, nil
}
