package viz

import (
	"errors"
	"slices"
	"sort"
)

// Metric and label names of the proxy (docs/conventions.md).
const (
	metricResponses   = "response_total"
	metricLatency     = "response_latency_ms"
	metricTCPOpenConn = "tcp_open_connections"
	metricTCPOpen     = "tcp_open_total"
	metricTCPRead     = "tcp_read_bytes_total"
	metricTCPWrite    = "tcp_write_bytes_total"

	labelDirection      = "direction"
	labelClassification = "classification"
	labelPeer           = "peer"
	labelTargetAddr     = "target_addr"
	labelDstService     = "dst_service"
	labelDstNamespace   = "dst_namespace"
)

// StatOptions say what Stat reports.
type StatOptions struct {
	// Selection picks the rows.
	Selection Selection
	// From, when set, reports only the traffic the rows received from
	// these resources, as seen by the sources' outbound proxies.
	From *Selection
	// To, when set, reports only the traffic the rows sent to these
	// resources, as seen by the rows' outbound proxies.
	To *Selection
	// Unmeshed also lists resources without meshed pods.
	Unmeshed bool
}

// StatRow is one resource's traffic over the window.
type StatRow struct {
	Resource   Resource
	MeshedPods int
	TotalPods  int
	// Stats is nil when no proxy the row depends on could be scraped.
	Stats *Stats
}

// Stats are a resource's golden metrics over the window.
type Stats struct {
	// Requests is the number of responses in the window, Successes those
	// classified success (not 5xx, no error, gRPC status 0).
	Requests, Successes float64
	// RPS is Requests per second of window.
	RPS float64
	// LatencyP50, P95 and P99 are response latency quantiles in ms,
	// estimated from the histogram buckets; nil without requests.
	LatencyP50, LatencyP95, LatencyP99 *float64
	// TCPOpenConnections is the number of connections open at the end.
	TCPOpenConnections float64
	// ReadBytesRate and WriteBytesRate are bytes per second read from and
	// written to the peers.
	ReadBytesRate, WriteBytesRate float64
}

// SuccessRate is Successes/Requests, and false without requests.
func (s *Stats) SuccessRate() (float64, bool) {
	if s == nil || s.Requests == 0 {
		return 0, false
	}
	return s.Successes / s.Requests, true
}

// Stat computes one row per selected resource from the snapshot.
//
// Without From or To, a row's numbers are its pods' inbound metrics: the
// requests it served. With To, they are the row's own outbound metrics
// whose target address belongs to a pod of To; with From, the outbound
// metrics of From's pods whose target address belongs to a pod of the row.
//
// Rows of Services (KindService) are what their clients sent them: see
// statServices. With To a Service, a row's numbers are its outbound
// metrics to that Service.
func Stat(snap *Snapshot, opts StatOptions) ([]StatRow, error) {
	if opts.From != nil && opts.To != nil {
		return nil, errors.New("--from and --to exclude each other: pick one")
	}
	if opts.From != nil && opts.From.Kind == KindService {
		return nil, errors.New("--from cannot be a service, which sends nothing itself: stat the service with --from its clients, or the clients with --to svc/NAME")
	}
	if opts.Selection.Kind == KindService {
		return statServices(snap, opts)
	}
	rows := map[Resource]*statAcc{}
	for _, p := range snap.Pods {
		r, ok := opts.Selection.ResourceOf(p)
		if !ok {
			continue
		}
		acc := rows[r]
		if acc == nil {
			acc = newStatAcc()
			rows[r] = acc
		}
		acc.total++
		if p.Meshed {
			acc.meshed++
		}
	}
	ips := podsByIP(snap.Pods)
	for _, sc := range snap.Scrapes {
		if sc.Err != nil {
			continue
		}
		switch {
		case opts.From != nil:
			if _, ok := opts.From.ResourceOf(sc.Pod); !ok {
				continue
			}
			for _, acc := range rows {
				acc.scraped = true // every row heard from the sources
			}
			addScrape(sc, outboundFilter, func(l map[string]string) *statAcc {
				dst, ok := ips.resolve(l[labelTargetAddr])
				if !ok {
					return nil
				}
				r, ok := opts.Selection.ResourceOf(dst)
				if !ok {
					return nil
				}
				return rows[r]
			})
		default:
			r, ok := opts.Selection.ResourceOf(sc.Pod)
			if !ok || rows[r] == nil {
				continue
			}
			acc := rows[r]
			acc.scraped = true
			pick := func(map[string]string) *statAcc { return acc }
			filter := inboundFilter
			if opts.To != nil && opts.To.Kind == KindService {
				filter = outboundFilter
				pick = func(l map[string]string) *statAcc {
					if _, ok := opts.To.serviceOf(l); !ok {
						return nil
					}
					return acc
				}
			} else if opts.To != nil {
				filter = outboundFilter
				pick = func(l map[string]string) *statAcc {
					dst, ok := ips.resolve(l[labelTargetAddr])
					if !ok {
						return nil
					}
					if _, ok := opts.To.ResourceOf(dst); !ok {
						return nil
					}
					return acc
				}
			}
			addScrape(sc, filter, pick)
		}
	}
	out := make([]StatRow, 0, len(rows))
	for r, acc := range rows {
		if acc.meshed == 0 && !opts.Unmeshed && opts.From == nil {
			continue
		}
		out = append(out, StatRow{Resource: r, MeshedPods: acc.meshed, TotalPods: acc.total, Stats: acc.stats()})
	}
	sort.Slice(out, func(i, j int) bool { return lessResource(out[i].Resource, out[j].Resource) })
	return out, nil
}

