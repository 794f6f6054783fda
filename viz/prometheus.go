package viz

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"
)

// Prometheus is a Source over a Prometheus server that scrapes the proxies.
// It asks for each series' increase() over Window (and the current value of
// gauges) and presents the answer as a scrape pair whose start is empty and
// whose end holds the increases, so that Stat, Edges and Routes compute
// exactly as for the other sources. Prometheus extrapolates increase() to the window's
// edges, so counts are estimates; ratios (SUCCESS) and latency quantiles are
// unaffected by that scaling.
//
// Pods come from the series' labels: namespace and pod (required), the
// workload labels (deployment, statefulset, daemonset, k8s_job, cronjob,
// replicaset, replicationcontroller; a Job's name is k8s_job because job is
// Prometheus' scrape job, as in Linkerd and templates/viz) and instance (the pod's IP:4191). Every
// pod seen is meshed; unmeshed pods are unknown to this source.
type Prometheus struct {
	API promv1.API
	// Window is the range of increase() (default DefaultPrometheusWindow).
	Window time.Duration
	// Now replaces the clock in tests.
	Now func() time.Time
}

// DefaultPrometheusWindow is Linkerd's default stat window.
const DefaultPrometheusWindow = time.Minute

// promQueryTimeout bounds each query, so that a black-holed Prometheus does
// not hang the command.
const promQueryTimeout = 30 * time.Second

// promTargetLabels are the labels Prometheus adds to say which pod a series
// came from; they identify the pod and are not the proxy's own labels.
func promTargetLabels() []string {
	return []string{"namespace", "pod", "instance", "job", labelK8sJob, "deployment", "statefulset", "daemonset", "cronjob", "replicaset", "replicationcontroller"}
}

// workloadLabelKinds lists the workload labels, top-level owners last, so
// that a chain reads nearest first.
func workloadLabelKinds() []Kind {
	return []Kind{KindReplicaSet, KindJob, KindReplicationController, KindDeployment, KindStatefulSet, KindDaemonSet, KindCronJob}
}

// labelK8sJob is the label that names a pod's Job: job is taken by
// Prometheus' scrape job.
const labelK8sJob = "k8s_job"

// workloadLabel is the target label Prometheus puts a kind's name in.
func workloadLabel(k Kind) model.LabelName {
	if k == KindJob {
		return labelK8sJob
	}
	return model.LabelName(k)
}

// Snapshot runs one query per metric and groups the answers by pod.
func (p *Prometheus) Snapshot(ctx context.Context, q Query) (*Snapshot, error) {
	window := p.Window
	if window <= 0 {
		window = DefaultPrometheusWindow
	}
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	matcher := ""
	if q.Namespace != "" {
		matcher = fmt.Sprintf("{namespace=%q}", q.Namespace)
	}
	rng := fmt.Sprintf("[%dms]", window.Milliseconds())
	pods := map[string]*promPod{}
	for _, qq := range promQueries(q.Routes, matcher, rng) {
		qctx, cancel := context.WithTimeout(ctx, promQueryTimeout)
		v, _, _, err := p.API.Query(qctx, qq.query, now)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("prometheus query %s: %w (check --prometheus-url and that Prometheus scrapes the proxies)", qq.query, err)
		}
		vec, ok := v.(model.Vector)
		if !ok {
			return nil, fmt.Errorf("prometheus query %s: got a %s, want a vector", qq.query, v.Type())
		}
		for _, s := range vec {
			pp := podOf(pods, s.Metric)
			if pp == nil {
				continue // a series without namespace/pod labels names no pod
			}
			pp.add(qq.family, qq.typ, s)
		}
	}
	snap := &Snapshot{}
	keys := make([]string, 0, len(pods))
	for k := range pods {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		pp := pods[k]
		snap.Pods = append(snap.Pods, pp.pod)
		if !q.wants(pp.pod) {
			continue
		}
		snap.Scrapes = append(snap.Scrapes, Scrape{
			Pod: pp.pod, Start: Families{}, End: pp.families(),
			StartTime: now.Add(-window), EndTime: now,
		})
	}
	return snap, nil
}

// promQuery is one instant query and the family its answer fills.
type promQuery struct {
	family, query string
	typ           dto.MetricType
}

