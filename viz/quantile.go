package viz

import (
	"math"
	"sort"
)

// histogramQuantile estimates the q-quantile (0 ≤ q ≤ 1) of the observations
// counted by cumulative buckets (upper bound → count), exactly as PromQL's
// histogram_quantile does for classic histograms: find the bucket holding
// the observation of rank q·total and interpolate linearly between its lower
// and upper bound, the lowest bucket starting at 0. When the rank falls in
// the +Inf bucket the answer is the highest finite upper bound. ok is false
// when there are no observations.
func histogramQuantile(q float64, cumulative map[float64]float64) (v float64, ok bool) {
	bs := make([]bucket, 0, len(cumulative))
	for u, c := range cumulative {
		bs = append(bs, bucket{upper: u, count: c})
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].upper < bs[j].upper })
	if len(bs) < 2 || !math.IsInf(bs[len(bs)-1].upper, +1) {
		return 0, false
	}
	// Sums of increases across pods can be slightly non-monotonic when a
	// pod restarted mid-window; Prometheus enforces monotonicity the same way.
	for i := 1; i < len(bs); i++ {
		bs[i].count = math.Max(bs[i].count, bs[i-1].count)
	}
	total := bs[len(bs)-1].count
	if total == 0 {
		return 0, false
	}
	rank := q * total
	b := sort.Search(len(bs)-1, func(i int) bool { return bs[i].count >= rank })
	if b == len(bs)-1 {
		return bs[len(bs)-2].upper, true
	}
	if b == 0 && bs[0].upper <= 0 {
		return bs[0].upper, true
	}
	start, end, count := 0.0, bs[b].upper, bs[b].count
	if b > 0 {
		start = bs[b-1].upper
		count -= bs[b-1].count
		rank -= bs[b-1].count
	}
	return start + (end-start)*(rank/count), true
}