// statServices computes one row per Service from its clients' outbound
// metrics, as Linkerd's stat of services does: every scraped pod is a
// client (with From, only From's pods), and a series belongs to the
// Service its dst_service and dst_namespace labels name. Services named in
// the selection have a row even without traffic; others appear when some
// client sent them something. A Service has no pods of its own to count,
// so MeshedPods and TotalPods stay 0 (MESHED shows "-").
func statServices(snap *Snapshot, opts StatOptions) ([]StatRow, error) {
	if opts.To != nil {
		return nil, errors.New("--to does not apply to services: stat the clients instead, with --to svc/NAME")
	}
	sel := opts.Selection
	rows := map[Resource]*statAcc{}
	heard := false
	for _, sc := range snap.Scrapes {
		if sc.Err != nil {
			continue
		}
		if opts.From != nil {
			if _, ok := opts.From.ResourceOf(sc.Pod); !ok {
				continue
			}
		}
		heard = true
		addScrape(sc, outboundFilter, func(l map[string]string) *statAcc {
			r, ok := sel.serviceOf(l)
			if !ok {
				return nil
			}
			acc := rows[r]
			if acc == nil {
				acc = newStatAcc()
				rows[r] = acc
			}
			return acc
		})
	}
	if sel.Namespace != "" {
		for _, n := range sel.Names {
			r := Resource{Kind: KindService, Namespace: sel.Namespace, Name: n}
			if rows[r] == nil {
				rows[r] = newStatAcc()
			}
		}
	}
	out := make([]StatRow, 0, len(rows))
	for r, acc := range rows {
		acc.scraped = heard
		out = append(out, StatRow{Resource: r, Stats: acc.stats()})
	}
	sort.Slice(out, func(i, j int) bool { return lessResource(out[i].Resource, out[j].Resource) })
	return out, nil
}

// serviceOf returns the Service a client's outbound series went to, when
// the selection (of KindService) picks it.
func (s Selection) serviceOf(l map[string]string) (Resource, bool) {
	name, ns := l[labelDstService], l[labelDstNamespace]
	if name == "" || ns == "" || (s.Namespace != "" && ns != s.Namespace) || (len(s.Names) > 0 && !slices.Contains(s.Names, name)) {
		return Resource{}, false
	}
	return Resource{Kind: KindService, Namespace: ns, Name: name}, true
}

func lessResource(a, b Resource) bool {
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	return a.Name < b.Name
}

// seriesFilter picks the series of one direction; tcp reports whether the
// series is a TCP one, whose peer label tells the two sides apart.
type seriesFilter func(labels map[string]string, tcp bool) bool

// inboundFilter keeps the requests a pod served and the connections its
// clients opened to it (peer="src"), as Linkerd's stat does.
func inboundFilter(l map[string]string, tcp bool) bool {
	return l[labelDirection] == "inbound" && (!tcp || l[labelPeer] == "src")
}

// outboundFilter keeps what a pod sent and the connections its proxy
// opened to the destinations (peer="dst").
func outboundFilter(l map[string]string, tcp bool) bool {
	return l[labelDirection] == "outbound" && (!tcp || l[labelPeer] == "dst")
}

// statAcc accumulates one row.
type statAcc struct {
	meshed, total int
	scraped       bool

	requests, successes, rps float64
	buckets                  map[float64]float64
	openConns, read, write   float64
}

func newStatAcc() *statAcc { return &statAcc{buckets: map[float64]float64{}} }

// addScrape adds the series of one pod that filter keeps to the row that
// pick names (nil: skip the series).
func addScrape(sc Scrape, filter seriesFilter, pick func(map[string]string) *statAcc) {
	secs := sc.Window().Seconds()
	for _, s := range counterIncreases(sc.Start, sc.End, metricResponses) {
		if acc := pickIf(s.labels, false, filter, pick); acc != nil {
			acc.requests += s.value
			acc.rps += s.value / secs
			if s.labels[labelClassification] == "success" {
				acc.successes += s.value
			}
		}
	}
	for _, s := range histogramIncreases(sc.Start, sc.End, metricLatency) {
		if acc := pickIf(s.labels, false, filter, pick); acc != nil {
			addBuckets(acc.buckets, s.buckets)
		}
	}
	for _, s := range gaugeValues(sc.End, metricTCPOpenConn) {
		if acc := pickIf(s.labels, true, filter, pick); acc != nil {
			acc.openConns += s.value
		}
	}
	for _, s := range counterIncreases(sc.Start, sc.End, metricTCPRead) {
		if acc := pickIf(s.labels, true, filter, pick); acc != nil {
			acc.read += s.value / secs
		}
	}
	for _, s := range counterIncreases(sc.Start, sc.End, metricTCPWrite) {
		if acc := pickIf(s.labels, true, filter, pick); acc != nil {
			acc.write += s.value / secs
		}
	}
}

func pickIf(l map[string]string, tcp bool, filter seriesFilter, pick func(map[string]string) *statAcc) *statAcc {
	if !filter(l, tcp) {
		return nil
	}
	return pick(l)
}

func (a *statAcc) stats() *Stats {
	if !a.scraped {
		return nil
	}
	s := &Stats{
		Requests: a.requests, Successes: a.successes, RPS: a.rps,
		TCPOpenConnections: a.openConns, ReadBytesRate: a.read, WriteBytesRate: a.write,
	}
	if a.requests > 0 {
		s.LatencyP50 = quantile(0.50, a.buckets)
		s.LatencyP95 = quantile(0.95, a.buckets)
		s.LatencyP99 = quantile(0.99, a.buckets)
	}
	return s
}

func quantile(q float64, buckets map[float64]float64) *float64 {
	v, ok := histogramQuantile(q, buckets)
	if !ok {
		return nil
	}
	return &v
}