// promQueries are the queries of a snapshot: increase() over rng of every
// counter and histogram, the current value of gauges. routes picks the
// per-route families instead of stat's and edges'.
func promQueries(routes bool, matcher, rng string) []promQuery {
	increase := func(name string, typ dto.MetricType) promQuery {
		series := name
		if typ == dto.MetricType_HISTOGRAM {
			series += "_bucket"
		}
		return promQuery{name, "increase(" + series + matcher + rng + ")", typ}
	}
	if routes {
		return []promQuery{
			increase(metricRouteResponses, dto.MetricType_COUNTER),
			increase(metricRouteActualResponses, dto.MetricType_COUNTER),
			increase(metricRouteLatency, dto.MetricType_HISTOGRAM),
		}
	}
	return []promQuery{
		increase(metricResponses, dto.MetricType_COUNTER),
		increase(metricLatency, dto.MetricType_HISTOGRAM),
		increase(metricTCPOpen, dto.MetricType_COUNTER),
		increase(metricTCPRead, dto.MetricType_COUNTER),
		increase(metricTCPWrite, dto.MetricType_COUNTER),
		{metricTCPOpenConn, metricTCPOpenConn + matcher, dto.MetricType_GAUGE},
	}
}

// promPod gathers one pod's series.
type promPod struct {
	pod     Pod
	scalars map[string]*dto.MetricFamily
	// hist groups each histogram family's _bucket series by their labels
	// without le.
	hist map[string]map[string]*dto.Metric
}

func podOf(pods map[string]*promPod, m model.Metric) *promPod {
	ns, name := string(m["namespace"]), string(m["pod"])
	if ns == "" || name == "" {
		return nil
	}
	key := ns + "/" + name
	if pp, ok := pods[key]; ok {
		return pp
	}
	pod := Pod{Namespace: ns, Name: name, Meshed: true}
	for _, k := range workloadLabelKinds() {
		if v := string(m[workloadLabel(k)]); v != "" {
			pod.Owners = append(pod.Owners, Workload{Kind: k, Name: v})
		}
	}
	if inst := string(m["instance"]); inst != "" {
		pod.IP = inst
		if i := strings.LastIndexByte(inst, ':'); i > 0 {
			pod.IP = strings.Trim(inst[:i], "[]")
		}
	}
	pp := &promPod{pod: pod, scalars: map[string]*dto.MetricFamily{}, hist: map[string]map[string]*dto.Metric{}}
	pods[key] = pp
	return pp
}

// proxyLabels returns the series' own labels as dto pairs, without the
// target labels Prometheus added (and without le when dropLE).
func proxyLabels(m model.Metric, dropLE bool) []*dto.LabelPair {
	skip := map[string]bool{model.MetricNameLabel: true}
	for _, l := range promTargetLabels() {
		skip[l] = true
	}
	if dropLE {
		skip[model.BucketLabel] = true
	}
	var out []*dto.LabelPair
	for k, v := range m {
		if !skip[string(k)] {
			out = append(out, &dto.LabelPair{Name: proto.String(string(k)), Value: proto.String(string(v))})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out
}

func (pp *promPod) add(family string, typ dto.MetricType, s *model.Sample) {
	v := float64(s.Value)
	if typ == dto.MetricType_HISTOGRAM {
		le, err := strconv.ParseFloat(string(s.Metric[model.BucketLabel]), 64)
		if err != nil {
			return
		}
		labels := proxyLabels(s.Metric, true)
		key := seriesKey(&dto.Metric{Label: labels})
		series := pp.hist[family]
		if series == nil {
			series = map[string]*dto.Metric{}
			pp.hist[family] = series
		}
		h := series[key]
		if h == nil {
			h = &dto.Metric{Label: labels, Histogram: &dto.Histogram{SampleCountFloat: proto.Float64(0)}}
			series[key] = h
		}
		if math.IsInf(le, +1) {
			h.Histogram.SampleCountFloat = proto.Float64(v)
			return
		}
		h.Histogram.Bucket = append(h.Histogram.Bucket, &dto.Bucket{UpperBound: proto.Float64(le), CumulativeCountFloat: proto.Float64(v)})
		return
	}
	f := pp.scalars[family]
	if f == nil {
		f = &dto.MetricFamily{Name: proto.String(family), Type: typ.Enum()}
		pp.scalars[family] = f
	}
	m := &dto.Metric{Label: proxyLabels(s.Metric, false)}
	if typ == dto.MetricType_GAUGE {
		m.Gauge = &dto.Gauge{Value: proto.Float64(v)}
	} else {
		m.Counter = &dto.Counter{Value: proto.Float64(v)}
	}
	f.Metric = append(f.Metric, m)
}

// families returns the pod's synthesized end scrape.
func (pp *promPod) families() Families {
	out := Families{}
	for name, f := range pp.scalars {
		out[name] = f
	}
	for name, series := range pp.hist {
		f := &dto.MetricFamily{Name: proto.String(name), Type: dto.MetricType_HISTOGRAM.Enum()}
		for _, m := range series {
			sort.Slice(m.Histogram.Bucket, func(i, j int) bool {
				return m.Histogram.Bucket[i].GetUpperBound() < m.Histogram.Bucket[j].GetUpperBound()
			})
			f.Metric = append(f.Metric, m)
		}
		out[name] = f
	}
	return out
}
