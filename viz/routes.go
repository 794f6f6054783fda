package viz

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
)

// Per-route metric and label names of the proxy. It records them only for
// requests whose target Service has a ServiceProfile.
const (
	metricRouteResponses       = "route_response_total"
	metricRouteActualResponses = "route_actual_response_total"
	metricRouteLatency         = "route_response_latency_ms"

	// labelDst is the Service's authority, NAME.NAMESPACE.svc.DOMAIN:PORT.
	labelDst = "dst"
	// labelRoute is the ServiceProfile route's name; empty when the
	// request matched none of its routes.
	labelRoute = "rt_route"
)

// DefaultRoute names the row of the requests that matched no route of the
// ServiceProfile (rt_route=""), as Linkerd does.
const DefaultRoute = "[DEFAULT]"

// RoutesOptions say what Routes reports.
type RoutesOptions struct {
	// Selection picks the pods whose proxies report. A Service selection
	// (KindService) picks every scraped pod but keeps only the series whose
	// dst is one of its Services.
	Selection Selection
	// To, a Service selection, turns the report to the client side: the
	// selected pods' outbound requests to these Services. Without it,
	// Routes reports the server side: the requests the pods served.
	To *Selection
}

// Validate rejects what Routes cannot report.
func (o RoutesOptions) Validate() error {
	switch o.Selection.Kind {
	case KindNamespace, KindAll:
		return fmt.Errorf("viz routes takes deploy, sts, ds, job, cronjob, rs, rc, po or svc, not %s", o.Selection.Kind)
	}
	if o.To == nil {
		return nil
	}
	if o.To.Kind != KindService {
		return fmt.Errorf("--to %s: routes belong to a Service's ServiceProfile: name the service, as --to svc/NAME", o.To.Kind.ShortName())
	}
	if o.Selection.Kind == KindService {
		return errors.New("--to needs a client, and a service sends nothing itself: name the workload behind it (for example deploy/NAME)")
	}
	return nil
}

// RouteCounts are the responses of one route over the window.
type RouteCounts struct {
	// Requests is the number of responses, Successes those the route's
	// response classes call success (by default: not 5xx, and a response
	// at all).
	Requests, Successes float64
	// RPS is Requests per second of window.
	RPS float64
}

// SuccessRate is Successes/Requests, and false without requests.
func (c *RouteCounts) SuccessRate() (float64, bool) {
	if c == nil || c.Requests == 0 {
		return 0, false
	}
	return c.Successes / c.Requests, true
}

// RouteRow is one route of one Service over the window.
type RouteRow struct {
	// Route is the ServiceProfile route's name, "" for the requests that
	// matched none (see Name).
	Route string
	// Service and Namespace are the Service's, parsed from the dst label;
	// Namespace is empty when dst is not NAME.NAMESPACE.svc.DOMAIN.
	Service, Namespace string
	// Authority is dst without its port: the ServiceProfile's name.
	Authority string
	// Effective counts the requests as the clients saw them.
	Effective RouteCounts
	// Actual counts the attempts sent to the servers, retries included; nil
	// when the proxies report none (inbound: the server side sees each
	// attempt as a request).
	Actual *RouteCounts
	// LatencyP50, P95 and P99 are response latency quantiles in ms of the
	// effective requests; nil without requests.
	LatencyP50, LatencyP95, LatencyP99 *float64
}

// Name is the route's name as shown: DefaultRoute for unmatched requests.
func (r RouteRow) Name() string {
	if r.Route == "" {
		return DefaultRoute
	}
	return r.Route
}

// Routes computes one row per (route, Service) from the route_* series of
// the selected pods: their inbound series (the requests they served), or
// with To their outbound series to To's Services. A row exists when a
// series does, even without requests in the window; there are none for
// Services without a ServiceProfile.
func Routes(snap *Snapshot, opts RoutesOptions) ([]RouteRow, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	keep := routeSeriesFilter(opts)
	rows := map[routeKey]*routeAcc{}
	for _, sc := range snap.Scrapes {
		if sc.Err != nil {
			continue
		}
		if opts.Selection.Kind != KindService {
			if _, ok := opts.Selection.ResourceOf(sc.Pod); !ok {
				continue
			}
		}
		addRouteScrape(sc, rows, keep)
	}
	out := make([]RouteRow, 0, len(rows))
	for _, acc := range rows {
		out = append(out, acc.result())
	}
	sort.Slice(out, func(i, j int) bool { return lessRoute(out[i], out[j]) })
	return out, nil
}

