package proxy

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// latencyBucketsMs are Linkerd's response_latency_ms buckets, so that
// histogram_quantile queries and dashboards written for Linkerd work as is.
func latencyBucketsMs() []float64 {
	return []float64{1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000}
}

// durationBucketsMs are the buckets of tcp_connection_duration_ms.
func durationBucketsMs() []float64 {
	return []float64{1, 10, 100, 1000, 10000, 60000, 300000, 1800000, 3600000}
}

// dstLabelNames are the destination's labels on outbound series, as the
// destination controller names them (Linkerd's names, so that dashboards
// grouping by dst_deployment or dst_service work). Inbound series leave
// them empty, which Prometheus treats as absent.
func dstLabelNames() []string {
	return []string{"dst_namespace", "dst_service", "dst_pod", "dst_serviceaccount", "dst_deployment", "dst_statefulset", "dst_daemonset"}
}

// Label names shared by the HTTP and TCP metrics (conventions.md).
func connLabelNames() []string {
	return append([]string{"direction", "target_addr", "tls", "no_tls_reason", "client_id", "server_id"}, dstLabelNames()...)
}

// dstValues are the values of dstLabelNames from an endpoint's labels.
func dstValues(labels map[string]string) []string {
	if len(labels) == 0 {
		return nil
	}
	names := dstLabelNames()
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = labels[n]
	}
	return out
}

func httpLabelNames() []string { return append(connLabelNames(), "authority") }

func latencyLabelNames() []string { return append(httpLabelNames(), "status_code") }

func responseLabelNames() []string {
	return append(httpLabelNames(), "status_code", "classification", "grpc_status", "error")
}

func tcpLabelNames() []string { return append(connLabelNames(), "peer") }

func tcpCloseLabelNames() []string { return append(tcpLabelNames(), "errno") }

// metrics are the proxy's Prometheus series, registered on the proxy's own
// registry (never the global one).
type metrics struct {
	requests    *prometheus.CounterVec
	responses   *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	tcpOpen     *prometheus.CounterVec
	tcpClose    *prometheus.CounterVec
	tcpOpenConn *prometheus.GaugeVec
	tcpRead     *prometheus.CounterVec
	tcpWrite    *prometheus.CounterVec
	tcpDuration *prometheus.HistogramVec
	tlsFailures *prometheus.CounterVec
	// connectRetries counts connects retried on another endpoint.
	connectRetries *prometheus.CounterVec

	authorities *boundedLabel
	// generation changes whenever idle series are deleted (retain.go),
	// so that the series connections remember are looked up again.
	generation atomic.Uint64
	// seriesExpired counts the series deleted for being idle.
	seriesExpired prometheus.Counter

	// Route metrics, for requests to a Service with a ServiceProfile:
	// what the client saw (request, response, latency) and, outbound,
	// every attempt sent (actual), so retries show.
	routeRequests        *prometheus.CounterVec
	routeResponses       *prometheus.CounterVec
	routeLatency         *prometheus.HistogramVec
	routeActualRequests  *prometheus.CounterVec
	routeActualResponses *prometheus.CounterVec
	// routeRetriesSkipped counts retries the budget refused.
	routeRetriesSkipped *prometheus.CounterVec
}

// routeLabelNames are the labels of route_request_total, as Linkerd names
// them: dst is the Service port's authority, rt_route the route's name
// ("" for requests no route matched).
func routeLabelNames() []string { return []string{"direction", "dst", "rt_route"} }

func routeResponseLabelNames() []string {
	return append(routeLabelNames(), "status_code", "classification")
}

