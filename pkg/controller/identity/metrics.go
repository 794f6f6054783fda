package identity

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the identity controller's own series.
type metrics struct {
	issued        prometheus.Counter
	rejected      *prometheus.CounterVec
	latency       prometheus.Histogram
	issuerRefused prometheus.Counter
}

// newMetrics registers the controller's metrics on reg. expiry reports the
// current issuer's NotAfter (zero when none is loaded).
func newMetrics(reg prometheus.Registerer, expiry func() time.Time, now func() time.Time) (*metrics, error) {
	m := &metrics{
		issued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshctl_identity_certificates_issued_total",
			Help: "Workload certificates the identity controller signed.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshctl_identity_certificates_rejected_total",
			Help: "Certificate requests the identity controller refused, by reason.",
		}, []string{"reason"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "meshctl_identity_certify_duration_seconds",
			Help:    "Time to answer one Certify call, token review included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		issuerRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshctl_identity_issuer_refused_total",
			Help: "Issuer loads refused (expired, not a CA, key mismatch, not chaining to the trust anchors).",
		}),
	}
	untilExpiry := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "meshctl_identity_issuer_expiry_seconds",
		Help: "Seconds until the current issuer certificate expires; negative once expired, 0 when none is loaded.",
	}, func() float64 {
		t := expiry()
		if t.IsZero() {
			return 0
		}
		return t.Sub(now()).Seconds()
	})
	// Every refusal reason is exported at zero from the start, so alerts
	// can use rate() on them before the first refusal.
	for _, r := range allReasons() {
		m.rejected.WithLabelValues(r)
	}
	for _, c := range []prometheus.Collector{m.issued, m.rejected, m.latency, m.issuerRefused, untilExpiry} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register identity metrics: %w", err)
		}
	}
	return m, nil
}

func allReasons() []string {
	return []string{ReasonNoToken, ReasonReviewFailed, ReasonUnauthentic, ReasonAudience, ReasonNotSA,
		ReasonIdentityMismatch, ReasonBadCSR, ReasonRateLimited, ReasonNoIssuer, ReasonSigningFailed}
}