// routeSeriesFilter returns which series of a selected pod count: inbound
// ones (to the selected Services, for a Service selection), or outbound
// ones to To's Services.
func routeSeriesFilter(opts RoutesOptions) func(map[string]string) bool {
	direction, services := "inbound", (*Selection)(nil)
	if opts.Selection.Kind == KindService {
		services = &opts.Selection
	}
	if opts.To != nil {
		direction, services = "outbound", opts.To
	}
	return func(l map[string]string) bool {
		if l[labelDirection] != direction {
			return false
		}
		return services == nil || services.picksAuthority(l[labelDst])
	}
}

// picksAuthority reports whether a Service selection picks the Service
// named by an authority NAME.NAMESPACE.svc.DOMAIN[:PORT].
func (s Selection) picksAuthority(dst string) bool {
	name, ns, _ := parseAuthority(dst)
	if ns == "" {
		return false
	}
	return (s.Namespace == "" || ns == s.Namespace) && (len(s.Names) == 0 || slices.Contains(s.Names, name))
}

// parseAuthority splits a Service authority NAME.NAMESPACE.svc.DOMAIN:PORT
// into the Service's name and namespace and the host (the ServiceProfile's
// name). Another authority is its own service name, without namespace.
func parseAuthority(dst string) (name, namespace, host string) {
	host = dst
	if h, _, err := net.SplitHostPort(dst); err == nil {
		host = h
	}
	parts := strings.Split(host, ".")
	if len(parts) >= 3 && parts[2] == "svc" && parts[0] != "" && parts[1] != "" {
		return parts[0], parts[1], host
	}
	return host, "", host
}

// routeKey identifies a row: a route of a Service (by its authority host).
type routeKey struct{ route, host string }

// routeAcc accumulates one row.
type routeAcc struct {
	row     RouteRow
	buckets map[float64]float64
}

// addRouteScrape adds the route series of one pod that keep accepts.
func addRouteScrape(sc Scrape, rows map[routeKey]*routeAcc, keep func(map[string]string) bool) {
	secs := sc.Window().Seconds()
	acc := func(l map[string]string) *routeAcc {
		if !keep(l) {
			return nil
		}
		name, ns, host := parseAuthority(l[labelDst])
		k := routeKey{route: l[labelRoute], host: host}
		a := rows[k]
		if a == nil {
			a = &routeAcc{
				row:     RouteRow{Route: k.route, Service: name, Namespace: ns, Authority: host},
				buckets: map[float64]float64{},
			}
			rows[k] = a
		}
		return a
	}
	count := func(c *RouteCounts, s sample) {
		c.Requests += s.value
		c.RPS += s.value / secs
		if s.labels[labelClassification] == "success" {
			c.Successes += s.value
		}
	}
	for _, s := range counterIncreases(sc.Start, sc.End, metricRouteResponses) {
		if a := acc(s.labels); a != nil {
			count(&a.row.Effective, s)
		}
	}
	for _, s := range counterIncreases(sc.Start, sc.End, metricRouteActualResponses) {
		if a := acc(s.labels); a != nil {
			if a.row.Actual == nil {
				a.row.Actual = &RouteCounts{}
			}
			count(a.row.Actual, s)
		}
	}
	for _, s := range histogramIncreases(sc.Start, sc.End, metricRouteLatency) {
		if a := acc(s.labels); a != nil {
			addBuckets(a.buckets, s.buckets)
		}
	}
}

func (a *routeAcc) result() RouteRow {
	r := a.row
	if r.Effective.Requests > 0 {
		r.LatencyP50 = quantile(0.50, a.buckets)
		r.LatencyP95 = quantile(0.95, a.buckets)
		r.LatencyP99 = quantile(0.99, a.buckets)
	}
	return r
}

// lessRoute orders rows by Service, then by route name, the unmatched
// requests' row last.
func lessRoute(a, b RouteRow) bool {
	for _, c := range [][2]string{{a.Namespace, b.Namespace}, {a.Service, b.Service}, {a.Authority, b.Authority}} {
		if c[0] != c[1] {
			return c[0] < c[1]
		}
	}
	if (a.Route == "") != (b.Route == "") {
		return b.Route == ""
	}
	return a.Route < b.Route
}
