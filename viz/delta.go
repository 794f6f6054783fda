package viz

import (
	"math"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// sample is one series' change over the window: the increase of a
// counter, the end value of a gauge, or the per-bucket increase of a
// histogram.
type sample struct {
	labels  map[string]string
	value   float64
	buckets []bucket
}

// bucket is a cumulative histogram bucket: count observations <= upper.
type bucket struct {
	upper float64
	count float64
}

// seriesKey identifies a series within a family by its sorted labels.
func seriesKey(m *dto.Metric) string {
	pairs := make([]string, 0, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		pairs = append(pairs, l.GetName()+"\x00"+l.GetValue())
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "\x01")
}

func labelMap(m *dto.Metric) map[string]string {
	out := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// scalar returns the value of a counter, gauge or untyped sample.
func scalar(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	default:
		return m.GetUntyped().GetValue()
	}
}

// index maps the series of a family by key.
func index(f *dto.MetricFamily) map[string]*dto.Metric {
	out := make(map[string]*dto.Metric, len(f.GetMetric()))
	for _, m := range f.GetMetric() {
		out[seriesKey(m)] = m
	}
	return out
}

// counterIncreases returns the increase of every series of a counter
// family over the window. A series missing at the start began at zero (the
// proxy creates series on first use). A series that went down was reset (the
// proxy restarted), so its end value is the increase, as Prometheus'
// increase() and rate() treat resets.
func counterIncreases(start, end Families, name string) []sample {
	ef := end[name]
	if ef == nil {
		return nil
	}
	before := index(start[name])
	out := make([]sample, 0, len(ef.GetMetric()))
	for _, m := range ef.GetMetric() {
		v := scalar(m)
		if prev, ok := before[seriesKey(m)]; ok && scalar(prev) <= v {
			v -= scalar(prev)
		}
		out = append(out, sample{labels: labelMap(m), value: v})
	}
	return out
}

// gaugeValues returns every series of a gauge family at the end.
func gaugeValues(end Families, name string) []sample {
	ef := end[name]
	if ef == nil {
		return nil
	}
	out := make([]sample, 0, len(ef.GetMetric()))
	for _, m := range ef.GetMetric() {
		out = append(out, sample{labels: labelMap(m), value: scalar(m)})
	}
	return out
}

// histogramIncreases returns every series of a histogram family with its
// cumulative buckets' increases, +Inf last. A series whose observation count
// went down was reset, and its end buckets are the increase.
func histogramIncreases(start, end Families, name string) []sample {
	ef := end[name]
	if ef == nil {
		return nil
	}
	before := index(start[name])
	out := make([]sample, 0, len(ef.GetMetric()))
	for _, m := range ef.GetMetric() {
		cur := histBuckets(m.GetHistogram())
		if prev, ok := before[seriesKey(m)]; ok && sampleCount(prev.GetHistogram()) <= sampleCount(m.GetHistogram()) {
			old := histBuckets(prev.GetHistogram())
			byUpper := make(map[float64]float64, len(old))
			for _, b := range old {
				byUpper[b.upper] = b.count
			}
			for i := range cur {
				cur[i].count = math.Max(0, cur[i].count-byUpper[cur[i].upper])
			}
		}
		out = append(out, sample{labels: labelMap(m), buckets: cur})
	}
	return out
}

// histBuckets returns h's cumulative buckets with the +Inf bucket (the
// sample count) last; the text format's +Inf line may or may not survive
// parsing as a bucket, so it is rebuilt from the count.
func histBuckets(h *dto.Histogram) []bucket {
	out := make([]bucket, 0, len(h.GetBucket())+1)
	for _, b := range h.GetBucket() {
		if math.IsInf(b.GetUpperBound(), +1) {
			continue
		}
		count := float64(b.GetCumulativeCount())
		if b.CumulativeCountFloat != nil {
			count = b.GetCumulativeCountFloat()
		}
		out = append(out, bucket{upper: b.GetUpperBound(), count: count})
	}
	return append(out, bucket{upper: math.Inf(+1), count: sampleCount(h)})
}

// sampleCount is h's observation count; float counts come from sources
// that report extrapolated increases (Prometheus).
func sampleCount(h *dto.Histogram) float64 {
	if h.SampleCountFloat != nil {
		return h.GetSampleCountFloat()
	}
	return float64(h.GetSampleCount())
}

// addBuckets sums cumulative buckets by upper bound into acc.
func addBuckets(acc map[float64]float64, bs []bucket) {
	for _, b := range bs {
		acc[b.upper] += b.count
	}
}