func newMetrics(reg prometheus.Registerer, maxAuthorities int) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "request_total", Help: "Total count of HTTP requests.",
		}, httpLabelNames()),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "response_total", Help: "Total count of HTTP responses.",
		}, responseLabelNames()),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "response_latency_ms", Help: "Elapsed times between a request's headers being received and its response's headers being sent, in milliseconds.",
			Buckets: latencyBucketsMs(),
		}, latencyLabelNames()),
		tcpOpen: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tcp_open_total", Help: "Total count of opened TCP connections.",
		}, tcpLabelNames()),
		tcpClose: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tcp_close_total", Help: "Total count of closed TCP connections.",
		}, tcpCloseLabelNames()),
		tcpOpenConn: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tcp_open_connections", Help: "Number of currently open TCP connections.",
		}, tcpLabelNames()),
		tcpRead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tcp_read_bytes_total", Help: "Total count of bytes read from peers.",
		}, tcpLabelNames()),
		tcpWrite: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tcp_write_bytes_total", Help: "Total count of bytes written to peers.",
		}, tcpLabelNames()),
		tcpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tcp_connection_duration_ms", Help: "Connection lifetimes, in milliseconds.",
			Buckets: durationBucketsMs(),
		}, tcpCloseLabelNames()),
		tlsFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshctl_proxy_tls_handshake_failures_total", Help: "mTLS handshakes with meshed peers that failed (wrong identity, untrusted or expired certificate, timeout).",
		}, []string{"direction"}),
		connectRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshctl_proxy_connect_retries_total", Help: "Connects retried on another endpoint after a failed connect (refused, timed out, or identity not proved).",
		}, []string{"direction"}),
		authorities: newBoundedLabel(maxAuthorities),
		seriesExpired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshctl_proxy_metrics_series_expired_total", Help: "Metric series deleted after they had not moved for the retention (MESHCTL_PROXY_METRICS_RETAIN_IDLE).",
		}),
		routeRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "route_request_total", Help: "Total count of HTTP requests, by ServiceProfile route.",
		}, routeLabelNames()),
		routeResponses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "route_response_total", Help: "Total count of HTTP responses, by ServiceProfile route, classified by the route's response classes.",
		}, routeResponseLabelNames()),
		routeLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "route_response_latency_ms", Help: "Elapsed times between a request's headers being received and its response's headers being sent, by ServiceProfile route, in milliseconds.",
			Buckets: latencyBucketsMs(),
		}, append(routeLabelNames(), "status_code")),
		routeActualRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "route_actual_request_total", Help: "Total count of HTTP requests sent to servers, retries included, by ServiceProfile route.",
		}, routeLabelNames()),
		routeActualResponses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "route_actual_response_total", Help: "Total count of HTTP responses from servers, retried ones included, by ServiceProfile route.",
		}, routeResponseLabelNames()),
		routeRetriesSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshctl_proxy_route_retries_skipped_total", Help: "Failed requests of retryable routes not retried because the retry budget was spent.",
		}, []string{"dst", "rt_route"}),
	}
	reg.MustRegister(m.requests, m.responses, m.latency, m.tcpOpen, m.tcpClose, m.tcpOpenConn, m.tcpRead, m.tcpWrite, m.tcpDuration, m.tlsFailures, m.connectRetries,
		m.routeRequests, m.routeResponses, m.routeLatency, m.routeActualRequests, m.routeActualResponses, m.routeRetriesSkipped, m.seriesExpired)
	return m
}

// tlsLabels are the tls, no_tls_reason, client_id and server_id label values
// of one connection.
type tlsLabels struct {
	tls, noTLSReason, clientID, serverID string
}

// plaintextLabels describes a connection without mTLS, with Linkerd's reasons.
func plaintextLabels(d Direction) tlsLabels {
	if d == Inbound {
		return tlsLabels{tls: "no_identity", noTLSReason: "no_tls_from_remote"}
	}
	return tlsLabels{tls: "no_identity", noTLSReason: "not_provided_by_service_discovery"}
}

// boundedLabel keeps the set of values a label may take bounded: the first
// max distinct values are kept, later ones become "overflow".
type boundedLabel struct {
	mu   sync.Mutex
	max  int
	seen map[string]struct{}
}

func newBoundedLabel(maxValues int) *boundedLabel {
	return &boundedLabel{max: maxValues, seen: map[string]struct{}{}}
}

// retain forgets the values not in keep, making room for new ones.
func (b *boundedLabel) retain(keep map[string]struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for v := range b.seen {
		if _, ok := keep[v]; !ok {
			delete(b.seen, v)
		}
	}
}

func (b *boundedLabel) value(v string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.seen[v]; ok {
		return v
	}
	if len(b.seen) >= b.max {
		return "overflow"
	}
	b.seen[v] = struct{}{}
	return v
}

// statusLabel is the status_code label of code, empty for none.
func statusLabel(code int) string {
	// The common codes without strconv, which allocates every number
	// above 99: this runs for every response.
	switch code {
	case 0:
		return ""
	case http.StatusOK:
		return "200"
	case http.StatusCreated:
		return "201"
	case http.StatusNoContent:
		return "204"
	case http.StatusMovedPermanently:
		return "301"
	case http.StatusFound:
		return "302"
	case http.StatusNotModified:
		return "304"
	case http.StatusBadRequest:
		return "400"
	case http.StatusUnauthorized:
		return "401"
	case http.StatusForbidden:
		return "403"
	case http.StatusNotFound:
		return "404"
	case http.StatusTooManyRequests:
		return "429"
	case http.StatusInternalServerError:
		return "500"
	case http.StatusBadGateway:
		return "502"
	case http.StatusServiceUnavailable:
		return "503"
	case http.StatusGatewayTimeout:
		return "504"
	}
	return strconv.Itoa(code)
}
